"""webhook_receiver.signature: Cloudinary's scheme, cross-checked with the SDK's verifier."""

import os
import random
import time

import cloudinary
import pytest
from cloudinary.utils import verify_notification_signature

from webhook_receiver.signature import MAX_FUTURE_SKEW_S, SignatureError, sign, verify

SDK_SHA1_BODY = (
    b'{"notification_type":"eager","eager":[{"transformation":"sp_full_hd/mp4",'
    b'"bytes":1055,"url":"http://res.cloudinary.com/demo/video/upload/sp_full_hd/'
    b'v1533125278/dog.mp4","secure_url":"https://res.cloudinary.com/demo/video/upload/'
    b'sp_full_hd/v1533125278/dog.mp4"}],"public_id":"dog","batch_id":'
    b'"9b11fa058c61fa577f4ec516bf6ee756ac2aefef095af99aef1302142cc1694a"}'
)


def check(body, timestamp, signature, *, secrets=("s3cret",), now=None, max_age=7200):
    return verify(
        body,
        timestamp,
        signature,
        secrets=secrets,
        now=time.time() if now is None else now,
        max_age_s=max_age,
    )


def test_known_answer_vectors_from_the_sdk_tests():
    assert (
        sign(SDK_SHA1_BODY, "1549533514", "X7qLTrsES31MzxxkxPPA-pAGGfU")
        == "dfe82de1d9083fe0b7ea68070649f9a15b8874da"
    )
    assert (
        sign(b"{}", "0", "someApiSecret", "sha256")
        == "d5497e1a206ad0ba29ad09a7c0c5f22e939682d15009c15ab3199f62fefbd14b"
    )
    assert (
        check(
            SDK_SHA1_BODY,
            "1549533514",
            "dfe82de1d9083fe0b7ea68070649f9a15b8874da",
            secrets=["X7qLTrsES31MzxxkxPPA-pAGGfU"],
            now=1549533574,
        )
        == 1549533514
    )


@pytest.fixture
def sdk_secret():
    """The SDK verifier reads its secret from process-global config: set it, then restore."""
    cloudinary.config(api_secret="sdk-secret")
    yield "sdk-secret"
    cloudinary.reset_config()


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_agrees_with_the_sdk_on_random_bodies(sdk_secret, algorithm):
    rng = random.Random(algorithm)  # noqa: S311 -- seeded test data
    now = int(time.time())
    for _ in range(50):
        body = os.urandom(rng.randrange(0, 300)).hex().encode()
        stamp = str(now - rng.randrange(0, 7000))
        good = sign(body, stamp, sdk_secret, algorithm)
        bad = sign(body + b"x", stamp, sdk_secret, algorithm)
        for signature in (good, bad):
            ours = True
            try:
                check(body, stamp, signature, secrets=[sdk_secret], now=now)
            except SignatureError:
                ours = False
            theirs = verify_notification_signature(
                body.decode(), stamp, signature, valid_for=7200, algorithm=algorithm
            )
            assert ours == theirs == (signature == good)


def test_any_of_several_secrets_verifies_for_key_rotation():
    body, stamp = b'{"notification_type":"upload"}', str(int(time.time()))
    for secret in ("old", "new"):
        assert check(body, stamp, sign(body, stamp, secret), secrets=["new", "old"])
    with pytest.raises(SignatureError, match="mismatch"):
        check(body, stamp, sign(body, stamp, "other"), secrets=["new", "old"])


@pytest.mark.parametrize(
    ("timestamp_offset", "reason"),
    [(-7201, "stale"), (MAX_FUTURE_SKEW_S + 5, "future")],
)
def test_timestamps_outside_the_window_are_refused(timestamp_offset, reason):
    now = 1_800_000_000
    body, stamp = b"{}", str(now + timestamp_offset)
    with pytest.raises(SignatureError, match=reason):
        check(body, stamp, sign(body, stamp, "s3cret"), now=now)


def test_the_window_edges_are_accepted():
    now, body = 1_800_000_000, b"{}"
    for stamp in (str(now - 7200), str(now + MAX_FUTURE_SKEW_S)):
        assert check(body, stamp, sign(body, stamp, "s3cret"), now=now) == int(stamp)


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, "a" * 40, "missing_timestamp"),
        ("1800000000", None, "missing_signature"),
        ("1800000000", "", "missing_signature"),
        (" 1800000000", "a" * 40, "malformed_timestamp"),
        ("+1800000000", "a" * 40, "malformed_timestamp"),
        ("1.8e9", "a" * 40, "malformed_timestamp"),
        ("١٨٠٠٠٠٠٠٠٠", "a" * 40, "malformed_timestamp"),
        ("1800000000", "A" * 40, "malformed_signature"),
        ("1800000000", "zz" * 20, "malformed_signature"),
        ("1800000000", "é" * 40, "malformed_signature"),
        ("1800000000", "a" * 41, "malformed_signature"),
    ],
)
def test_malformed_headers_are_refused_with_a_reason(timestamp, signature, reason):
    with pytest.raises(SignatureError, match=reason):
        check(b"{}", timestamp, signature, now=1_800_000_000)


def test_uppercase_of_a_valid_signature_is_refused_like_the_sdk_does():
    stamp = "1800000000"
    good = sign(b"{}", stamp, "s3cret")
    with pytest.raises(SignatureError):
        check(b"{}", stamp, good.upper(), now=1_800_000_000)


def test_without_any_secret_nothing_verifies():
    stamp = "1800000000"
    with pytest.raises(SignatureError, match="no_secret_configured"):
        check(b"{}", stamp, sign(b"{}", stamp, ""), secrets=[], now=1_800_000_000)
