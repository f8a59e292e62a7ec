import subprocess
import sys
import urllib.error
import urllib.request
from base64 import b64encode

import pytest

from mediasync.commands.flower import flower_argv
from mediasync.embedded import free_port
from tests.waiting import wait_until


def test_flower_refuses_a_public_address_without_credentials():
    with pytest.raises(PermissionError, match="FLOWER_BASIC_AUTH"):
        flower_argv("0.0.0.0", 5555, None)
    assert flower_argv("127.0.0.1", 5555, None) == [
        "flower", "--address=127.0.0.1", "--port=5555"
    ]  # fmt: skip
    assert "--basic-auth=u:p" in flower_argv("0.0.0.0", 5555, "u:p")


def _status(url: str, auth: str | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        request.add_header(
            "Authorization", "Basic " + b64encode(auth.encode()).decode()
        )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.mark.timeout(90)
def test_flower_serves_the_dashboard_only_with_basic_auth(committed_db, redis_url):
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": committed_db,
        "REDIS_URL": redis_url,
        "CLOUDINARY_URL": "cloudinary://k:s@demo",
        "FLOWER_BASIC_AUTH": "ops:s3cret",
    }
    flower = subprocess.Popen(
        [sys.executable, "-m", "mediasync", "flower", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _status(f"{base}/healthcheck") == 200, timeout=45)
        assert _status(f"{base}/") == 401
        assert _status(f"{base}/", "ops:wrong") == 401
        assert _status(f"{base}/", "ops:s3cret") == 200
    finally:
        flower.terminate()
        flower.wait(15)
