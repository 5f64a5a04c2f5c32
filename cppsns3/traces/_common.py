"""Helpers shared by the trace readers (not public API)."""

from __future__ import annotations

import gzip
import os
import re
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


def open_binary(path: Path):
    """Open a trace for reading bytes; ``.gz`` files are decompressed on the fly."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
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


def typed_frame(cols, columns, int_columns) -> pd.DataFrame:
    """A DataFrame of ``columns`` from column lists; nullable ints, float ``time_s``."""
    df = pd.DataFrame(cols, columns=list(columns))
    for c in int_columns:
        df[c] = pd.array(df[c], dtype="Int64")
    df["time_s"] = df["time_s"].astype(float)
    return df
