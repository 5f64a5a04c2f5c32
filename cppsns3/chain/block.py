"""Byte encoding of data blocks and generator blocks (format version 1).

Both kinds are deterministic (one encoding per block), versioned, big-endian
and length-prefixed; the decoders check every byte they read and raise only
:class:`~cppsns3.errors.BlockFormatError`, naming the offset and what was
expected there.  The layouts are tabled in ``docs/chain.md``.

Data block (``magic = b"CPDB"``)::

    header  magic(4) version(u8=1) prev_hash(32) timestamp_s(f64)
            merkle_root(32) terminal_id_len(u16) terminal_id(utf-8)
            record_count(u32)
    body    record_count x [ id_len(u16) id(utf-8) time_s(f64) value(f64) ]
    sig     Ed25519 signature (64) over the header bytes

Generator block (``magic = b"CPGB"``)::

    header  magic(4) version(u8=1) prev_hash(32) height(u64) timestamp_s(f64)
            merkle_root(32) generator_id_len(u16) generator_id(utf-8)
            hash_count(u32)
    body    hash_count x block_hash(32), strictly increasing
    sig     Ed25519 signature (64) over the header bytes

The Merkle root of a data block is over its encoded records (each record's
bytes, ``id_len`` through ``value``, is one leaf); that of a generator block
is over the 32-byte hashes of the data blocks it covers.  A block's hash is
the SHA-256 of its whole encoding (:meth:`DataBlock.hash`).
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import BlockFormatError
from .measurements import Measurement
from .merkle import EMPTY_ROOT, merkle_root_from_leaf_hashes

__all__ = [
    "FORMAT_VERSION",
    "DATA_MAGIC",
    "GENERATOR_MAGIC",
    "SIGNATURE_BYTES",
    "HASH_BYTES",
    "DataBlock",
    "GeneratorBlock",
    "encode_records",
    "record_bytes",
]

FORMAT_VERSION = 1
DATA_MAGIC = b"CPDB"
GENERATOR_MAGIC = b"CPGB"
SIGNATURE_BYTES = 64
HASH_BYTES = 32

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_F64 = struct.Struct(">d")
_DD = struct.Struct(">dd")
_MIN_RECORD = 2 + 1 + 16
_sha256 = hashlib.sha256
_LEAF = b"\x00"


def _isfinite(x: float) -> bool:
    return x - x == 0.0


def _check_id(name: str, value, *, allow_slash: bool) -> bytes:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty str, got {value!r}")
    if not allow_slash and "/" in value:
        raise ValueError(f"{name} must not contain '/', got {value!r}")
    raw = value.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise ValueError(f"{name} is {len(raw)} UTF-8 bytes, at most 65535 allowed")
    return raw


def _check_hash(name: str, value) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_BYTES:
        raise ValueError(f"{name} must be {HASH_BYTES} bytes, got {value!r:.80}")
    return bytes(value)


def _check_time(name: str, value) -> float:
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite float, got {value!r}") from None
    if not math.isfinite(t):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return t


def _first_non_finite(buf: bytes, offsets: list[int]) -> tuple[int, int] | None:
    """(record, 0 for time_s / 1 for value) of the first non-finite float64, or None.

    A big-endian float64 is non-finite when its 11 exponent bits are all ones.
    """
    a = np.frombuffer(buf, dtype=np.uint8)
    off = np.asarray(offsets, dtype=np.int64)
    bad_t = ((a[off] & 0x7F) == 0x7F) & ((a[off + 1] & 0xF0) == 0xF0)
    bad_v = ((a[off + 8] & 0x7F) == 0x7F) & ((a[off + 9] & 0xF0) == 0xF0)
    both = bad_t | bad_v
    if not both.any():
        return None
    k = int(np.argmax(both))
    return k, 0 if bad_t[k] else 1


def encode_records(measurements: Iterable) -> tuple[tuple[Measurement, ...], list[bytes]]:
    """Validate measurements and encode each record.

    Parameters
    ----------
    measurements : iterable of Measurement or (id, time_s, value)
        The records, in block order.

    Returns
    -------
    (tuple of Measurement, list of bytes)
        The records as :class:`Measurement` and their encodings (the Merkle
        leaves).

    Raises
    ------
    ValueError
        If an ID is empty, not a str or longer than 65535 UTF-8 bytes, or a
        time or value is not a finite number.
    """
    prefixes: dict[str, bytes] = {}
    pack = _DD.pack
    new = tuple.__new__
    recs: list[bytes] = []
    ms: list[Measurement] = []
    for m in measurements:
        try:
            mid, t, v = m
        except (TypeError, ValueError):
            raise ValueError(f"a measurement must be (id, time_s, value), got {m!r:.80}") from None
        pre = prefixes.get(mid) if type(mid) is str else None
        if pre is None:
            raw = _check_id("measurement id", mid, allow_slash=True)
            pre = prefixes[mid] = _U16.pack(len(raw)) + raw
        exact = type(m) is Measurement
        if type(t) is not float or type(v) is not float:
            t = _check_time("measurement time_s", t)
            v = _check_time("measurement value", v)
            exact = False
        if not (t - t == 0.0 and v - v == 0.0):
            bad = "time_s" if not _isfinite(t) else "value"
            raise ValueError(f"measurement {bad} must be finite in {mid!r}")
        recs.append(pre + pack(t, v))
        ms.append(m if exact else new(Measurement, (mid, t, v)))
    return tuple(ms), recs


def record_bytes(m) -> bytes:
    """Encoding of one record (one Merkle leaf of a data block).

    Raises
    ------
    ValueError
        As :func:`encode_records`.
    """
    return encode_records([m])[1][0]


class _Reader:
    """Bounds-checked cursor over received bytes; every failure is a BlockFormatError."""

    __slots__ = ("raw", "pos", "what")

    def __init__(self, raw, what: str):
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise BlockFormatError(f"{what}: expected bytes, got {type(raw).__name__}")
        self.raw = bytes(raw)
        self.pos = 0
        self.what = what

    def fail(self, expected: str, offset: int | None = None) -> BlockFormatError:
        off = self.pos if offset is None else offset
        return BlockFormatError(
            f"{self.what}: at offset {off} of {len(self.raw)}: expected {expected}")

    def take(self, n: int, expected: str) -> bytes:
        end = self.pos + n
        if end > len(self.raw):
            raise self.fail(f"{expected} ({n} bytes), found only {len(self.raw) - self.pos}")
        out = self.raw[self.pos:end]
        self.pos = end
        return out

    def u8(self, expected: str) -> int:
        return self.take(1, expected)[0]

    def u16(self, expected: str) -> int:
        return _U16.unpack(self.take(2, expected))[0]

    def u32(self, expected: str) -> int:
        return _U32.unpack(self.take(4, expected))[0]

    def u64(self, expected: str) -> int:
        return _U64.unpack(self.take(8, expected))[0]

    def f64(self, expected: str) -> float:
        start = self.pos
        x = _F64.unpack(self.take(8, expected))[0]
        if not _isfinite(x):
            raise self.fail(f"{expected} as a finite float64, got {x!r}", start)
        return x

    def text(self, expected: str, allow_slash: bool) -> str:
        start = self.pos
        n = self.u16(f"length of {expected}")
        if n == 0:
            raise self.fail(f"a non-empty {expected} (length > 0)", start)
        raw = self.take(n, f"{expected} bytes")
        try:
            s = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.fail(f"{expected} as UTF-8 ({exc.reason})", start + 2 + exc.start) from None
        if not allow_slash and "/" in s:
            raise self.fail(f"{expected} without '/'", start + 2)
        return s

    def magic(self, magic: bytes, kind: str) -> None:
        got = self.take(len(magic), f"magic {magic!r} of a {kind}")
        if got != magic:
            raise self.fail(f"magic {magic!r} of a {kind}, got {got!r}", 0)
        v = self.u8("format version")
        if v != FORMAT_VERSION:
            raise self.fail(f"format version {FORMAT_VERSION}, got {v}", 4)

    def end(self) -> None:
        if self.pos != len(self.raw):
            raise self.fail(f"end of block, found {len(self.raw) - self.pos} trailing bytes")


class _Encoded:
    """What both block kinds share: identity is the deterministic encoding."""

    __slots__ = ()

    @property
    def header_bytes(self) -> bytes:
        """The encoded header: the bytes the signature covers."""
        return self._raw[: self._header_len]

    @property
    def size_bytes(self) -> int:
        """Length of the encoding in bytes."""
        return len(self._raw)

    def to_bytes(self) -> bytes:
        """The block's deterministic encoding."""
        return self._raw

    def hash(self) -> bytes:
        """SHA-256 of the whole encoding (32 bytes): the block's identity."""
        if self._hash is None:
            self._hash = _sha256(self._raw).digest()
        return self._hash

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._raw == other._raw

    def __hash__(self):
        return hash(self.hash())


