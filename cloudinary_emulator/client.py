"""EmulatorClient: the /_emulator/ control API from Python, stdlib urllib only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode


class EmulatorClientError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class EmulatorClient:
    """Drive a running emulator: `EmulatorClient("http://127.0.0.1:8765")`."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # No proxies: an HTTP(S)_PROXY in the environment must not intercept localhost.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        url = f"{self.base_url}/_emulator/{path}"
        if query:
            url += "?" + urlencode(query)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL is the emulator's own http base
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with self._opener.open(
                request, timeout=timeout or self.timeout
            ) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                raw = exc.read()
            try:
                message = json.loads(raw)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = raw.decode("utf-8", errors="replace")
            raise EmulatorClientError(exc.code, message) from None

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def seed(
        self,
        count: int,
        prefix: str = "seed/",
        resource_type: str = "image",
        type: str = "upload",
        tags: list[str] | None = None,
        start_index: int = 0,
    ) -> dict[str, Any]:
        body = {
            "count": count,
            "prefix": prefix,
            "resource_type": resource_type,
            "type": type,
            "tags": tags or [],
            "start_index": start_index,
        }
        result: dict[str, Any] = self._call("POST", "seed", body)
        return result

    def assets(
        self,
        public_id: str | None = None,
        resource_type: str | None = None,
        type: str | None = None,
    ) -> list[dict[str, Any]]:
        query = {"public_id": public_id, "resource_type": resource_type, "type": type}
        result: list[dict[str, Any]] = self._call(
            "GET", "assets", query={k: v for k, v in query.items() if v is not None}
        )
        return result

    def count_assets(self) -> int:
        return int(self._call("GET", "assets", query={"count_only": "1"})["count"])

    def asset(
        self, resource_type: str, type: str, public_id: str
    ) -> dict[str, Any] | None:
        path = f"assets/{quote(resource_type)}/{quote(type)}/{quote(public_id)}"
        try:
            result: dict[str, Any] = self._call("GET", path)
        except EmulatorClientError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    def counters(self) -> dict[str, int]:
        result: dict[str, int] = self._call("GET", "counters")
        return result

    def reset_counters(self) -> None:
        self._call("POST", "counters/reset", {})

    def fault(
        self,
        endpoint: str,
        status: int | None = None,
        count: int = 1,
        latency_ms: int = 0,
        drop: bool = False,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next `count` calls to `endpoint` (a counter name) fail or slow down."""
        body = {
            "endpoint": endpoint,
            "status": status,
            "count": count,
            "latency_ms": latency_ms,
            "drop": drop,
            "message": message,
            "headers": headers or {},
        }
        self._call("POST", "faults", body)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def set_rate_limit(
        self, limit: int, remaining: int | None = None, reset_in: float | None = None
    ) -> dict[str, Any]:
        body = {"limit": limit, "remaining": remaining, "reset_in": reset_in}
        result: dict[str, Any] = self._call("POST", "rate-limit", body)
        return result

    def notifications(
        self,
        enabled: bool,
        url: str | None = None,
        attempts: int | None = None,
        base_delay: float | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"enabled": enabled}
        optional = {"url": url, "attempts": attempts, "base_delay": base_delay}
        body.update({k: v for k, v in optional.items() if v is not None})
        result: dict[str, Any] = self._call("POST", "notifications", body)
        return result

    def captured_notifications(self) -> list[dict[str, Any]]:
        """Every notification the emulator produced since the last reset, oldest first,
        whether or not it had a URL to go to (the payloads, as a receiver would parse them)."""
        result: list[dict[str, Any]] = self._call("GET", "notifications/captured")
        return result

    def deliveries(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "deliveries")
        return result

    def wait_deliveries_idle(self, timeout: float = 10.0) -> bool:
        """True once every queued notification is delivered or given up on."""
        result = self._call(
            "POST",
            "deliveries/wait",
            {"timeout": timeout},
            timeout=timeout + self.timeout,
        )
        return bool(result["idle"])

    def invalidations(self) -> list[dict[str, Any]]:
        """The deletes that asked Cloudinary to purge the CDN (`invalidate=true`), oldest
        first: {"endpoint", "resource_type", "type", "public_ids", "at"} each."""
        result: list[dict[str, Any]] = self._call("GET", "invalidations")
        return result
