"""Fixtures for the emulator suite: one emulator per module, reset before each test,
and the SDK's global config pointed at it for the test's duration."""

from __future__ import annotations

from collections.abc import Iterator

import cloudinary
import pytest

from cloudinary_emulator import Emulator
from tests.cloudinary_emulator.helpers import NotificationSink, running_sink


def configure_sdk(em: Emulator) -> None:
    cloudinary.config(**em.sdk_config())


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[Emulator]:
    # Tiny retry delays keep the notification retry tests fast.
    with Emulator(notification_attempts=3, notification_base_delay=0.01) as em:
        yield em


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    emulator_server.reset()
    configure_sdk(emulator_server)
    try:
        yield emulator_server
    finally:
        emulator_server.wait_deliveries_idle(5)
        cloudinary.reset_config()


@pytest.fixture
def sink() -> Iterator[NotificationSink]:
    with running_sink() as captured:
        yield captured