class DataBlock(_Encoded):
    """A terminal's signed data block: header, measurement records, signature.

    Build one with :meth:`cppsns3.chain.Terminal.make_block`; decode received
    bytes with :meth:`from_bytes`.  Immutable; equality is equality of the
    encodings.

    Parameters
    ----------
    prev_hash : bytes
        32-byte hash of the previous block (the chain tip the terminal saw).
    timestamp_s : float
        Block timestamp, epoch seconds (finite).
    merkle_root : bytes
        32-byte Merkle root the header claims for the records.
    terminal_id : str
        Producing terminal (non-empty, no ``/``).
    measurements : iterable of Measurement
        The body.
    signature : bytes
        64-byte Ed25519 signature over :attr:`header_bytes`.
    version : int, default 1
        Format version (only 1 exists).

    Raises
    ------
    ValueError
        If a field has the wrong type, size or a non-finite value.
    """

    __slots__ = ("version", "prev_hash", "timestamp_s", "merkle_root", "terminal_id",
                 "_ms", "_count", "signature", "_raw", "_header_len", "_body_root", "_hash")

    def __init__(self, prev_hash: bytes, timestamp_s: float, merkle_root: bytes,
                 terminal_id: str, measurements: Iterable, signature: bytes,
                 version: int = FORMAT_VERSION, *, _records: list[bytes] | None = None):
        if version != FORMAT_VERSION:
            raise ValueError(f"version must be {FORMAT_VERSION}, got {version!r}")
        tid = _check_id("terminal_id", terminal_id, allow_slash=False)
        self.version = FORMAT_VERSION
        self.prev_hash = _check_hash("prev_hash", prev_hash)
        self.timestamp_s = _check_time("timestamp_s", timestamp_s)
        self.merkle_root = _check_hash("merkle_root", merkle_root)
        self.terminal_id = terminal_id
        if _records is None:
            ms, _records = encode_records(measurements)
        else:
            ms = tuple(measurements)
        self._ms = ms
        self._count = len(ms)
        if not isinstance(signature, (bytes, bytearray)) or len(signature) != SIGNATURE_BYTES:
            raise ValueError(f"signature must be {SIGNATURE_BYTES} bytes")
        self.signature = bytes(signature)
        header = self._header(tid, len(_records))
        self._header_len = len(header)
        self._raw = b"".join([header, *_records, self.signature])
        self._body_root = None
        self._hash = None

    # -- helpers ---------------------------------------------------------------
    def _header(self, tid: bytes, count: int) -> bytes:
        return b"".join([DATA_MAGIC, _U8.pack(self.version), self.prev_hash,
                         _F64.pack(self.timestamp_s), self.merkle_root,
                         _U16.pack(len(tid)), tid, _U32.pack(count)])

    @staticmethod
    def header_for(prev_hash: bytes, timestamp_s: float, merkle_root: bytes,
                   terminal_id: str, record_count: int) -> bytes:
        """The header bytes a block with these fields has (what is signed).

        Raises
        ------
        ValueError
            If a field has the wrong type or size.
        """
        tid = _check_id("terminal_id", terminal_id, allow_slash=False)
        return b"".join([DATA_MAGIC, _U8.pack(FORMAT_VERSION), _check_hash("prev_hash", prev_hash),
                         _F64.pack(_check_time("timestamp_s", timestamp_s)),
                         _check_hash("merkle_root", merkle_root),
                         _U16.pack(len(tid)), tid, _U32.pack(record_count)])

    # -- public ----------------------------------------------------------------
    @property
    def measurements(self) -> tuple[Measurement, ...]:
        """The body's records, in order (built on first access after decoding)."""
        if self._ms is None:
            raw = self._raw
            u16 = _U16.unpack_from
            dd = _DD.unpack_from
            new = tuple.__new__
            names: dict[bytes, str] = {}
            ms = []
            o = self._header_len
            for _ in range(self._count):
                e = o + 2 + u16(raw, o)[0]
                idb = raw[o + 2:e]
                mid = names.get(idb)
                if mid is None:
                    mid = names[idb] = idb.decode("utf-8")
                t, v = dd(raw, e)
                ms.append(new(Measurement, (mid, t, v)))
                o = e + 16
            self._ms = tuple(ms)
        return self._ms

    @property
    def record_count(self) -> int:
        """Number of records in the body."""
        return self._count

    def computed_merkle_root(self) -> bytes:
        """Merkle root recomputed over the encoded records (cached)."""
        if self._body_root is None:
            raw = self._raw
            h = _sha256
            leaves = []
            o = self._header_len
            u16 = _U16.unpack_from
            for _ in range(self._count):
                end = o + 2 + u16(raw, o)[0] + 16
                leaves.append(h(_LEAF + raw[o:end]).digest())
                o = end
            self._body_root = merkle_root_from_leaf_hashes(leaves) if leaves else EMPTY_ROOT
        return self._body_root

    def replace(self, **changes) -> "DataBlock":
        """A copy with some fields changed (signature kept unless given).

        Raises
        ------
        ValueError
            As the constructor.
        """
        fields = dict(prev_hash=self.prev_hash, timestamp_s=self.timestamp_s,
                      merkle_root=self.merkle_root, terminal_id=self.terminal_id,
                      measurements=self.measurements, signature=self.signature)
        fields.update(changes)
        return DataBlock(**fields)

    @classmethod
    def from_bytes(cls, raw) -> "DataBlock":
        """Decode a data block from received bytes.

        Parameters
        ----------
        raw : bytes
            The encoding, exactly (no trailing bytes).

        Returns
        -------
        DataBlock

        Raises
        ------
        BlockFormatError
            On any malformed input (wrong magic or version, truncation, bad
            lengths, invalid UTF-8, non-finite floats, trailing bytes), naming
            the offset and what was expected.  Never any other exception.
        """
        r = _Reader(raw, "data block")
        r.magic(DATA_MAGIC, "data block")
        prev = r.take(HASH_BYTES, "previous block hash")
        ts = r.f64("timestamp_s")
        root = r.take(HASH_BYTES, "Merkle root")
        tid = r.text("terminal ID", allow_slash=False)
        header_len_before_count = r.pos
        count = r.u32("record count")
        header_len = r.pos
        buf = r.raw
        n = len(buf)
        if count * _MIN_RECORD > n - header_len - SIGNATURE_BYTES:
            raise r.fail(f"record count that fits the remaining {n - header_len} bytes "
                         f"(each record >= {_MIN_RECORD} bytes, plus a {SIGNATURE_BYTES}-byte "
                         f"signature), got {count}", header_len_before_count)
        limit = n - SIGNATURE_BYTES
        u16 = _U16.unpack_from
        h = _sha256
        names: dict[bytes, str] = {}
        floats: list[int] = []
        leaves: list[bytes] = []
        o = header_len
        for k in range(count):
            # o <= limit < len(buf) - 1 here (a signature follows), so the u16 read is in bounds
            e = o + 2 + u16(buf, o)[0]
            end = e + 16
            if e == o + 2 or end > limit:
                r.pos = o
                raise r.fail(f"a non-empty ID in record {k} (length > 0)" if e == o + 2 else
                             f"record {k} of {end - o} bytes before the {SIGNATURE_BYTES}-byte signature")
            idb = buf[o + 2:e]
            if idb not in names:
                try:
                    names[idb] = idb.decode("utf-8")
                except UnicodeDecodeError as exc:
                    r.pos = o + 2 + exc.start
                    raise r.fail(f"record {k} ID as UTF-8 ({exc.reason})") from None
            floats.append(e)
            leaves.append(h(_LEAF + buf[o:end]).digest())
            o = end
        if o != limit:
            r.pos = o
            raise r.fail(f"the {SIGNATURE_BYTES}-byte signature right after record {count - 1}"
                         if count else f"the {SIGNATURE_BYTES}-byte signature after the header",)
        if floats:
            bad = _first_non_finite(buf, floats)
            if bad is not None:
                k, which = bad
                r.pos = floats[k] + 8 * which
                raise r.fail(f"record {k} {('time_s', 'value')[which]} as a finite float64")
        blk = cls.__new__(cls)
        blk.version = FORMAT_VERSION
        blk.prev_hash = prev
        blk.timestamp_s = ts
        blk.merkle_root = root
        blk.terminal_id = tid
        blk._ms = None
        blk._count = count
        blk.signature = buf[limit:]
        blk._raw = buf
        blk._header_len = header_len
        blk._body_root = merkle_root_from_leaf_hashes(leaves) if leaves else EMPTY_ROOT
        blk._hash = None
        return blk

    def __len__(self) -> int:
        return self._count

    def __repr__(self):
        return (f"DataBlock(terminal_id={self.terminal_id!r}, timestamp_s={self.timestamp_s!r}, "
                f"records={self._count}, size_bytes={len(self._raw)}, "
                f"hash={self.hash().hex()[:16]}…)")


