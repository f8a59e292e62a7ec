"""A pytest plugin (registered under the `pytest11` entry point): the `cloudinary_emulator`
fixture gives each test an empty emulated Cloudinary account with the SDK pointed at it.

    def test_avatar_upload(cloudinary_emulator):
        result = cloudinary.uploader.upload(b"...", public_id="avatars/7")
        assert cloudinary_emulator.client.asset("image", "upload", "avatars/7")
        assert cloudinary_emulator.captured_notifications()[0]["notification_type"] == "upload"

One emulator serves the whole session (starting one costs a thread and a port); each test
gets it reset: no assets, no faults, full rate budget, no captured notifications. The
SDK's global configuration and CLOUDINARY_URL are set for the test and put back after it,
so code that reads either reaches the emulator. Loading this module only defines fixtures
(the emulator and the SDK are imported when a test asks for one): projects that install
mediasync without using the fixture pay nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from cloudinary_emulator.emulator import Emulator


@pytest.fixture(scope="session")
def cloudinary_emulator_server() -> Iterator[Emulator]:
    """The session's emulator, on a free port of 127.0.0.1. Notifications go nowhere
    unless a test asks (`client.notifications(True, url=...)`); they are captured anyway.
    """
    from cloudinary_emulator.emulator import Emulator

    # Short retry delays: a test that points notifications at a failing URL still ends fast.
    with Emulator(notification_attempts=3, notification_base_delay=0.05) as emulator:
        yield emulator


@pytest.fixture
def cloudinary_emulator(
    cloudinary_emulator_server: Emulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Emulator]:
    """An empty emulated account for one test, with the `cloudinary` SDK pointed at it.

    Yields the Emulator: `.client` is its control client (faults, rate limit,
    notification settings, assets, counters), `.captured_notifications()` the
    notifications the test's calls produced, `.store` the assets themselves.
    """
    import cloudinary  # the SDK: imported here so loading the plugin stays cheap

    emulator = cloudinary_emulator_server
    emulator.reset()
    # The SDK ignores CLOUDINARY_URL when CLOUDINARY_CLOUD_NAME is set.
    monkeypatch.delenv("CLOUDINARY_CLOUD_NAME", raising=False)
    monkeypatch.setenv("CLOUDINARY_URL", emulator.cloudinary_url)
    config = cloudinary.config()
    saved: dict[str, Any] = dict(vars(config))
    cloudinary.config(**emulator.sdk_config())
    try:
        yield emulator
    finally:
        # Let queued notifications finish before the next test's reset empties the log.
        emulator.wait_deliveries_idle(5)
        vars(config).clear()
        vars(config).update(saved)
