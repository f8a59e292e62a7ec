"""The emulated account (cloud name, key, secret); the only reader of the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

SIGNATURE_ALGORITHMS = ("sha1", "sha256")
DEMO_SECRET = "emulator-secret"  # noqa: S105 - the documented demo account, not a credential


@dataclass(frozen=True)
class Account:
    cloud_name: str = "demo"
    api_key: str = "123456789012345"
    api_secret: str = DEMO_SECRET
    signature_algorithm: str = "sha1"

    def __post_init__(self) -> None:
        if self.signature_algorithm not in SIGNATURE_ALGORITHMS:
            raise ValueError(
                f"signature_algorithm must be sha1 or sha256, not {self.signature_algorithm!r}"
            )


def parse_cloudinary_url(url: str) -> Account:
    """`cloudinary://KEY:SECRET@CLOUD?signature_algorithm=sha256` -> Account.

    Other query keys (upload_prefix, secure, ...) are client settings and are ignored.
    """
    parts = urlsplit(url)
    if parts.scheme != "cloudinary" or not parts.hostname:
        raise ValueError("CLOUDINARY_URL must look like cloudinary://KEY:SECRET@CLOUD")
    if not parts.username or not parts.password:
        raise ValueError("CLOUDINARY_URL must carry KEY:SECRET before the cloud name")
    query = parse_qs(parts.query)
    algorithm = query.get("signature_algorithm", ["sha1"])[-1]
    # urlsplit lowercases hostname; cloud names are case-sensitive in URLs we print.
    cloud = parts.netloc.rpartition("@")[2]
    return Account(
        cloud_name=cloud,
        api_key=unquote(parts.username),
        api_secret=unquote(parts.password),
        signature_algorithm=algorithm,
    )


def account_from_env(env: Mapping[str, str]) -> Account:
    url = env.get("CLOUDINARY_URL", "").strip()
    return parse_cloudinary_url(url) if url else Account()
