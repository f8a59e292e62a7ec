"""`emulator` command line: run the Cloudinary API emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from cloudinary_emulator.config import SIGNATURE_ALGORITHMS, Account, account_from_env
from cloudinary_emulator.emulator import Emulator

DEFAULT_PORT = 8765

_DESCRIPTION = """\
Run a local emulator of Cloudinary's Admin and Upload APIs that the unmodified
`cloudinary` Python SDK can talk to, and that sends signed webhook notifications.

The account comes from CLOUDINARY_URL (cloudinary://KEY:SECRET@CLOUD); without it a
demo account is used (cloud "demo", key 123456789012345, secret "emulator-secret").
On start the emulator prints the CLOUDINARY_URL clients should use, which adds
?upload_prefix=http://HOST:PORT. The test-control API lives under /_emulator/
(reset, seed, assets, counters, faults, rate-limit, notifications, deliveries).
"""

_EPILOG = """\
examples:
  emulator --port 8765 --notification-url http://127.0.0.1:5000/webhooks/cloudinary
  CLOUDINARY_URL=cloudinary://KEY:SECRET@mycloud emulator --port 0
      prints CLOUDINARY_URL=cloudinary://KEY:SECRET@mycloud?upload_prefix=http://127.0.0.1:PORT;
      export that in the shell that runs the SDK, workers or tests.
"""


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("port must be between 0 and 65535")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def build_parser(prog: str = "emulator") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="port to bind; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--notification-url",
        metavar="URL",
        help="global webhook URL for notifications; a call's notification_url overrides it",
    )
    parser.add_argument(
        "--signature-algorithm",
        choices=SIGNATURE_ALGORITHMS,
        help="digest for notification and upload signatures (default: from CLOUDINARY_URL, else sha1)",
    )
    parser.add_argument(
        "--rate-limit",
        type=_non_negative,
        default=500,
        metavar="N",
        help="Admin API calls allowed per hour before 420 Rate Limit Exceeded (default: %(default)s)",
    )
    parser.add_argument(
        "--notification-attempts",
        type=_positive,
        default=3,
        metavar="N",
        help="delivery attempts per notification (default: %(default)s)",
    )
    parser.add_argument(
        "--notification-delay",
        type=_seconds,
        default=1.0,
        metavar="SECONDS",
        help="first retry delay; doubles on each retry (default: %(default)s)",
    )
    parser.add_argument(
        "--state-file",
        metavar="PATH",
        help="keep assets in this JSON file across restarts: loaded at start, "
        "saved every few seconds when changed and on exit",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every request"
    )
    return parser


def main(argv: list[str] | None = None, prog: str = "emulator") -> int:
    """`prog` is the name usage lines show (`mediasync emulator` when run from there)."""
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
        account = account_from_env(os.environ)
    except SystemExit as exc:  # --help (0) or a usage error (2): report, don't raise
        return exc.code if isinstance(exc.code, int) else 2
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    emulator = _build(args, account)
    try:
        emulator.start()
    except OSError as exc:
        print(
            f"emulator: cannot start on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    except ValueError as exc:  # a --state-file that is not ours
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"CLOUDINARY_URL={emulator.cloudinary_url}", flush=True)
        print(
            f"emulator: serving cloud {account.cloud_name!r} at {emulator.base_url} "
            f"(control API: {emulator.base_url}/_emulator/); Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        _wait_for_signal()
    finally:
        emulator.stop()
    return 0


def _build(args: argparse.Namespace, account: Account) -> Emulator:
    return Emulator(
        cloud_name=account.cloud_name,
        api_key=account.api_key,
        api_secret=account.api_secret,
        host=args.host,
        port=args.port,
        notification_url=args.notification_url,
        signature_algorithm=args.signature_algorithm or account.signature_algorithm,
        rate_limit=args.rate_limit,
        notification_attempts=args.notification_attempts,
        notification_base_delay=args.notification_delay,
        state_file=args.state_file,
    )


def _wait_for_signal() -> None:
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {
        sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
