// fetch() wrapper for REST API v1: JSON in, JSON out, 4xx/5xx as ApiError with the field path.

export class ApiError extends Error {
  constructor(status, message, loc) {
    super(message);
    this.status = status;
    this.loc = loc;
  }
}

/** GET (no body) or POST (a body) by default; opts.method and opts.headers for the rest (PUT, DELETE).
 * An answer without a body (204) is null. */
export async function api(path, body, opts = {}) {
  const init = body === undefined ? { method: opts.method || "GET", headers: { ...opts.headers } } : {
    method: opts.method || "POST", headers: { "content-type": "application/json", ...opts.headers }, body: JSON.stringify(body),
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
