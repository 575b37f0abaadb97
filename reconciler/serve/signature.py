"""Checking that a webhook delivery comes from Telnyx: Ed25519 over `"{telnyx-timestamp}|{raw body}"`
with the account's public key (base64 in TELNYX_PUBLIC_KEY), and a timestamp within a window, so an old
delivery replayed later is refused. The crypto is the `cryptography` package's."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
TOLERANCE_SECONDS = 300  # a delivery signed more than 5 minutes from now, either way, is refused
MAX_HEADER = 200  # characters: a signature is 88, a timestamp 10


class Refused(Exception):
    """A delivery that must not be acted on; `reason` is safe to log and to answer with."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def public_key(text: str) -> Ed25519PublicKey:
    """The account's public key from its base64 form; ValueError when it is not one."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except (ValueError, binascii.Error):
        raise ValueError("TELNYX_PUBLIC_KEY must be the base64 of a 32-byte Ed25519 public key "
                         "(the portal's 'Public Key')") from None


def verify(key: Ed25519PublicKey, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Raise `Refused` unless the delivery is signed by `key` within the window around `now`."""
    signature, stamp = headers.get(SIGNATURE_HEADER, ""), headers.get(TIMESTAMP_HEADER, "")
    if not signature or not stamp:
        raise Refused("missing signature or timestamp")
    if len(signature) > MAX_HEADER or len(stamp) > MAX_HEADER or not stamp.isascii() or not stamp.isdigit():
        raise Refused("malformed signature or timestamp")
    if abs(now - int(stamp)) > TOLERANCE_SECONDS:
        raise Refused("timestamp outside the 5-minute window")
    try:
        key.verify(base64.b64decode(signature, validate=True), stamp.encode() + b"|" + body)
    except (InvalidSignature, ValueError, binascii.Error):
        raise Refused("invalid signature") from None
