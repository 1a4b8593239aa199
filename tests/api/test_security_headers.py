"""The browser's security: CSP without remote sources or unsafe-eval, no framing, no sniffing, no
referrer, CORS off by default and configurable, no debug pages."""
from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("path", ["/", "/api/v1/presets", "/static/js/main.js", "/static/vendor/plotly.min.js",
                                  "/walkthroughs/hvo/1", "/api/v1/scenarios/" + "0" * 24, "/nope"])
def test_every_response_carries_the_headers(client, path):
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert "unsafe-eval" not in csp and not re.search(r"https?:|\*", csp)     # no remote source at all
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"


def test_errors_carry_them_too_and_no_traceback(client):
    r = client.post("/api/v1/evaluate", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "content-security-policy" in r.headers
    assert "Traceback" not in r.text


def test_no_debug_or_cdn_pages(client):
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200
    page = client.get("/").text
    assert not re.search(r"(src|href)=\"(https?:)?//", page)                 # every asset is local


def test_cors_off_by_default(client):
    r = client.options("/api/v1/presets", headers={"Origin": "http://evil.example",
                                                   "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/api/v1/presets", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_configurable(tmp_path, make_client):
    with make_client(tmp_path, cors_origins=("http://classroom.local:8080",)) as c:
        r = c.get("/api/v1/presets", headers={"Origin": "http://classroom.local:8080"})
        assert r.headers["access-control-allow-origin"] == "http://classroom.local:8080"
        r = c.get("/api/v1/presets", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers
