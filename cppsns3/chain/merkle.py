"""Binary SHA-256 Merkle tree with inclusion proofs.

Rules (fixed; blocks of format version 1 depend on them):

* leaf hash  ``L(x) = SHA-256(0x00 || x)`` of the leaf's bytes (an encoded
  record, or a 32-byte block hash in a generator block);
* node hash  ``N(a, b) = SHA-256(0x01 || a || b)``;
* the two prefixes separate leaves from inner nodes (as in RFC 6962), so no
  leaf can pose as a subtree;
* **odd counts**: when a level has an odd number of nodes, the last node is
  carried up to the next level unchanged (it is *not* paired with a copy of
  itself, which would let ``[a, b, c]`` and ``[a, b, c, c]`` share a root);
* the root of one leaf is its leaf hash; the root of no leaves is
  ``SHA-256(b"")``.

A proof for leaf ``i`` is the list of ``(sibling_hash, sibling_is_left)``
pairs from the leaf level up; levels where the node was carried up contribute
no pair.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "sha256",
    "EMPTY_ROOT",
    "leaf_hash",
    "node_hash",
    "merkle_root",
    "merkle_root_from_leaf_hashes",
    "merkle_proof",
    "verify_proof",
]

_sha256 = hashlib.sha256
_LEAF = b"\x00"
_NODE = b"\x01"


def sha256(data: bytes) -> bytes:
    """SHA-256 digest (32 bytes) of ``data``."""
    return _sha256(data).digest()


#: Root of an empty tree.
EMPTY_ROOT = sha256(b"")


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE + left + right).digest()


def _next_level(level: list[bytes]) -> list[bytes]:
    h = _sha256
    n = len(level)
    nxt = [h(_NODE + level[i] + level[i + 1]).digest() for i in range(0, n - 1, 2)]
    if n % 2:
        nxt.append(level[-1])
    return nxt


def merkle_root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Root over already-computed leaf hashes.

    Parameters
    ----------
    hashes : sequence of bytes
        Leaf hashes ``L(x)`` in leaf order.

    Returns
    -------
    bytes
        32-byte root; :data:`EMPTY_ROOT` for no leaves.
    """
    level = list(hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    """Merkle root over leaf byte strings (see the module rules).

    Parameters
    ----------
    leaves : iterable of bytes
        The leaves' bytes in order (encoded records, block hashes).

    Returns
    -------
    bytes
        32-byte root; :data:`EMPTY_ROOT` for no leaves.
    """
    h = _sha256
    return merkle_root_from_leaf_hashes([h(_LEAF + x).digest() for x in leaves])


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[tuple[bytes, bool]]:
    """Inclusion proof of ``leaves[index]``.

    Parameters
    ----------
    leaves : sequence of bytes
        All leaves' bytes, in order.
    index : int
        Position of the leaf to prove.

    Returns
    -------
    list of (bytes, bool)
        ``(sibling_hash, sibling_is_left)`` from the leaf level up.

    Raises
    ------
    IndexError
        If ``index`` is not a valid leaf position.
    """
    n = len(leaves)
    if not 0 <= index < n:
        raise IndexError(f"leaf index {index} out of range for {n} leaves")
    level = [leaf_hash(x) for x in leaves]
    proof: list[tuple[bytes, bool]] = []
    i = index
    while len(level) > 1:
        if i % 2 == 1:
            proof.append((level[i - 1], True))
        elif i + 1 < len(level):
            proof.append((level[i + 1], False))
        # else: last node of an odd level, carried up: no pair
        level = _next_level(level)
        i //= 2
    return proof


def verify_proof(leaf: bytes, proof: Iterable[tuple[bytes, bool]], root: bytes) -> bool:
    """Whether ``proof`` shows ``leaf`` (its bytes) is in the tree of ``root``.

    Parameters
    ----------
    leaf : bytes
        The leaf's bytes (not its hash).
    proof : iterable of (bytes, bool)
        As returned by :func:`merkle_proof`.
    root : bytes
        Expected 32-byte root.

    Returns
    -------
    bool
    """
    h = leaf_hash(leaf)
    for sibling, is_left in proof:
        h = node_hash(sibling, h) if is_left else node_hash(h, sibling)
    return h == root
