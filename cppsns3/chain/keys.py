"""CPPS terminals: an ID, a bus and an Ed25519 key pair that signs blocks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .block import DataBlock, GeneratorBlock, _check_id, encode_records
from .merkle import merkle_root, merkle_root_from_leaf_hashes, leaf_hash

__all__ = ["Terminal", "raw_public_key"]


def raw_public_key(private_key: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of an Ed25519 private key's public key."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Terminal:
    """A CPPS terminal: the data-block generating node of the paper.

    Parameters
    ----------
    terminal_id : str
        Non-empty, no ``/`` (it prefixes measurement IDs), at most 65535
        UTF-8 bytes.
    bus : int or str
        The bus (access location) the terminal sits at.
    private_key : cryptography Ed25519PrivateKey
        The signing key; kept inside the object.

    Raises
    ------
    ValueError
        If ``terminal_id`` is malformed.
    TypeError
        If ``private_key`` is not an Ed25519 private key.
    """

    __slots__ = ("terminal_id", "bus", "_key", "_public_key")

    def __init__(self, terminal_id: str, bus, private_key: Ed25519PrivateKey):
        _check_id("terminal_id", terminal_id, allow_slash=False)
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError(f"private_key must be an Ed25519PrivateKey, got {type(private_key).__name__}")
        self.terminal_id = terminal_id
        self.bus = bus
        self._key = private_key
        self._public_key = raw_public_key(private_key)

    @classmethod
    def generate(cls, terminal_id: str, bus) -> "Terminal":
        """A terminal with a fresh random key.

        Raises
        ------
        ValueError
            If ``terminal_id`` is malformed.
        """
        return cls(terminal_id, bus, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, terminal_id: str, bus, seed) -> "Terminal":
        """A terminal whose key is derived from ``seed`` (reproducible runs).

        The 32-byte private key is ``SHA-256("cppsns3-terminal-key\\0" || seed
        || "\\0" || terminal_id)``.  For simulations only: anyone who knows the
        seed knows the key.

        Parameters
        ----------
        seed : int, str or bytes

        Raises
        ------
        ValueError
            If ``terminal_id`` is malformed.
        """
        s = seed if isinstance(seed, bytes) else str(seed).encode()
        material = hashlib.sha256(b"cppsns3-terminal-key\0" + s + b"\0" + terminal_id.encode()).digest()
        return cls(terminal_id, bus, Ed25519PrivateKey.from_private_bytes(material))

    @property
    def public_key(self) -> bytes:
        """The 32 raw bytes of the Ed25519 public key."""
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        """64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def make_block(self, measurements: Iterable, prev_hash: bytes, timestamp: float) -> DataBlock:
        """Package and sign measurements into a data block.

        Parameters
        ----------
        measurements : iterable of Measurement or (id, time_s, value)
            The body, in order.
        prev_hash : bytes
            32-byte hash of the previous block (zeros for the first).
        timestamp : float
            Block timestamp, epoch seconds.

        Returns
        -------
        DataBlock

        Raises
        ------
        ValueError
            If a measurement, ``prev_hash`` or ``timestamp`` is malformed.
        """
        ms, recs = encode_records(measurements)
        root = merkle_root(recs)
        header = DataBlock.header_for(prev_hash, timestamp, root, self.terminal_id, len(recs))
        blk = DataBlock(prev_hash, timestamp, root, self.terminal_id, ms, self.sign(header),
                        _records=recs)
        blk._body_root = root
        return blk

    def make_generator_block(self, data_blocks: Sequence, prev_hash: bytes, timestamp: float,
                             height: int = 0) -> GeneratorBlock:
        """Sign a generator block over data blocks (or their 32-byte hashes).

        Parameters
        ----------
        data_blocks : sequence of DataBlock or bytes
            The round's data blocks, or their hashes; order does not matter
            (the block lists them sorted), duplicates are dropped.
        prev_hash : bytes
            Hash of the previous generator block (zeros for the first).
        timestamp : float
            Block timestamp, epoch seconds.
        height : int, default 0
            Position in the chain.

        Returns
        -------
        GeneratorBlock

        Raises
        ------
        ValueError
            If a field is malformed.
        """
        hashes = sorted({b.hash() if isinstance(b, DataBlock) else bytes(b) for b in data_blocks})
        root = merkle_root_from_leaf_hashes([leaf_hash(x) for x in hashes])
        header = GeneratorBlock.header_for(prev_hash, height, timestamp, root, self.terminal_id,
                                           len(hashes))
        return GeneratorBlock(prev_hash, height, timestamp, root, self.terminal_id, hashes,
                              self.sign(header))

    def __repr__(self):
        return f"Terminal({self.terminal_id!r}, bus={self.bus!r}, public_key={self._public_key.hex()[:16]}…)"
