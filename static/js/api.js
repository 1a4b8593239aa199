// fetch() wrapper for REST API v1: JSON in, JSON out, 4xx/5xx as ApiError with the field path.

export class ApiError extends Error {
  constructor(status, message, loc) {
    super(message);
    this.status = status;
    this.loc = loc;
  }
}

export async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  };
  const res = await fetch(path, init);
  const text = await res.text();
  let doc = null;
  try { doc = JSON.parse(text); } catch { /* not JSON: reported below */ }
  if (!res.ok) {
    const msg = doc?.message || (typeof doc?.detail === "string" ? doc.detail : `HTTP ${res.status}`);
    throw new ApiError(res.status, msg, Array.isArray(doc?.detail) ? doc.detail[0]?.loc : null);
  }
  return doc;
}
