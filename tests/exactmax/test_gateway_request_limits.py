"""The reference gateway authenticates before it reads a body, and never reads an oversized body whole.

Over real sockets, so what the server reads (and when it answers) is what a real client sees.
"""

from __future__ import annotations

import socket
import threading
import time

from max_gateway_helpers import TOKEN

HUGE = 500_000_000  # declared, never sent


def _connect(gateway) -> socket.socket:
    return socket.create_connection((gateway.running.host, gateway.running.port), timeout=10)


def _head(path: str, *, length: int | None = None, authorised: bool, content_type: str,
          chunked: bool = False) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: gateway", f"Content-Type: {content_type}"]
    if authorised:
        lines.append(f"Authorization: Bearer {TOKEN}")
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status_line(sock: socket.socket) -> bytes:
    answer = b""
    while b"\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer.split(b"\r\n", 1)[0]


def test_an_anonymous_request_with_a_malformed_json_body_gets_401_not_a_parse_error(shared_gateway) -> None:
    response = shared_gateway.http.post(f"{shared_gateway.base_url}/_sandbox/ship", data=b'{"ORDNUM": ',
                                        headers={"Authorization": "", "Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"detail": "authentication required"}


def test_an_anonymous_request_declaring_a_huge_body_gets_401_before_the_body_is_sent(shared_gateway) -> None:
    for path, content_type in (("/_sandbox/ship", "application/json"), ("/sales-orders", "application/xml")):
        with _connect(shared_gateway) as sock:
            sock.sendall(_head(path, length=HUGE, authorised=False, content_type=content_type) + b'{"ORDNUM"')
            assert _status_line(sock).startswith(b"HTTP/1.1 401"), path


def test_an_xml_document_declaring_more_than_the_limit_is_refused_before_it_is_read(shared_gateway) -> None:
    with _connect(shared_gateway) as sock:
        sock.sendall(_head("/sales-orders", length=HUGE, authorised=True, content_type="application/xml")
                     + b"<eMAXExact>")
        assert _status_line(sock).startswith(b"HTTP/1.1 422")


def test_a_streamed_xml_document_is_refused_as_soon_as_it_grows_past_the_limit(shared_gateway) -> None:
    """Chunked, so no length is declared: the gateway must count while it reads, and answer mid-stream."""
    total = 64_000_000
    sent = [0]
    answered = threading.Event()

    def send_body(sock: socket.socket) -> None:
        chunk = b" " * 65536
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        try:
            sock.sendall(b"b\r\n<eMAXExact>\r\n")  # an 11-byte first chunk
            while sent[0] < total and not answered.is_set():
                sock.sendall(frame)
                sent[0] += len(chunk)
            if not answered.is_set():
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the gateway answered and closed: expected

    with _connect(shared_gateway) as sock:
        sock.sendall(_head("/sales-orders", authorised=True, content_type="application/xml", chunked=True))
        sender = threading.Thread(target=send_body, args=(sock,), daemon=True)
        sender.start()
        status = _status_line(sock)
        answered.set()
        sent_when_answered = sent[0]
        sender.join(timeout=10)
    assert status.startswith(b"HTTP/1.1 422")
    assert sent_when_answered < total / 2, f"the gateway answered only after {sent_when_answered} bytes"


def test_an_authenticated_document_within_the_limit_is_still_read(shared_gateway) -> None:
    started = time.monotonic()
    response = shared_gateway.post_xml("/sales-orders", b"<eMAXExact><SO_Master_Table><SO_Master>")
    assert response.status_code == 422 and response.json()["errors"][0]["rule"] == "malformed_xml"
    assert time.monotonic() - started < 10
