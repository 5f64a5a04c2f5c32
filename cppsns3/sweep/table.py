"""Sweep results on disk: the run journal, ``runs.csv`` and ``aggregate.csv``.

``DIR/runs.jsonl`` is the journal: one JSON object per finished run, appended
with a single ``write`` and ``fsync`` as soon as the run ends, so an
interrupted sweep (Ctrl-C, kill, power loss) loses no finished run; a torn
last line is ignored on reading.  ``runs.csv`` and ``aggregate.csv`` are
rebuilt from it and replaced atomically (temporary file + ``os.replace``).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Journal", "runs_frame", "aggregate_frame", "write_csv_atomic", "write_json_atomic", "ci_name",
           "UNIT_SUFFIXES", "META_COLUMNS"]

#: Unit suffixes of column names; a CI column puts ``_ci95`` before them.
UNIT_SUFFIXES = ("_per_s", "_mbps", "_bytes", "_ms", "_km", "_mb", "_s")
#: Columns of a run row that are neither parameters nor figures.
META_COLUMNS = ("run_key", "run_index", "replication", "seed", "status", "error", "last_output")


def ci_name(column: str) -> str:
    """Name of the 95 % half-width column of ``column``.

    ``mean_time_in_system_s`` -> ``mean_time_in_system_ci95_s``;
    ``loss_probability`` -> ``loss_probability_ci95``.
    """
    for suffix in UNIT_SUFFIXES:
        if column.endswith(suffix) and len(column) > len(suffix):
            return column[: -len(suffix)] + "_ci95" + suffix
    return column + "_ci95"


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class Journal:
    """Append-only JSON-lines record of finished runs.

    Parameters
    ----------
    path : str or Path
        ``DIR/runs.jsonl``.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def load(self) -> dict:
        """Rows by run key (a later line for the same key wins); torn lines are skipped."""
        rows: dict = {}
        try:
            with open(self.path, "rb") as fh:
                for line in fh:
                    try:
                        row = json.loads(line)
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        continue
                    if isinstance(row, dict) and "run_key" in row:
                        rows[row["run_key"]] = row
        except FileNotFoundError:
            pass
        return rows

    def append(self, row: dict) -> None:
        """Append one row durably (one ``write`` of the whole line, then ``fsync``)."""
        line = (json.dumps({k: _clean(v) for k, v in row.items()}, allow_nan=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            # A torn previous line (killed mid-write) must not swallow this one.
            if os.fstat(fd).st_size > 0:
                with open(self.path, "rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":
                        line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic(path: Path, write) -> None:
    from cppsns3.atomic import atomic_open

    with atomic_open(Path(path), "w", encoding="utf-8", newline="") as fh:
        write(fh)


def write_csv_atomic(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as CSV to ``path`` through a temporary file and ``os.replace``."""
    _atomic(Path(path), lambda fh: frame.to_csv(fh, index=False, lineterminator="\n"))


def write_json_atomic(obj, path: str | Path) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    _atomic(Path(path), lambda fh: fh.write(json.dumps(obj, indent=2) + "\n"))


def runs_frame(tasks, rows: dict, param_names) -> pd.DataFrame:
    """One row per finished run of ``tasks``, in plan order.

    Columns: ``run_key, run_index, replication, seed``, the parameters,
    ``status``, the figures (in order of first appearance), ``error``,
    ``last_output`` and the ``*_wall_s`` columns last.
    """
    present = [rows[t.key] for t in tasks if t.key in rows]
    head = ["run_key", "run_index", "replication", "seed", *param_names, "status"]
    figures, walls = [], []
    seen = set(head) | {"error", "last_output"}
    for r in present:
        for k in r:
            if k not in seen:
                seen.add(k)
                (walls if k.endswith("_wall_s") else figures).append(k)
    cols = head + figures + ["error", "last_output"] + walls
    frame = pd.DataFrame(present, columns=cols)
    if not present:
        return frame
    # Plan index of this sweep (a journal row may come from a sweep with another plan).
    index = {t.key: t.index for t in tasks}
    frame["run_index"] = frame["run_key"].map(index)
    frame["error"] = frame["error"].fillna("")
    frame["last_output"] = frame["last_output"].fillna("")
    return frame


def _figure_columns(frame: pd.DataFrame, param_names) -> list:
    skip = set(META_COLUMNS) | set(param_names)
    cols = []
    for c in frame.columns:
        if c in skip or "_ci95" in c:
            continue
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]):
            cols.append(c)
    return cols


def aggregate_frame(runs: pd.DataFrame, param_names, varied_names) -> pd.DataFrame:
    """Means and 95 % CI half-widths over the replications of each parameter point.

    For each point (one row, in plan order): the parameters, ``runs``,
    ``replications_ok``, ``replications_failed``, then for every numeric
    figure ``X`` of the ok runs its mean ``X`` and, for measured figures
    (``measured_*``), ``ci_name(X)``: with two or more ok runs, the Student-t
    half-width over the replications, floored by the runs' own half-widths
    pooled for their mean (sqrt(sum hw_i**2) / n) where the runs have them;
    with a single ok run, that run's own half-width (batch means).  ``ci95_method`` says which
    (``replications``, ``within-run`` or empty).
    """
    from cppsns3.model.stats import t_half_width

    params = list(param_names)
    if runs.empty:
        return pd.DataFrame(columns=params + ["runs", "replications_ok", "replications_failed"])
    figures = _figure_columns(runs, params)
    key = runs[list(varied_names)].astype(str).agg("\x1f".join, axis=1) if varied_names else \
        pd.Series("", index=runs.index)
    out = []
    for _, group in runs.groupby(key, sort=False):
        ok = group[group["status"] == "ok"]
        rec = {p: group[p].iloc[0] for p in params}
        rec.update({"runs": len(group), "replications_ok": len(ok), "replications_failed": len(group) - len(ok)})
        method = "replications" if len(ok) >= 2 else ("within-run" if len(ok) == 1 else "")
        for c in figures:
            vals = pd.to_numeric(ok[c], errors="coerce").to_numpy(dtype=float)
            finite = vals[np.isfinite(vals)]
            rec[c] = float(finite.mean()) if finite.size else float("nan")
            if not c.startswith("measured_"):
                continue
            hw_col = ci_name(c)
            if len(ok) >= 2:
                hw = t_half_width(finite)
                if hw_col in ok.columns:
                    # Floor: the within-run half-widths pooled for the mean of the runs
                    # (replications that all saw no loss still get a non-zero interval).
                    within = pd.to_numeric(ok[hw_col], errors="coerce").to_numpy(dtype=float)
                    within = within[np.isfinite(within)]
                    if within.size:
                        hw = max(hw, float(np.sqrt(np.sum(within**2))) / within.size)
                rec[hw_col] = hw
            elif len(ok) == 1 and hw_col in ok.columns:
                rec[hw_col] = float(pd.to_numeric(ok[hw_col], errors="coerce").iloc[0])
            else:
                rec[hw_col] = float("nan")
        rec["ci95_method"] = method
        out.append(rec)
    frame = pd.DataFrame(out)
    walls = [c for c in frame.columns if c.endswith("_wall_s")]
    rest = [c for c in frame.columns if c not in walls]
    return frame[rest + walls]
