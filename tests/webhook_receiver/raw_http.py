"""Requests written byte by byte on a socket, for framing no HTTP client would send."""

from __future__ import annotations

import socket

from tests.webhook_receiver.helpers import WEBHOOK


def head(headers: dict[str, str], *, path: str = WEBHOOK) -> bytes:
    """A POST's request line and headers, without the blank line that ends them."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    # UTF-8: a header with non-Latin-1 text goes out as the bytes a client would send
    return "\r\n".join(lines).encode() + b"\r\n"


def with_length(
    headers: dict[str, str], body: bytes, length: str | None = None
) -> bytes:
    declared = str(len(body)) if length is None else length
    return head(headers) + f"Content-Length: {declared}\r\n\r\n".encode() + body


def chunked(headers: dict[str, str], framing: bytes) -> bytes:
    """`framing` is the chunked body as sent: sizes, data and terminators."""
    return head(headers) + b"Transfer-Encoding: chunked\r\n\r\n" + framing


def chunks(body: bytes, size: int = 100) -> bytes:
    """`body` in well-formed chunks of `size` bytes, with the last chunk."""
    out = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    )
    return out + b"0\r\n\r\n"


def exchange(port: int, data: bytes, *, timeout: float = 10.0) -> int:
    """Send `data`, close our side (a cut-off body ends there) and return the answer's
    status code, or 0 when the server closed the connection without answering."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer (413, 400) and close before reading it all
        answer = b""
        try:
            while not status_of(answer):
                piece = sock.recv(4096)
                if not piece:
                    break
                answer += piece
        except ConnectionResetError:
            pass
    return status_of(answer)


def status_of(answer: bytes) -> int:
    # complete lines only; an interim 100 Continue may come first
    for line in answer.split(b"\r\n")[:-1]:
        parts = line.split(b" ", 2)
        if (
            len(parts) >= 2
            and parts[0].startswith(b"HTTP/")
            and parts[1].isdigit()
            and parts[1] != b"100"
        ):
            return int(parts[1])
    return 0
