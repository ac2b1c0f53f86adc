"""Story-level near-duplicate detection: one wire story, many outlets, one story id.

Outlets run the same agency text under their own headline, intro, credit line and
site boilerplate. The texts are compared as sets of 3-word shingles (folded words
from ``bot.core.normalize.words``), and their Jaccard similarity is estimated with
MinHash: 64 universal hash functions over each shingle's blake2b hash, keeping
each function's minimum.

MinHash rather than a 64-bit SimHash, because on lightly edited 150-300-word
copies SimHash leaves too narrow a gap: copies of one story differed in 10-18 of
64 bits and unrelated stories about the same event in as few as 25, so one
threshold would sit on a knife edge (measured on an earlier set of test texts). On the
texts of tests/analysis/test_fingerprint.py the MinHash distances are 20-35 of 64 slots
for copies and 60-64 for different stories.
Each slot is 32 bits, packed into one int so a fingerprint stays a plain value
(2048 bits; ``int.to_bytes(256, "little")`` stores it). Everything is derived from
fixed constants, never ``hash()``, so fingerprints are stable across processes.
"""

from __future__ import annotations

import hashlib
import struct

from bot.core.normalize import words

SHINGLE = 3
NUM_PERM = 64
# A fingerprint joins a story when at most this many of the 64 slots differ, that is
# when the estimated Jaccard similarity of the shingle sets is at least 1 - 48/64 = 0.25.
THRESHOLD = 48
EMPTY = 0  # the fingerprint of a text too short to have a shingle; matches nothing

_PRIME = (1 << 61) - 1
_MASK = 0xFFFFFFFF
_SLOTS = struct.Struct(f"<{NUM_PERM}I")
_BYTES = _SLOTS.size
_LANE = struct.Struct("<Q8x")  # one shingle hash in a 128-bit lane (bytes, little-endian)
_ONE = (1).to_bytes(16, "little")
_HIGH = (1 << 67) - 1  # bits 61-127 of a lane, shifted down to 0-66


def _param(label: str) -> int:
    digest = hashlib.blake2b(label.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (_PRIME - 1) + 1


# h_i(x) = (a_i * x + b_i) mod p, a universal family standing in for random permutations.
_PERMS = tuple(
    (_param(f"newsbot-minhash-a{i}"), _param(f"newsbot-minhash-b{i}")) for i in range(NUM_PERM)
)


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """The distinct runs of ``size`` consecutive folded words in ``text``."""
    tokens = words(text)
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def _hash(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")


def fingerprint(text: str) -> int:
    """The MinHash of ``text``'s shingles, packed into one int (``EMPTY`` if it has none).

    Slot i is ``min(((a_i * h + b_i) % _PRIME) & _MASK for h in hashes)``; it is computed
    for every shingle at once (``_slot``), which gives the same slots in half the time.
    """
    hashes = [_hash(s) for s in shingles(text)]
    if not hashes:
        return EMPTY
    n = len(hashes)
    # Every hash in its own 128-bit lane of one big int: a*h + b < 2**125 never spills over.
    lanes = int.from_bytes(b"".join(map(_LANE.pack, hashes)), "little")
    ones = int.from_bytes(_ONE * n, "little")
    masks = (ones * _PRIME, ones * _HIGH, ones * _MASK, ones)
    slots = [_slot(a * lanes + b * ones, masks, n) for a, b in _PERMS]
    return int.from_bytes(_SLOTS.pack(*slots), "little")


def _slot(y: int, masks: tuple[int, int, int, int], n: int) -> int:
    """The least ``(y % _PRIME) & _MASK`` over the 128-bit lanes of ``y`` (each < 2**125)."""
    low, high, mask, ones = masks
    y = (y & low) + ((y >> 61) & high)  # 2**61 = 1 (mod 2**61 - 1): each lane < 2**65
    y = (y & low) + ((y >> 61) & high)  # each lane < 2**61 + 16
    t = y + ones  # bit 61 set exactly where the lane is >= _PRIME
    y = (t & low) + ((t >> 61) & ones) - ones  # so subtract _PRIME there: each lane % _PRIME
    return min(memoryview((y & mask).to_bytes(16 * n, "little")).cast("I")[::4])


def distance(a: int, b: int) -> int:
    """How many of the ``NUM_PERM`` slots differ: 0 for the same text, ~64 for unrelated."""
    return NUM_PERM - _SLOTS.unpack((a ^ b).to_bytes(_BYTES, "little")).count(0)
