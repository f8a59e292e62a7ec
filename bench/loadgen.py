"""The receiver benchmark's load: unique, freshly signed upload notifications (~1 kB) over
keep-alive loopback connections, from processes of their own.

- closed loop (`load`): each connection sends its next request as soon as the answer
  to the last one is in; measures the peak rate.
- open loop (`paced`): request k is due at start + k/rate whatever happened before, and
  its latency counts from that due time, so a stalled server's queue shows in the
  percentiles instead of slowing the sender down (no coordinated omission).

Both read the CPU time of the load processes and of the server's process tree over the
measured window, so the report says whether the load generator was the bottleneck.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import selectors
import socket
import time
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any

from bench.procstat import CpuWindow

SECRET = "bench-secret"  # noqa: S105 -- a throwaway signing key for loopback load
WARMUP_S = 1.0
DRAIN_S = 10.0  # after the last paced send, the longest wait for answers still due
BODY = (
    b'{"notification_type":"upload","timestamp":"2026-11-20T14:03:27+00:00",'
    b'"request_id":"@ID@","asset_id":"@ID@","public_id":"bench/@ID@","version":1795183407,'
    b'"version_id":"a41e","width":1600,"height":1200,"format":"jpg","resource_type":"image",'
    b'"created_at":"2026-11-20T14:03:27Z","tags":["catalog","bench"],"bytes":284913,'
    b'"type":"upload","etag":"5d41402abc4b2a76b9719d911017c592","placeholder":false,'
    b'"url":"http://res.cloudinary.com/demo/image/upload/v1795183407/bench/@ID@.jpg",'
    b'"secure_url":"https://res.cloudinary.com/demo/image/upload/v1795183407/bench/@ID@.jpg",'
    b'"asset_folder":"bench","display_name":"@ID@","original_filename":"IMG_2041",'
    b'"api_key":"6143","notification_context":{"triggered_at":"2026-11-20T14:03:27.481902Z",'
    b'"triggered_by":{"source":"api","id":"6143"}}}'
)


def signed_requests(tag: str) -> Iterator[bytes]:
    """Raw HTTP requests, each a notification for a new public_id, signed like Cloudinary."""
    stamp = str(int(time.time())).encode()
    secret = SECRET.encode()
    for n in itertools.count():
        body = BODY.replace(b"@ID@", f"{tag}-{n}".encode())
        signature = hashlib.sha1(body + stamp + secret).hexdigest().encode()  # noqa: S324
        yield (
            b"POST /webhooks/cloudinary HTTP/1.1\r\nHost: bench\r\n"
            b"Content-Type: application/json\r\nX-Cld-Timestamp: "
            + stamp
            + b"\r\nX-Cld-Signature: "
            + signature
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )


class _Connection:
    """One keep-alive connection with at most one request outstanding."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""
        self.since: float | None = None  # when the outstanding request was sent / due

    def send(self, data: bytes) -> None:
        sent = self.sock.send(
            data
        )  # a request fits the loopback buffer: the usual case
        if sent < len(data):
            self.sock.setblocking(True)
            self.sock.sendall(data[sent:])
            self.sock.setblocking(False)

    def read_status(self) -> bytes | None:
        """The status of the answer once it is complete; ConnectionError if closed."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed a keep-alive connection")
        self.buf += chunk
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buf[:head_end].lower()
        length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
        if len(self.buf) < head_end + 4 + length:
            return None
        self.buf = self.buf[head_end + 4 + length :]
        return head[9:12]


def _window(
    start: float, seconds: float, groups: dict[str, list[int]]
) -> dict[str, float]:
    """CPU of each group over [start + warm-up, + seconds] (epoch times)."""
    window = CpuWindow(groups)
    time.sleep(max(0.0, start + WARMUP_S - time.time()))
    window.open()
    time.sleep(max(0.0, start + WARMUP_S + seconds - time.time()))
    window.close()
    figures = {"cpu_window_s": window.wall_s}
    for name in groups:
        figures[f"{name}_cpu_s"] = window.cpu_s[name]
        figures[f"{name}_cpu_share"] = window.share(name)
    return figures


def _percentile(values: list[float], total: int, share: float) -> float | None:
    # over `total` requests, of which the ones never answered rank above every answer
    index = min(total - 1, int(total * share))
    return 1000 * values[index] if 0 <= index < len(values) else None


# -- closed loop -------------------------------------------------------------------------


def load(
    port: int, seconds: float, connections: int, clients: int, server_pid: int
) -> dict[str, Any]:
    """Requests/s answered 202 over `seconds` after a warm-up, with latency percentiles
    and the CPU share of the load processes and of the server over the same window."""
    queue: multiprocessing.Queue[tuple[int, int, list[float]]] = multiprocessing.Queue()
    share = [
        connections // clients + (i < connections % clients) for i in range(clients)
    ]
    tag = uuid.uuid4().hex[:8]
    start = time.time() + 0.5  # every client starts its clock together
    procs = [
        multiprocessing.Process(
            target=_client, args=(port, n, start, seconds, f"{tag}-{i}", queue)
        )
        for i, n in enumerate(share)
    ]
    for proc in procs:
        proc.start()
    cpu = _window(
        start,
        seconds,
        {"load_generator": [p.pid for p in procs if p.pid], "server": [server_pid]},
    )
    results = [queue.get(timeout=seconds + 120) for _ in procs]
    for proc in procs:
        proc.join(30)
    latencies = sorted(x for _, _, lat in results for x in lat)
    ok = sum(r[0] for r in results)
    return {
        "requests_per_s": ok / seconds,
        "errors": sum(r[1] for r in results),
        "p50_ms": _percentile(latencies, len(latencies), 0.50) or 0.0,
        "p99_ms": _percentile(latencies, len(latencies), 0.99) or 0.0,
        **cpu,
    }


def _client(
    port: int,
    connections: int,
    start: float,
    seconds: float,
    tag: str,
    queue: multiprocessing.Queue[tuple[int, int, list[float]]],
) -> None:
    requests = signed_requests(tag)
    selector = selectors.DefaultSelector()
    time.sleep(max(0.0, start - time.time()))
    measure_from = time.monotonic() + WARMUP_S
    measure_to = measure_from + seconds
    for _ in range(connections):
        conn = _Connection(port)
        conn.since = time.monotonic()
        conn.send(next(requests))
        selector.register(conn.sock, selectors.EVENT_READ, conn)
    ok = errors = 0
    latencies: list[float] = []
    while time.monotonic() < measure_to:
        for key, _ in selector.select(timeout=0.5):
            conn = key.data
            status = conn.read_status()
            if status is None:
                continue
            now = time.monotonic()
            if measure_from <= now < measure_to:
                if status == b"202":
                    ok += 1
                    latencies.append(now - conn.since)
                else:
                    errors += 1
            conn.since = now
            conn.send(next(requests))
    for key in list(selector.get_map().values()):
        key.data.sock.close()
    queue.put((ok, errors, latencies))


# -- open loop ---------------------------------------------------------------------------


def paced(
    port: int, rate: float, seconds: float, connections: int, server_pid: int
) -> dict[str, Any]:
    """Request k due at start + k/rate for a warm-up and `seconds`; latency from the due
    time of each request due within the measured `seconds` (after the warm-up)."""
    queue: multiprocessing.Queue[dict[str, Any]] = multiprocessing.Queue()
    start = time.time() + 0.5
    proc = multiprocessing.Process(
        target=_paced_client,
        args=(port, rate, start, seconds, connections, uuid.uuid4().hex[:8], queue),
    )
    proc.start()
    cpu = _window(
        start,
        seconds,
        {"load_generator": [proc.pid] if proc.pid else [], "server": [server_pid]},
    )
    result = queue.get(timeout=seconds + WARMUP_S + DRAIN_S + 120)
    proc.join(30)
    latencies, lags = sorted(result.pop("latencies")), sorted(result.pop("lags"))
    due = result["due"]
    return {
        "rate": rate,
        "seconds": seconds,
        "connections": connections,
        **result,
        "achieved_rate": result["sent"] / seconds,
        # a percentile that lands on an unanswered request is None: it has no value
        "p50_ms": _percentile(latencies, due - result["errors"], 0.50),
        "p99_ms": _percentile(latencies, due - result["errors"], 0.99),
        "max_ms": 1000 * latencies[-1] if latencies else None,
        # how long after its due time each request went out: the sender's own lag plus
        # waits for a free connection (every one busy: the server is behind)
        "send_lag_p99_ms": _percentile(lags, len(lags), 0.99),
        **cpu,
    }


def _paced_client(
    port: int,
    rate: float,
    start: float,
    seconds: float,
    connections: int,
    tag: str,
    queue: multiprocessing.Queue[dict[str, Any]],
) -> None:
    requests = signed_requests(tag)
    selector = selectors.DefaultSelector()
    # first in, first out: every connection is reused often, so none sits idle long
    # enough (gunicorn's keepalive, 5 s) to be closed under us
    idle: deque[_Connection] = deque()
    for _ in range(connections):
        conn = _Connection(port)
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        idle.append(conn)
    time.sleep(max(0.0, start - time.time()))
    origin = time.monotonic()
    measure_from, measure_to = origin + WARMUP_S, origin + WARMUP_S + seconds
    total = int((WARMUP_S + seconds) * rate)
    backlog: deque[float] = deque()  # due times waiting for a free connection
    k = in_flight = sent = errors = 0
    latencies: list[float] = []
    lags: list[float] = []
    while k < total or backlog or in_flight:
        now = time.monotonic()
        if now > measure_to + DRAIN_S:
            break
        while k < total and origin + k / rate <= now:
            backlog.append(origin + k / rate)
            k += 1
        while backlog and idle:
            conn = idle.popleft()
            conn.since = backlog.popleft()
            conn.send(next(requests))
            in_flight += 1
            if measure_from <= conn.since < measure_to:
                sent += 1
                lags.append(time.monotonic() - conn.since)
        wait = origin + k / rate - now if k < total and not backlog else 0.5
        for key, _ in selector.select(timeout=max(0.0, wait)):
            conn = key.data
            try:
                status = conn.read_status()
            except ConnectionError:
                # closed by the server: an outstanding request is lost; reconnect
                lost = conn.since
                if lost is not None:
                    in_flight -= 1
                    errors += measure_from <= lost < measure_to
                selector.unregister(conn.sock)
                conn.sock.close()
                conn = _Connection(port)
                selector.register(conn.sock, selectors.EVENT_READ, conn)
                idle.append(conn)
                continue
            if status is None or conn.since is None:
                continue
            if measure_from <= conn.since < measure_to:
                if status == b"202":
                    latencies.append(time.monotonic() - conn.since)
                else:
                    errors += 1
            conn.since = None
            in_flight -= 1
            idle.append(conn)
    for key in list(selector.get_map().values()):
        key.data.sock.close()
    due = sum(measure_from <= origin + n / rate < measure_to for n in range(total))
    queue.put(
        {
            "due": due,
            "sent": sent,
            "answered": len(latencies),
            "errors": errors,
            "unanswered": due - len(latencies) - errors,
            "latencies": latencies,
            "lags": lags,
        }
    )
