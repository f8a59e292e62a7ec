"""`mediasync emulator`: run the local Cloudinary API emulator."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="run the local Cloudinary API emulator (see `mediasync emulator --help`)",
        add_help=False,
    )
    parser.set_defaults(handler=run, passthrough=True)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from cloudinary_emulator.cli import main

    code: int = main(rest, prog="mediasync emulator")
    return code
