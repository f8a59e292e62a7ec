"""A local Cloudinary Admin/Upload API emulator for tests and development.

It imports nothing else from this project; stdlib only.
"""

from cloudinary_emulator.client import EmulatorClient, EmulatorClientError
from cloudinary_emulator.emulator import Emulator

__all__ = ["Emulator", "EmulatorClient", "EmulatorClientError"]
