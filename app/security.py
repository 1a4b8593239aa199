"""Response headers for the browser's security: a Content-Security-Policy with no remote source and
no unsafe-eval (Plotly's SVG traces need neither; it does set inline styles), no framing, no
sniffing, no referrer. CORS stays off unless VMEMSCOPE_CORS_ORIGINS names origins."""
from __future__ import annotations

__all__ = ["SecurityHeaders", "CSP"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers to every HTTP response (errors included)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(msg):
            if msg["type"] == "http.response.start":
                names = {k.lower() for k, _ in msg.get("headers", [])}
                msg = {**msg, "headers": list(msg.get("headers", [])) + [h for h in HEADERS if h[0] not in names]}
            await send(msg)
        await self.app(scope, receive, send_with_headers)
