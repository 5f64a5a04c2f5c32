"""Helpers shared by the trace readers (not public API)."""

from __future__ import annotations

import gzip
import os
import re
import zlib
from pathlib import Path

import pandas as pd

from cppsns3.errors import TraceFormatError

#: ns-3 ``Time`` unit suffixes (``Time::As``/``operator<<``) in seconds.
TIME_UNITS = {
    "y": 365.0 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "min": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "ns": 1e-9,
    "ps": 1e-12,
    "fs": 1e-15,
}

_TIME_RE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(y|d|h|min|s|ms|us|ns|ps|fs)?\s*$")

#: Default number of rows per chunk of the ``iter_*`` readers.
DEFAULT_CHUNK_ROWS = 100_000

#: Range of the nullable ``Int64`` columns; a number outside it is a format error.
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

#: What a corrupt or truncated gzip stream raises while it is read.
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def parse_time_s(text: str) -> float:
    """Seconds of an ns-3 time string such as ``+1.00667e+08ns`` or ``0.5s``.

    A bare number is taken as nanoseconds (how ns-3 prints a Time without a
    unit in its default resolution).

    Raises
    ------
    ValueError
        If ``text`` is not a number with an optional ns-3 unit suffix.
    """
    m = _TIME_RE.match(text)
    if m is None:
        raise ValueError(f"not an ns-3 time: {text!r}")
    value = float(m.group(1))
    unit = m.group(2) or "ns"
    return value * TIME_UNITS[unit]


def check_path(path) -> Path:
    """Return ``path`` as a Path; raise FileNotFoundError if it is not a file.

    Raises
    ------
    FileNotFoundError
        If the file does not exist or is a directory.
    """
    p = Path(os.fspath(path))
    if not p.is_file():
        raise FileNotFoundError(f"trace file not found: {p}")
    return p


class _GzipTrace:
    """A ``.gz`` trace read on the fly; a corrupt stream raises TraceFormatError.

    gzip reports a bad header, a bad CRC or a cut stream as ``BadGzipFile``,
    ``zlib.error`` or ``EOFError`` from whichever read meets it; this wrapper
    turns them into the readers' error, naming the file and how many
    decompressed bytes were delivered before it.
    """

    def __init__(self, path: Path):
        self.path = path
        self.name = str(path)
        self.fh = gzip.open(path, "rb")
        self.pos = 0

    def _bad(self, exc) -> TraceFormatError:
        return fail(self.path, f"corrupt or truncated gzip stream after {self.pos} decompressed bytes "
                               f"({type(exc).__name__}: {exc})")

    def read(self, n=-1):
        try:
            data = self.fh.read(n)
        except _GZIP_ERRORS as exc:
            raise self._bad(exc) from None
        self.pos += len(data)
        return data

    def readline(self, limit=-1):
        try:
            data = self.fh.readline(limit)
        except _GZIP_ERRORS as exc:
            raise self._bad(exc) from None
        self.pos += len(data)
        return data

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def close(self):
        self.fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def open_binary(path: Path):
    """Open a trace for reading bytes; ``.gz`` files are decompressed on the fly.

    A corrupt or truncated ``.gz`` stream raises TraceFormatError from the read
    that meets it.
    """
    if path.suffix == ".gz":
        return _GzipTrace(path)
    return open(path, "rb")


def fail(path, what: str, *, line: int | None = None, byte: int | None = None) -> TraceFormatError:
    """Build the TraceFormatError every reader raises: file, offset, what is wrong."""
    where = []
    if line is not None:
        where.append(f"line {line}")
    if byte is not None:
        where.append(f"byte offset {byte}")
    loc = f" at {', '.join(where)}" if where else ""
    return TraceFormatError(f"{path}{loc}: {what}")


def out_of_int64(values):
    """The first int in ``values`` outside the ``Int64`` range, or None."""
    for v in values:
        if isinstance(v, int) and not INT64_MIN <= v <= INT64_MAX:
            return v
    return None


def typed_frame(cols, columns, int_columns) -> pd.DataFrame:
    """A DataFrame of ``columns`` from column lists; nullable ints, float ``time_s``."""
    df = pd.DataFrame(cols, columns=list(columns))
    for c in int_columns:
        df[c] = pd.array(df[c], dtype="Int64")
    df["time_s"] = df["time_s"].astype(float)
    return df
