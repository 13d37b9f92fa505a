"""Digest algorithms and header parsing against published test vectors."""

from __future__ import annotations

import base64
import hashlib

import pytest

from doi2data.model import normalize_digest
from doi2data.transfer.digests import header_digests
from doi2data.transfer.hashing import MultiHasher

CHECK = b"123456789"  # the classic CRC check string


@pytest.mark.parametrize(
    "algo,expected",
    [("crc32c", "e3069283"), ("crc32", "cbf43926"), ("adler32", "091e01de"),
     ("md5", hashlib.md5(CHECK).hexdigest()), ("sha1", hashlib.sha1(CHECK).hexdigest()),
     ("sha256", hashlib.sha256(CHECK).hexdigest()), ("sha512", hashlib.sha512(CHECK).hexdigest())],
)
def test_vectors_in_pieces(algo: str, expected: str) -> None:
    hasher = MultiHasher([algo])
    for i in range(len(CHECK)):
        hasher.update(CHECK[i : i + 1])
    assert hasher.digests() == {algo: expected} and not hasher.unsupported


def test_unknown_algorithm_is_reported_not_passed() -> None:
    hasher = MultiHasher(["md5", "blake9"])
    hasher.update(b"x")
    assert set(hasher.digests()) == {"md5"} and hasher.unsupported == ["blake9"]


def test_header_digests_rfc3230_and_rfc9530() -> None:
    md5_b64 = base64.b64encode(hashlib.md5(CHECK).digest()).decode()
    sha_b64 = base64.b64encode(hashlib.sha256(CHECK).digest()).decode()
    found = header_digests({"digest": f"MD5={md5_b64}, ADLER32=091e01de, UNIXsum=30637",
                            "repr-digest": f"sha-256=:{sha_b64}:"})
    assert found == {"md5": hashlib.md5(CHECK).hexdigest(), "adler32": "091e01de",
                     "sha256": hashlib.sha256(CHECK).hexdigest(), "unixsum": "30637"}


def test_normalize_digest_forms() -> None:
    assert normalize_digest("ADLER32", "91e01de") == "091e01de"  # dCache drops leading zeros
    assert normalize_digest("md5", "xyz") is None
    assert normalize_digest("SHA-256", hashlib.sha256(CHECK).hexdigest().upper()) == hashlib.sha256(CHECK).hexdigest()
