"""Emulator: one in-process instance (store, server thread, delivery workers)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from cloudinary_emulator import persistence
from cloudinary_emulator.client import EmulatorClient
from cloudinary_emulator.config import DEMO_SECRET, Account
from cloudinary_emulator.delivery import Outbox
from cloudinary_emulator.dispatch import App
from cloudinary_emulator.faults import Counters, Faults
from cloudinary_emulator.persistence import AutoSaver
from cloudinary_emulator.ratelimit import RateLimiter
from cloudinary_emulator.server import EmulatorHTTPServer
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Store


class Emulator:
    """A Cloudinary Admin + Upload API emulator on a background thread.

    `with Emulator() as em:` starts it on a free port; point the SDK at
    `em.base_url` (its upload_prefix) or use `em.cloudinary_url`.
    """

    def __init__(
        self,
        cloud_name: str = "demo",
        api_key: str = "123456789012345",
        api_secret: str = DEMO_SECRET,
        host: str = "127.0.0.1",
        port: int = 0,
        notification_url: str | None = None,
        signature_algorithm: str = "sha1",
        rate_limit: int = 500,
        notification_attempts: int = 3,
        notification_base_delay: float = 1.0,
        notification_timeout: float = 5.0,
        state_file: str | os.PathLike[str] | None = None,
        autosave_interval: float = 2.0,
    ) -> None:
        account = Account(cloud_name, api_key, api_secret, signature_algorithm)
        self.host = host
        self._requested_port = port
        self.state = State(
            account=account,
            store=Store(),
            outbox=Outbox(
                api_secret,
                signature_algorithm,
                default_url=notification_url,
                attempts=notification_attempts,
                base_delay=notification_base_delay,
                timeout=notification_timeout,
            ),
            faults=Faults(),
            counters=Counters(),
            limiter=RateLimiter(rate_limit),
        )
        self._state_file = Path(state_file) if state_file is not None else None
        self._autosave_interval = autosave_interval
        self._saver: AutoSaver | None = None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def account(self) -> Account:
        return self.state.account

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT`, no trailing slash: the SDK's upload_prefix."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104 - mapping a wildcard bind to a dialable address
        return f"http://{host}:{self.port}"

    @property
    def cloudinary_url(self) -> str:
        account = self.account
        url = (
            f"cloudinary://{quote(account.api_key, safe='')}:{quote(account.api_secret, safe='')}"
            f"@{account.cloud_name}?upload_prefix={self.base_url}"
        )
        if account.signature_algorithm != "sha1":
            url += f"&signature_algorithm={account.signature_algorithm}"
        return url

    def sdk_config(self) -> dict[str, str]:
        """Keyword arguments for `cloudinary.config(...)` that point the SDK here."""
        account = self.account
        return {
            "cloud_name": account.cloud_name,
            "api_key": account.api_key,
            "api_secret": account.api_secret,
            "upload_prefix": self.base_url,
            "signature_algorithm": account.signature_algorithm,
        }

    @property
    def client(self) -> EmulatorClient:
        return EmulatorClient(self.base_url)

    def start(self) -> Emulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        if self._state_file is not None:
            persistence.load(self.store, self._state_file)  # before the first request
        server = EmulatorHTTPServer((self.host, self._requested_port), App(self.state))
        self._server = server
        if self._state_file is not None:
            self._saver = AutoSaver(
                self.store, self._state_file, self._autosave_interval
            )
            self._saver.start()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="cloudinary-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.state.outbox.close()
        if self._saver is not None:
            self._saver.stop()
            self._saver = None

    def reset(self) -> None:
        """Empty store, zero counters, no faults, full budget, default notification settings."""
        self.state.reset()

    def deliveries(self) -> list[dict[str, Any]]:
        return self.state.outbox.log()

    def captured_notifications(self) -> list[dict[str, Any]]:
        """Every notification produced since the last reset, delivered or not."""
        return self.state.outbox.captured()

    def wait_deliveries_idle(self, timeout: float = 10.0) -> bool:
        return self.state.outbox.wait_idle(timeout)

    def invalidations(self) -> list[dict[str, Any]]:
        return self.state.invalidations.log()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