class GeneratorBlock(_Encoded):
    """The generator's signed block over a round's data blocks.

    Parameters
    ----------
    prev_hash : bytes
        32-byte hash of the previous generator block (zeros for the first).
    height : int
        Position in the chain (0 for the first generator block).
    timestamp_s : float
        Block timestamp, epoch seconds (finite).
    merkle_root : bytes
        32-byte Merkle root the header claims over ``block_hashes``.
    generator_id : str
        The generating terminal (non-empty, no ``/``).
    block_hashes : sequence of bytes
        32-byte hashes of the covered data blocks, strictly increasing.
    signature : bytes
        64-byte Ed25519 signature over :attr:`header_bytes`.

    Raises
    ------
    ValueError
        If a field has the wrong type or size, or the hashes are not strictly
        increasing.
    """

    __slots__ = ("version", "prev_hash", "height", "timestamp_s", "merkle_root", "generator_id",
                 "block_hashes", "signature", "_raw", "_header_len", "_hash")

    def __init__(self, prev_hash: bytes, height: int, timestamp_s: float, merkle_root: bytes,
                 generator_id: str, block_hashes: Sequence[bytes], signature: bytes,
                 version: int = FORMAT_VERSION):
        if version != FORMAT_VERSION:
            raise ValueError(f"version must be {FORMAT_VERSION}, got {version!r}")
        _check_id("generator_id", generator_id, allow_slash=False)
        if not isinstance(height, int) or not 0 <= height < 2**64:
            raise ValueError(f"height must be an int in [0, 2**64), got {height!r}")
        hashes = tuple(_check_hash("block hash", x) for x in block_hashes)
        if any(a >= b for a, b in zip(hashes, hashes[1:])):
            raise ValueError("block_hashes must be strictly increasing (sorted, no duplicates)")
        if not isinstance(signature, (bytes, bytearray)) or len(signature) != SIGNATURE_BYTES:
            raise ValueError(f"signature must be {SIGNATURE_BYTES} bytes")
        self.version = FORMAT_VERSION
        self.prev_hash = _check_hash("prev_hash", prev_hash)
        self.height = height
        self.timestamp_s = _check_time("timestamp_s", timestamp_s)
        self.merkle_root = _check_hash("merkle_root", merkle_root)
        self.generator_id = generator_id
        self.block_hashes = hashes
        self.signature = bytes(signature)
        header = self.header_for(self.prev_hash, height, self.timestamp_s, self.merkle_root,
                                 generator_id, len(hashes))
        self._header_len = len(header)
        self._raw = b"".join([header, *hashes, self.signature])
        self._hash = None

    @staticmethod
    def header_for(prev_hash: bytes, height: int, timestamp_s: float, merkle_root: bytes,
                   generator_id: str, hash_count: int) -> bytes:
        """The header bytes a generator block with these fields has (what is signed).

        Raises
        ------
        ValueError
            If a field has the wrong type or size.
        """
        gid = _check_id("generator_id", generator_id, allow_slash=False)
        return b"".join([GENERATOR_MAGIC, _U8.pack(FORMAT_VERSION),
                         _check_hash("prev_hash", prev_hash), _U64.pack(height),
                         _F64.pack(_check_time("timestamp_s", timestamp_s)),
                         _check_hash("merkle_root", merkle_root),
                         _U16.pack(len(gid)), gid, _U32.pack(hash_count)])

    def computed_merkle_root(self) -> bytes:
        """Merkle root recomputed over :attr:`block_hashes`."""
        h = _sha256
        return merkle_root_from_leaf_hashes([h(_LEAF + x).digest() for x in self.block_hashes])

    def replace(self, **changes) -> "GeneratorBlock":
        """A copy with some fields changed (signature kept unless given).

        Raises
        ------
        ValueError
            As the constructor.
        """
        fields = dict(prev_hash=self.prev_hash, height=self.height, timestamp_s=self.timestamp_s,
                      merkle_root=self.merkle_root, generator_id=self.generator_id,
                      block_hashes=self.block_hashes, signature=self.signature)
        fields.update(changes)
        return GeneratorBlock(**fields)

    @classmethod
    def from_bytes(cls, raw) -> "GeneratorBlock":
        """Decode a generator block from received bytes.

        Returns
        -------
        GeneratorBlock

        Raises
        ------
        BlockFormatError
            On any malformed input (wrong magic or version, truncation, bad
            lengths, invalid UTF-8, non-finite timestamp, hashes not strictly
            increasing, trailing bytes), naming the offset and what was
            expected.  Never any other exception.
        """
        r = _Reader(raw, "generator block")
        r.magic(GENERATOR_MAGIC, "generator block")
        prev = r.take(HASH_BYTES, "previous block hash")
        height = r.u64("height")
        ts = r.f64("timestamp_s")
        root = r.take(HASH_BYTES, "Merkle root")
        gid = r.text("generator ID", allow_slash=False)
        count_at = r.pos
        count = r.u32("hash count")
        header_len = r.pos
        n = len(r.raw)
        if count * HASH_BYTES != n - header_len - SIGNATURE_BYTES:
            raise r.fail(f"hash count matching the remaining {n - header_len} bytes "
                         f"({HASH_BYTES} per hash plus a {SIGNATURE_BYTES}-byte signature), "
                         f"got {count}", count_at)
        hashes = []
        prev_h = None
        for k in range(count):
            at = r.pos
            x = r.take(HASH_BYTES, f"block hash {k}")
            if prev_h is not None and x <= prev_h:
                raise r.fail(f"block hash {k} greater than hash {k - 1} (strictly increasing)", at)
            hashes.append(x)
            prev_h = x
        sig = r.take(SIGNATURE_BYTES, "signature")
        r.end()
        blk = cls.__new__(cls)
        blk.version = FORMAT_VERSION
        blk.prev_hash = prev
        blk.height = height
        blk.timestamp_s = ts
        blk.merkle_root = root
        blk.generator_id = gid
        blk.block_hashes = tuple(hashes)
        blk.signature = sig
        blk._raw = r.raw
        blk._header_len = header_len
        blk._hash = None
        return blk

    def __repr__(self):
        return (f"GeneratorBlock(generator_id={self.generator_id!r}, height={self.height}, "
                f"timestamp_s={self.timestamp_s!r}, blocks={len(self.block_hashes)}, "
                f"hash={self.hash().hex()[:16]}…)")
