"""Sealed boxes: encrypt a small secret to a service's public key (ECIES).

A producer that must hand a secret to exactly one other service through an event (the token
of an e-mailed link, for instance) seals it to that service's X25519 public key; only the
holder of the private key can open it, so the secret never lies in plain text in an outbox,
a topic, a dead-letter queue or a log.

Construction: a fresh X25519 key pair per message; the shared secret goes through
HKDF-SHA256 (salt = ephemeral public key || recipient public key, info = a fixed label)
into an AES-256-GCM key; the caller's ``context`` is the associated data, so a box sealed for
one context (say, one event type and user) does not open in another.

Layout: ``version (1) || ephemeral public key (32) || nonce (12) || ciphertext + tag (16)``.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ALGORITHM = "X25519-HKDF-SHA256-AES256GCM"
_VERSION = b"\x01"
_INFO = b"chorus-sealed-box-v1"
_KEY_LENGTH = 32
_NONCE_LENGTH = 12
_HEADER_LENGTH = len(_VERSION) + _KEY_LENGTH + _NONCE_LENGTH
_TAG_LENGTH = 16


class SealedBoxError(ValueError):
    """The box cannot be opened: wrong key, wrong context, tampered or malformed."""


def _raw(public_key: X25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _aead(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=_KEY_LENGTH,
        salt=ephemeral_public + recipient_public,
        info=_INFO,
    ).derive(shared)
    return AESGCM(key)


def generate_private_key() -> X25519PrivateKey:
    """A new key pair for a service that receives sealed secrets."""
    return X25519PrivateKey.generate()


def private_key_bytes(key: X25519PrivateKey) -> bytes:
    """The raw 32-byte private key, to store (the service's own database, a secret store)."""
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def load_private_key(raw: bytes) -> X25519PrivateKey:
    """The private key stored with :func:`private_key_bytes`."""
    return X25519PrivateKey.from_private_bytes(raw)


def public_key_bytes(key: X25519PrivateKey) -> bytes:
    """The raw 32-byte public key, to publish to the services that seal secrets."""
    return _raw(key.public_key())


def seal(public_key_bytes: bytes, plaintext: bytes, context: bytes) -> bytes:
    """``plaintext`` encrypted to the holder of the private half of ``public_key_bytes``.

    ``context`` is authenticated, not encrypted: :func:`open_sealed` needs the same bytes.
    ValueError when ``public_key_bytes`` is not a 32-byte X25519 key.
    """
    recipient = X25519PublicKey.from_public_bytes(public_key_bytes)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _raw(ephemeral.public_key())
    nonce = os.urandom(_NONCE_LENGTH)
    aead = _aead(ephemeral.exchange(recipient), ephemeral_public, public_key_bytes)
    return _VERSION + ephemeral_public + nonce + aead.encrypt(nonce, plaintext, context)


def open_sealed(private_key: X25519PrivateKey, sealed: bytes, context: bytes) -> bytes:
    """The plaintext of a box made by :func:`seal` for ``private_key``'s public half.

    Raises :class:`SealedBoxError` when the box was not sealed to this key with this
    ``context``, or was altered.
    """
    if len(sealed) < _HEADER_LENGTH + _TAG_LENGTH or sealed[:1] != _VERSION:
        raise SealedBoxError("not a sealed box")
    ephemeral_public = sealed[1 : 1 + _KEY_LENGTH]
    nonce = sealed[1 + _KEY_LENGTH : _HEADER_LENGTH]
    try:
        shared = private_key.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        aead = _aead(shared, ephemeral_public, public_key_bytes(private_key))
        return aead.decrypt(nonce, sealed[_HEADER_LENGTH:], context)
    except (InvalidTag, ValueError):
        raise SealedBoxError("sealed box does not open with this key and context") from None
