"""Sealed boxes: only the private key's holder opens them, in the context they were made for."""

import pytest
from chorus_platform import sealing


@pytest.fixture
def key():
    return sealing.generate_private_key()


def test_a_sealed_secret_opens_with_the_private_key_and_same_context(key):
    public = sealing.public_key_bytes(key)
    box = sealing.seal(public, b"jeton-secret", b"ctx/1")
    assert b"jeton-secret" not in box
    assert sealing.open_sealed(key, box, b"ctx/1") == b"jeton-secret"


def test_sealing_twice_gives_different_boxes(key):
    public = sealing.public_key_bytes(key)
    assert sealing.seal(public, b"s", b"c") != sealing.seal(public, b"s", b"c")


def test_the_wrong_context_does_not_open(key):
    box = sealing.seal(sealing.public_key_bytes(key), b"secret", b"PasswordReset/u1")
    with pytest.raises(sealing.SealedBoxError):
        sealing.open_sealed(key, box, b"PasswordReset/u2")


def test_another_key_does_not_open(key):
    box = sealing.seal(sealing.public_key_bytes(key), b"secret", b"c")
    with pytest.raises(sealing.SealedBoxError):
        sealing.open_sealed(sealing.generate_private_key(), box, b"c")


@pytest.mark.parametrize("position", [0, 1, 40, -1])
def test_any_tampered_byte_is_detected(key, position):
    box = bytearray(sealing.seal(sealing.public_key_bytes(key), b"secret", b"c"))
    box[position] ^= 0x01
    with pytest.raises(sealing.SealedBoxError):
        sealing.open_sealed(key, bytes(box), b"c")


@pytest.mark.parametrize("box", [b"", b"\x01" + b"\x00" * 40, b"\x02" + b"\x00" * 80])
def test_malformed_boxes_are_refused(key, box):
    with pytest.raises(sealing.SealedBoxError):
        sealing.open_sealed(key, box, b"c")


def test_stored_private_key_round_trips(key):
    restored = sealing.load_private_key(sealing.private_key_bytes(key))
    box = sealing.seal(sealing.public_key_bytes(key), b"secret", b"c")
    assert sealing.open_sealed(restored, box, b"c") == b"secret"


def test_a_public_key_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError):
        sealing.seal(b"short", b"secret", b"c")
