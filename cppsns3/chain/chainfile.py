"""Chain files (``.cpchain``): a whole chain in one file, verifiable on its own.

A chain file holds what a verifier needs and nothing else: the registrations
(the registration contract is on the chain: terminal ID, bus and Ed25519
public key of every terminal, plus the grid's buses), the data-acquisition
tolerance Δt, and then one record per round — the generator block and the
round's data blocks, each as its own encoding (:mod:`cppsns3.chain.block`),
length-prefixed.  A SHA-256 over the header and one over the whole file (in
the end record) detect truncation and corruption of what the signatures do
not cover.  The layout is tabled in ``docs/chain.md`` ("Chain files").

Writing streams: :class:`ChainFileWriter` writes each round when it is
appended and keeps none of it, and it writes under a temporary name in the
same folder, renamed to the final name only by :meth:`ChainFileWriter.close`
(an interrupted run never leaves a half-written file under the final name).
Encoding is deterministic: the same registry, tolerance and rounds give the
same bytes.

Reading streams too: :func:`verify_chain_file` decodes one round at a time
and validates it against the previous one exactly as
:meth:`cppsns3.chain.Chain.validate` does, holding only the previous
generator block and the hashes seen so far.  :func:`read_chain` loads the
whole :class:`~cppsns3.chain.Chain` (decoded, not validated).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import atomic
from ..errors import BlockFormatError
from .block import DataBlock, GeneratorBlock
from .chain import Chain, ChainError
from .contracts import Registry, RegistrationError, _norm_bus

__all__ = [
    "CHAIN_FILE_MAGIC",
    "CHAIN_FILE_VERSION",
    "CHAIN_FILE_SUFFIX",
    "ChainFileError",
    "ChainFileWriter",
    "ChainReport",
    "write_chain",
    "read_chain",
    "verify_chain_file",
]

CHAIN_FILE_MAGIC = b"CPCF"
CHAIN_FILE_VERSION = 1
CHAIN_FILE_SUFFIX = ".cpchain"
ROUND_TAG = b"R"
END_TAG = b"E"
DIGEST_BYTES = 32
#: Reason prefix of a report on bytes that do not decode.
FORMAT_ERROR = "format error"

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_F64 = struct.Struct(">d")
_PREFIX_BYTES = 4 + 1 + 4          # magic, version, header length
_BUS_INT, _BUS_NAME = 0, 1
_MIN_BUS = 1 + 2 + 1               # kind, length, one byte
_MIN_REGISTRATION = 2 + 1 + _MIN_BUS + 32
_FLAG_ONE_PER_BUS = 1


class ChainFileError(BlockFormatError):
    """A chain file that does not decode (truncated, corrupted, not a chain file).

    Attributes
    ----------
    path : str
        The file.
    offset : int
        Byte offset in the file where the bad part starts.
    height : int
        The round being read (0 in the header; the number of rounds in the
        end record).
    where : str
        ``"header"``, ``"round H"``, ``"round H generator block"``,
        ``"round H data block I"`` or ``"end record"``.
    detail : str
        What was expected there and what was found, with ``where`` and
        ``offset`` (the message without the path).
    """

    def __init__(self, path: str, offset: int, height: int, where: str, expected: str):
        self.path = path
        self.offset = offset
        self.height = height
        self.where = where
        self.detail = f"{where}: at offset {offset}: expected {expected}"
        super().__init__(f"{path}: {self.detail}")


# ----------------------------------------------------------------------------- encoding

def _text(name: str, value: str) -> bytes:
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} {value!r} is not encodable as UTF-8 ({exc.reason})") from None
    if len(raw) > 0xFFFF:
        raise ValueError(f"{name} is {len(raw)} UTF-8 bytes, at most 65535 allowed")
    return _U16.pack(len(raw)) + raw


def _bus_key(bus) -> tuple:
    return (_BUS_INT, bus, "") if isinstance(bus, int) else (_BUS_NAME, 0, bus)


def _encode_bus(bus) -> bytes:
    if isinstance(bus, int):
        return _U8.pack(_BUS_INT) + _text("bus", str(int(bus)))
    if isinstance(bus, str):
        return _U8.pack(_BUS_NAME) + _text("bus", bus)
    raise ValueError(f"bus must be an int or a str, got {bus!r}")


def _u32(name: str, n: int) -> bytes:
    if n > 0xFFFFFFFF:
        raise ValueError(f"{name} is {n}, at most {0xFFFFFFFF} fits a chain file")
    return _U32.pack(n)


def _encode_header(registry: Registry, tolerance_s: float) -> bytes:
    buses = sorted(registry.buses, key=_bus_key)
    regs = registry.registrations()
    body = b"".join([
        _U8.pack(_FLAG_ONE_PER_BUS if registry.one_terminal_per_bus else 0),
        _F64.pack(tolerance_s),
        _u32("bus count", len(buses)), *(_encode_bus(b) for b in buses),
        _u32("registration count", len(regs)),
        *(_text("terminal_id", r.terminal_id) + _encode_bus(r.bus) + r.public_key for r in regs),
    ])
    head = CHAIN_FILE_MAGIC + _U8.pack(CHAIN_FILE_VERSION) + _u32("header length", len(body)) + body
    return head + hashlib.sha256(head).digest()


def _check_tolerance(tolerance_s) -> float:
    try:
        tol = float(tolerance_s)
    except (TypeError, ValueError):
        raise ValueError(f"tolerance_s must be a number of seconds >= 0, got {tolerance_s!r}") from None
    if math.isnan(tol) or tol < 0:
        raise ValueError(f"tolerance_s must be a number of seconds >= 0, got {tolerance_s!r}")
    return tol


class ChainFileWriter:
    """Write a chain file round by round (streaming), atomically on close.

    The header (registrations of ``registry`` as they are now, and
    ``tolerance_s``) is written at once; each :meth:`append` writes one round
    and keeps nothing of it.  The bytes go to a temporary file beside
    ``path`` (``.NAME.PID-XXXXXX.part.EXT``, :func:`cppsns3.atomic.temp_name`); :meth:`close` writes the end record,
    syncs and renames it to ``path``.  As a context manager the writer
    closes on a normal exit and :meth:`abort` s (deletes the temporary file,
    leaves ``path`` untouched) on an exception.

    The writer does not validate the rounds (that is
    :func:`verify_chain_file`'s job): it writes what it is given.

    Parameters
    ----------
    path : str or os.PathLike
        The final file (by convention ending in ``.cpchain``); replaced if it
        exists.
    registry : Registry
        The registered terminals; all must be registered before the writer
        is created.
    tolerance_s : float
        Δt of the chain (:class:`~cppsns3.chain.Chain`'s ``tolerance_s``).

    Raises
    ------
    TypeError
        If ``registry`` is not a :class:`Registry`.
    ValueError
        If ``tolerance_s`` is negative or NaN, or a registration cannot be
        encoded.
    OSError
        If the temporary file cannot be created or written.

    Examples
    --------
    >>> w = ChainFileWriter(path, registry, 60.0)      # doctest: +SKIP
    >>> w.append(generator_block, data_blocks)         # doctest: +SKIP
    >>> w.close()                                      # doctest: +SKIP
    """

    def __init__(self, path, registry: Registry, tolerance_s: float):
        if not isinstance(registry, Registry):
            raise TypeError(f"registry must be a Registry, got {type(registry).__name__}")
        header = _encode_header(registry, _check_tolerance(tolerance_s))
        self.path = Path(path)
        self.registry = registry
        self._registered = len(registry)
        self.temp_path = atomic.temp_name(self.path)
        atomic.register_temporary(self.temp_path)  # removed by an interrupted run's cleanup too
        fd = os.open(self.temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
        self._f = os.fdopen(fd, "wb")
        self._sha = hashlib.sha256()
        self._height = 0
        self._closed = False
        self._guard(self._write, header)

    @property
    def height(self) -> int:
        """Rounds written so far."""
        return self._height

    @property
    def closed(self) -> bool:
        """True after :meth:`close` or :meth:`abort`."""
        return self._closed

    def _write(self, *parts: bytes) -> None:
        for p in parts:
            self._f.write(p)
            self._sha.update(p)

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except BaseException:
            self.abort()
            raise

    def _write_round(self, gen: bytes, data: Sequence[bytes]) -> None:
        self._write(ROUND_TAG, _U32.pack(len(gen)), gen, _U32.pack(len(data)))
        for raw in data:
            self._write(_U32.pack(len(raw)), raw)

    def append(self, generator_block: GeneratorBlock, data_blocks: Sequence[DataBlock]) -> None:
        """Write one round: its generator block and its data blocks, in order.

        Raises
        ------
        TypeError
            If the arguments are not blocks (nothing is written).
        ValueError
            If the writer is closed, the registry gained terminals after the
            header was written, or a block is too large for a u32 length
            (nothing is written).
        OSError
            If writing fails (the writer is then aborted).
        """
        if self._closed:
            raise ValueError(f"{self.path}: the chain file writer is closed")
        if not isinstance(generator_block, GeneratorBlock):
            raise TypeError(f"round {self._height}: expected a GeneratorBlock, got "
                            f"{type(generator_block).__name__}")
        blocks = list(data_blocks)
        for i, d in enumerate(blocks):
            if not isinstance(d, DataBlock):
                raise TypeError(f"round {self._height} data block {i}: expected a DataBlock, got "
                                f"{type(d).__name__}")
        data = [d.to_bytes() for d in blocks]
        if len(self.registry) != self._registered:
            raise ValueError(f"{self.path}: {len(self.registry) - self._registered} terminal(s) "
                             f"registered after the chain file's header was written; register "
                             f"every terminal before creating the ChainFileWriter")
        gen = generator_block.to_bytes()
        for name, n in [("generator block size", len(gen)), ("data block count", len(data)),
                        *(("data block size", len(d)) for d in data)]:
            _u32(f"round {self._height} {name}", n)
        self._guard(self._write_round, gen, data)
        self._height += 1

    def _finish(self) -> None:
        self._write(END_TAG, _U64.pack(self._height))
        self._f.write(self._sha.digest())
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        atomic.commit_temporary(self.temp_path, self.path, sync=False)

    def close(self) -> None:
        """Write the end record and rename the file to its final name (idempotent).

        Raises
        ------
        OSError
            If writing or renaming fails (the temporary file is removed).
        """
        if self._closed:
            return
        self._guard(self._finish)
        self._closed = True

    def abort(self) -> None:
        """Discard the file: close and delete the temporary file; ``path`` is not touched."""
        self._closed = True
        try:
            self._f.close()
        except OSError:
            pass
        atomic.discard_temporary(self.temp_path)

    def __enter__(self) -> "ChainFileWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self):
        state = "closed" if self._closed else "open"
        return f"ChainFileWriter({str(self.path)!r}, rounds={self._height}, {state})"


def write_chain(path, chain: Chain) -> Path:
    """Write a whole :class:`~cppsns3.chain.Chain` to a chain file (not validated).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError, ValueError, OSError
        As :class:`ChainFileWriter`.
    """
    with ChainFileWriter(path, chain.registry, chain.tolerance_s) as w:
        for gen, data in chain.rounds:
            w.append(gen, data)
    return w.path


# ----------------------------------------------------------------------------- decoding

class _Stream:
    """Bounds-checked cursor over a binary file; offsets are file offsets."""

    def __init__(self, f, size: int, path: str, base: int = 0):
        self.f = f
        self.size = size
        self.path = path
        self.pos = base
        self.sha = hashlib.sha256()
        self.height = 0
        self.where = "header"

    def fail(self, expected: str, offset: int | None = None) -> ChainFileError:
        return ChainFileError(self.path, self.pos if offset is None else offset, self.height,
                              self.where, expected)

    @property
    def left(self) -> int:
        return self.size - self.pos

    def take(self, n: int, expected: str, *, hashed: bool = True) -> bytes:
        if n > self.left:
            raise self.fail(f"{expected} ({n} byte{'s' * (n != 1)}), found only {self.left} "
                            f"(truncated)")
        raw = self.f.read(n)
        if len(raw) != n:
            raise self.fail(f"{expected} ({n} bytes), the file ended after {len(raw)} (it shrank)")
        if hashed:
            self.sha.update(raw)
        self.pos += n
        return raw

    def num(self, fmt: struct.Struct, expected: str):
        return fmt.unpack(self.take(fmt.size, expected))[0]

    def count(self, expected: str, min_bytes: int) -> int:
        at = self.pos
        n = self.num(_U32, expected)
        if n * min_bytes > self.left:
            raise self.fail(f"{expected} that fits the remaining {self.left} bytes (at least "
                            f"{min_bytes} per item), got {n}", at)
        return n

    def text(self, expected: str) -> str:
        at = self.pos
        n = self.num(_U16, f"length of {expected}")
        if n == 0:
            raise self.fail(f"a non-empty {expected}", at)
        raw = self.take(n, expected)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.fail(f"{expected} as UTF-8 ({exc.reason})", at + 2 + exc.start) from None

    def bus(self, expected: str):
        at = self.pos
        kind = self.num(_U8, f"kind of {expected} (0 integer, 1 name)")
        if kind not in (_BUS_INT, _BUS_NAME):
            raise self.fail(f"kind of {expected} 0 (integer) or 1 (name), got {kind}", at)
        s = self.text(expected)
        if kind == _BUS_NAME:
            if not isinstance(_norm_bus(s), str):
                raise self.fail(f"{expected} name that is not an integer (those are kind 0), "
                                f"got {s!r}", at)
            return s
        try:
            b = int(s)
        except ValueError:
            b = None
        if b is None or str(b) != s:
            raise self.fail(f"{expected} as a decimal integer, got {s!r}", at)
        return b


class _Decoder:
    """Decodes a chain file: :meth:`header`, then :meth:`rounds` (end record checked last)."""

    def __init__(self, f, path):
        self.path = os.fspath(path)
        self.s = _Stream(f, os.fstat(f.fileno()).st_size, self.path)

    def header(self) -> tuple[Registry, float]:
        s = self.s
        magic = s.take(4, f"magic {CHAIN_FILE_MAGIC!r} of a chain file")
        if magic != CHAIN_FILE_MAGIC:
            raise s.fail(f"magic {CHAIN_FILE_MAGIC!r} of a chain file, got {magic!r}", 0)
        version = s.num(_U8, "format version")
        if version != CHAIN_FILE_VERSION:
            raise s.fail(f"format version {CHAIN_FILE_VERSION}, got {version}", 4)
        n = s.num(_U32, "header length")
        if n > s.left - DIGEST_BYTES:
            raise s.fail(f"header length of at most {max(s.left - DIGEST_BYTES, 0)} (the rest of "
                         f"the file less the header SHA-256), got {n}", 5)
        body = s.take(n, "header body")
        digest = s.take(DIGEST_BYTES, "header SHA-256")
        head = CHAIN_FILE_MAGIC + _U8.pack(version) + _U32.pack(n) + body
        if hashlib.sha256(head).digest() != digest:
            raise s.fail("header SHA-256 matching the header bytes (the header is corrupted)",
                         _PREFIX_BYTES + n)
        return self._header_body(_Stream(io.BytesIO(body), _PREFIX_BYTES + n, self.path,
                                         _PREFIX_BYTES))

    @staticmethod
    def _header_body(h: _Stream) -> tuple[Registry, float]:
        flags_at = h.pos
        flags = h.num(_U8, "flags")
        if flags & ~_FLAG_ONE_PER_BUS:
            raise h.fail(f"flags 0 or 1 (bit 0: one terminal per bus), got {flags}", flags_at)
        tol_at = h.pos
        tol = h.num(_F64, "tolerance_s")
        if math.isnan(tol) or tol < 0:
            raise h.fail(f"tolerance_s >= 0, got {tol!r}", tol_at)
        buses = []
        for k in range(h.count("bus count", _MIN_BUS)):
            at = h.pos
            b = h.bus(f"bus {k}")
            if buses and _bus_key(b) <= _bus_key(buses[-1]):
                raise h.fail(f"bus {k} after bus {k - 1} {buses[-1]!r} (integers ascending, then "
                             f"names ascending, no repeats), got {b!r}", at)
            buses.append(b)
        registry = Registry(buses, one_terminal_per_bus=bool(flags & _FLAG_ONE_PER_BUS))
        for k in range(h.count("registration count", _MIN_REGISTRATION)):
            at = h.pos
            tid = h.text(f"registration {k} terminal_id")
            bus = h.bus(f"registration {k} bus")
            key = h.take(32, f"registration {k} public key")
            try:
                registry.register(tid, bus, key)
            except RegistrationError as exc:
                raise h.fail(f"registration {k} ({tid!r}) accepted by the registration contract, "
                             f"refused ({exc.reason}): {exc}", at) from None
        if h.left:
            raise h.fail(f"end of the header body, found {h.left} more bytes")
        return registry, tol

    def _block(self, cls, expected: str):
        s = self.s
        n = s.num(_U32, f"{expected} length")
        at = s.pos
        raw = s.take(n, expected)
        try:
            return cls.from_bytes(raw)
        except BlockFormatError as exc:
            raise s.fail(f"a {expected} that decodes: {exc}", at) from None

    def rounds(self) -> Iterator[tuple[GeneratorBlock, tuple[DataBlock, ...]]]:
        s = self.s
        h = 0
        while True:
            s.height = h
            s.where = f"round {h}"
            at = s.pos
            tag = s.take(1, f"round record {ROUND_TAG!r} or end record {END_TAG!r}")
            if tag == END_TAG:
                break
            if tag != ROUND_TAG:
                raise s.fail(f"round record {ROUND_TAG!r} or end record {END_TAG!r}, got {tag!r}",
                             at)
            s.where = f"round {h} generator block"
            gen = self._block(GeneratorBlock, "generator block")
            s.where = f"round {h}"
            data = []
            for i in range(s.count("data block count", 4)):
                s.where = f"round {h} data block {i}"
                data.append(self._block(DataBlock, "data block"))
            yield gen, tuple(data)
            h += 1
        s.where = "end record"
        at = s.pos
        n = s.num(_U64, "round count")
        if n != h:
            raise s.fail(f"round count {h} (the rounds before the end record), got {n}", at)
        at = s.pos
        expected = s.sha.digest()
        if s.take(DIGEST_BYTES, "file SHA-256", hashed=False) != expected:
            raise s.fail("file SHA-256 matching the bytes before it (the file is corrupted)", at)
        if s.left:
            raise s.fail(f"end of file after the file SHA-256, found {s.left} more bytes")


def read_chain(path) -> Chain:
    """Load a chain file as a :class:`~cppsns3.chain.Chain` (decoded, not validated).

    Call :meth:`Chain.validate` (or use :func:`verify_chain_file`) to
    validate it; :meth:`Chain.append` continues it.

    Returns
    -------
    Chain
        Its registry holds the file's registrations; ``tolerance_s`` is the file's.

    Raises
    ------
    ChainFileError
        If the file does not decode (a :class:`~cppsns3.errors.BlockFormatError`),
        naming the offset, the round and what was expected.
    OSError
        If the file cannot be opened or read.
    """
    with open(path, "rb") as f:
        dec = _Decoder(f, path)
        registry, tolerance_s = dec.header()
        chain = Chain(registry, tolerance_s)
        for gen, data in dec.rounds():
            chain.rounds.append((gen, data))
            chain._seen.add(gen.hash())
            chain._seen.update(d.hash() for d in data)
    return chain


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain_file` found.

    Attributes
    ----------
    valid : bool
        The file decodes and the whole chain validates.
    height : int
        Rounds that verified: the chain's height (its number of rounds, the
        height the next generator block gets) when valid, else the number of
        leading rounds that decoded and validated, which equals
        ``first_bad_height``.
    first_bad_height : int or None
        The first round that does not verify (0 for a bad header; the number
        of rounds for a bad end record); None when valid.
    reason : str or None
        ``"REASON: DETAIL"``: REASON is a :mod:`cppsns3.chain.reasons`
        constant (``"bad signature"``, ``"merkle mismatch"``, ``"wrong
        height"``, ``"replay"``, ...) or ``"format error"`` for bytes that do
        not decode; DETAIL names the block (or the file offset).  None when
        valid.
    """

    valid: bool
    height: int
    first_bad_height: int | None
    reason: str | None

    def to_dict(self) -> dict:
        """``{"valid", "height", "first_bad_height", "reason"}`` (the ``--json`` object)."""
        return {"valid": self.valid, "height": self.height,
                "first_bad_height": self.first_bad_height, "reason": self.reason}


def _chain_reason(exc: ChainError) -> str:
    detail = str(exc).replace(f"): {exc.reason}: ", "): ", 1)
    return f"{exc.reason}: {detail}"


def verify_chain_file(path) -> ChainReport:
    """Decode a chain file and validate the whole chain, streaming.

    Each round is decoded whole, then checked as :meth:`Chain.validate`
    checks it (heights, previous-hash links, signatures, Merkle roots,
    replays, timestamps, coverage; ``docs/chain.md``); the end record's round
    count and the file SHA-256 are checked last.  Only the previous
    generator block and the hashes seen so far are held.

    Returns
    -------
    ChainReport
        ``valid=False`` with the first bad height and the reason for any
        content that does not verify (never an exception for bad content).

    Raises
    ------
    OSError
        If the file cannot be opened or read (missing, a folder, no permission).
    """
    height = 0
    with open(path, "rb") as f:
        dec = _Decoder(f, path)
        try:
            registry, tolerance_s = dec.header()
            checker = Chain(registry, tolerance_s)
            seen: set[bytes] = set()
            prev = None
            for gen, data in dec.rounds():
                seen.update(checker._check_round(height, prev, gen, data, seen))
                prev = gen
                height += 1
        except ChainFileError as exc:
            return ChainReport(False, height, exc.height, f"{FORMAT_ERROR}: {exc.detail}")
        except ChainError as exc:
            return ChainReport(False, height, exc.height, _chain_reason(exc))
    return ChainReport(True, height, None, None)
