"""What one client may hold of `vmemscope serve` on 127.0.0.1: request headers are capped in size, and
a client that sends its headers or its body too slowly (slowloris) is disconnected."""
from __future__ import annotations

import socket
import time

import httpx
import pytest

LIMITS = {"VMEMSCOPE_MAX_HEADER": "16384", "VMEMSCOPE_HEADER_TIMEOUT": "1", "VMEMSCOPE_BODY_TIMEOUT": "1"}


@pytest.fixture()
def srv(tmp_path, servers):
    return servers(tmp_path, **LIMITS)


def closed_by_server(sock: socket.socket, within: float = 15.0) -> bool:
    """True once the server closes the connection (recv returns b''); False if it stays open."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True


def test_oversized_request_headers_are_refused(srv):
    answer = b""
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.settimeout(15)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: " + b"a" * (1 << 20) + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass                                        # refused before it was all sent
        try:
            answer = s.recv(65536)
        except ConnectionResetError:
            pass
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:100]
    with httpx.Client(base_url=srv.base, timeout=15) as c:
        assert c.get("/healthz", headers={"x-fine": "a" * 4000}).status_code == 200


def test_a_client_that_never_finishes_its_headers_is_disconnected(srv):
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")     # no blank line, ever
        assert closed_by_server(s)
    with socket.create_connection(("127.0.0.1", srv.port)) as s:                # idle from the start
        assert closed_by_server(s)


def test_a_client_that_never_finishes_its_body_is_disconnected(srv):
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.sendall(b"POST /api/v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{\"scenario\":")
        assert closed_by_server(s)


def test_a_slow_but_steady_client_and_keep_alive_still_work(srv):
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for part in (req[:10], req[10:]):              # two pieces, well within the header deadline
            s.sendall(part)
        s.settimeout(10)
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
    with httpx.Client(base_url=srv.base, timeout=15) as c:     # several requests on one connection
        t0 = time.monotonic()
        assert all(c.get("/healthz").status_code == 200 for _ in range(5))
        assert time.monotonic() - t0 < 15
