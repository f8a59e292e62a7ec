"""The command line: --help, usage errors, and a standalone process the SDK talks to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import pytest

from cloudinary_emulator import EmulatorClient
from cloudinary_emulator.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_help_documents_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for option in (
        "--host",
        "--port",
        "--notification-url",
        "--signature-algorithm",
        "--rate-limit",
    ):
        assert option in text
    assert "CLOUDINARY_URL" in text


@pytest.mark.parametrize(
    "argv",
    [
        ["--port", "70000"],
        ["--signature-algorithm", "md5"],
        ["--rate-limit", "-1"],
        ["--bogus"],
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_malformed_cloudinary_url_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLOUDINARY_URL", "https://not-a-cloudinary-url")
    assert main(["--port", "0"]) == 2
    assert "CLOUDINARY_URL" in capsys.readouterr().err


def test_standalone_process_serves_the_sdk_until_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "CLOUDINARY_URL": "cloudinary://key1:sec%2Fret@cli-cloud"}
    env.pop("CLOUDINARY_CLOUD_NAME", None)
    command = [
        sys.executable,
        "-m",
        "cloudinary_emulator",
        "--port",
        "0",
        "--rate-limit",
        "7",
        "--signature-algorithm",
        "sha256",
        "--state-file",
        str(tmp_path / "state.json"),
    ]
    with subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()  # printed once the port is bound
            assert line.startswith(
                "CLOUDINARY_URL=cloudinary://key1:sec%2Fret@cli-cloud?"
            )
            url = line.partition("=")[2]
            assert url.endswith("&signature_algorithm=sha256")
            prefix = url.partition("upload_prefix=")[2].partition("&")[0]

            cloudinary.config(
                cloud_name="cli-cloud",
                api_key="key1",
                api_secret="sec/ret",
                upload_prefix=prefix,
                signature_algorithm="sha256",
            )
            try:
                assert cloudinary.api.ping().rate_limit_allowed == 7
                cloudinary.uploader.upload(b"x", public_id="from-cli")
                assert EmulatorClient(prefix).count_assets() == 1
            finally:
                cloudinary.reset_config()
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    saved = json.loads((tmp_path / "state.json").read_text())  # saved on the way out
    assert [a["public_id"] for a in saved["assets"]] == ["from-cli"]
    assert "serving cloud 'cli-cloud'" in err


def test_python_dash_m_help_runs_standalone() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cloudinary_emulator", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0
    assert "usage: emulator" in done.stdout
    assert "/_emulator/" in done.stdout
