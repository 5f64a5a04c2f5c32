"""Run a sweep: plan, skip finished runs, execute, record, aggregate."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cppsns3.errors import ScenarioError
from cppsns3.sweep.spec import SweepSpec, load_sweep, plan_runs
from cppsns3.sweep.table import Journal, aggregate_frame, runs_frame, write_csv_atomic, write_json_atomic

__all__ = ["SweepResult", "run_sweep"]

#: Least time between two rewrites of runs.csv/aggregate.csv during a sweep
#: (the journal is written after every run regardless).
REWRITE_INTERVAL_S = 1.0


@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`.

    Attributes
    ----------
    out_dir : Path
    runs : DataFrame
        ``runs.csv``: one row per finished run of the sweep, in plan order.
    aggregate : DataFrame
        ``aggregate.csv``: one row per parameter point.
    total, ran, ok, failed, skipped, remaining : int
        Runs in the plan; run now; of those ok / failed; skipped as already
        done; still to do (``--max-runs`` or an interruption).
    executor : str
        Where the runs went.
    wall_s : float
        Wall-clock time of this invocation.
    """

    out_dir: Path
    runs: pd.DataFrame
    aggregate: pd.DataFrame
    total: int = 0
    ran: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    remaining: int = 0
    executor: str = ""
    wall_s: float = 0.0
    paths: dict = field(default_factory=dict)

    def to_json_dict(self) -> dict:
        """Summary for ``cppsns3 sweep --json``."""
        return {"out_dir": str(self.out_dir), "runs_total": self.total, "runs_ran": self.ran,
                "runs_ok": self.ok, "runs_failed": self.failed, "runs_skipped": self.skipped,
                "runs_remaining": self.remaining,
                "runs_failed_total": int((self.runs["status"] != "ok").sum()) if len(self.runs) else 0,
                "executor": self.executor, "sweep_wall_s": self.wall_s,
                "runs_csv": str(self.paths.get("runs")), "aggregate_csv": str(self.paths.get("aggregate"))}


class _Progress:
    """Rich progress bar on stderr: runs done, failed, remaining."""

    def __init__(self, enabled: bool, total: int, skipped: int, where: str):
        self.enabled = enabled and total > 0
        self.done = self.failed = 0
        self.total = total
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("sweep"), BarColumn(),
            TextColumn("done {task.fields[done]}/{task.total:.0f}  failed {task.fields[failed]}  "
                       "remaining {task.fields[remaining]}"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False,
        )
        if skipped:
            self.progress.console.print(f"sweep: {skipped} run(s) already done, skipped")
        self.progress.console.print(f"sweep: {total} run(s) on {where}")
        self.task = self.progress.add_task("sweep", total=total, done=0, failed=0, remaining=total)
        self.progress.start()

    def advance(self, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        if self.enabled:
            self.progress.update(self.task, advance=1, done=self.done, failed=self.failed,
                                 remaining=self.total - self.done)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()


def _executor(workers, scheduler, warm):
    if scheduler is not None:
        if workers is not None:
            raise ScenarioError(f"--workers: not used with --scheduler (the cluster's workers run the "
                                f"sweep), got {workers!r}")
        from cppsns3.sweep.executors import DaskExecutor

        return DaskExecutor(scheduler, warm=warm)
    from cppsns3.sweep.executors import LocalExecutor

    return LocalExecutor(workers, warm=warm)


def run_sweep(spec: SweepSpec | str | Path, out_dir: str | Path, workers: int | None = None, scheduler=None,
              max_runs: int | None = None, retry_failed: bool = False, progress: bool = True,
              warm: bool = True) -> SweepResult:
    """Run every run of a sweep not yet done in ``out_dir``; write the tables.

    Parameters
    ----------
    spec : SweepSpec or path
        The sweep (or its TOML file).
    out_dir : str or Path
        Output folder: ``runs.jsonl`` (journal), ``runs.csv``,
        ``aggregate.csv``, ``sweep.json``.  Runs already in its journal are
        skipped (keyed by parameters and seed).
    workers : int, optional
        Local concurrent runs (default: the usable cores).
    scheduler : str or distributed.Client, optional
        Run on this Dask cluster instead of locally.
    max_runs : int, optional
        Run at most this many of the pending runs now (the rest stay pending).
    retry_failed : bool
        Run again the runs whose recorded row is failed.
    progress : bool
        Show the progress bar on stderr.
    warm : bool
        Warm run servers: ns-3 loaded once per server, one fork per run.

    Returns
    -------
    SweepResult

    Raises
    ------
    ScenarioError
        If the sweep file, an option or the output folder is bad.
    """
    t_start = time.perf_counter()
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    if max_runs is not None and (isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 0):
        raise ScenarioError(f"--max-runs: must be an integer >= 0, got {max_runs!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out: not a folder: {str(out_dir)!r}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError(f"--out: cannot create {str(out_dir)!r}: {exc.strerror}") from None

    tasks = plan_runs(spec)
    params = list(spec.defaults)
    journal = Journal(out / "runs.jsonl")
    rows = journal.load()
    keys = {t.key for t in tasks}
    done_keys = {k for k, r in rows.items() if k in keys and (r.get("status") == "ok" or not retry_failed)}
    pending = [t for t in tasks if t.key not in done_keys]
    skipped = len(tasks) - len(pending)
    now = pending if max_runs is None else pending[:max_runs]

    paths = {"runs": out / "runs.csv", "aggregate": out / "aggregate.csv", "journal": journal.path,
             "spec": out / "sweep.json"}
    write_json_atomic(spec.to_json_dict(), paths["spec"])

    def write_tables():
        runs = runs_frame(tasks, rows, params)
        agg = aggregate_frame(runs, params, list(spec.vary))
        write_csv_atomic(runs, paths["runs"])
        write_csv_atomic(agg, paths["aggregate"])
        return runs, agg

    executor = _executor(workers, scheduler, warm) if now else None
    bar = _Progress(progress, len(now), skipped, executor.description if executor else "")
    ran = ok = 0
    last_write = time.monotonic()
    try:
        if executor is not None:
            for row in executor.run(now):
                journal.append(row)
                rows[row["run_key"]] = row
                ran += 1
                ok += row.get("status") == "ok"
                bar.advance(row.get("status") == "ok")
                if time.monotonic() - last_write >= REWRITE_INTERVAL_S:
                    write_tables()
                    last_write = time.monotonic()
    finally:
        bar.close()
        runs, agg = write_tables()
    return SweepResult(out_dir=out, runs=runs, aggregate=agg, total=len(tasks), ran=ran, ok=ok,
                       failed=ran - ok, skipped=skipped, remaining=len(pending) - ran,
                       executor=executor.description if executor else "none (nothing to run)",
                       wall_s=time.perf_counter() - t_start, paths=paths)
