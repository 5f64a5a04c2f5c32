"""Execute sweep runs: one forked child per run, from a long-lived run server.

A *run server* is a fresh Python process (``python -m cppsns3.sweep._serve``)
that reads :class:`~cppsns3.sweep.spec.RunTask` objects on stdin and writes
result rows on stdout.  For each task it forks a child with
:func:`cppsns3.sim.runner.run_in_child`, so every run is one ns-3 simulation in
its own process and an abort in a run becomes a failed row.  A *warm* server
loads ns-3 and runs the scenario's warm-up once before its first task, so its
children start with the C++ code compiled: the per-run overhead drops from the
ns-3 load (seconds) to a fork (tens of milliseconds).  Every executor (local
pool, Dask) uses the same servers, hence the same process history, so a sweep
gives the same table wherever it runs.

The process that owns a server (the sweep's parent or a Dask worker) never
loads ns-3 itself.
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["execute_task", "RunServer", "server_for_thread", "close_servers", "dask_execute",
           "failed_row", "ABORT_HOOK_ENV"]

#: Test-only hook: JSON object of parameters; a run whose parameters match all of
#: them calls ``os.abort()`` in its child (tests use it to check failed rows).
ABORT_HOOK_ENV = "CPPSNS3_SWEEP_TEST_ABORT"
_HEADER = struct.Struct("!Q")


def _base_row(task) -> dict:
    row = {"run_key": task.key, "run_index": task.index, "replication": task.replication, "seed": task.seed}
    row.update(task.params)
    return row


def failed_row(task, error: str, last_output: str = "", run_wall_s: float | None = None) -> dict:
    """The row of a run that did not produce figures.

    Parameters
    ----------
    task : RunTask
    error : str
        One-line reason.
    last_output : str
        Last lines the run printed (newline-separated).
    run_wall_s : float, optional
        Wall-clock time spent on the run.
    """
    row = _base_row(task)
    row.update({"status": "failed", "error": " ".join(str(error).split()), "last_output": last_output})
    if run_wall_s is not None:
        row["run_wall_s"] = run_wall_s
    return row


def _child_run(task) -> dict:
    """Body of the forked child: the test hook, the ns-3 load and the scenario run."""
    t0 = time.perf_counter()
    import cppsns3.ns3  # noqa: F401 - already loaded in a warm server: costs nothing

    # cppyy answers a fatal signal by attaching gdb and printing a stack trace,
    # which is slow and buries the ns-3 message (NS_FATAL_ERROR, NS_ASSERT) that
    # the failed row's last output should show.  Die at once instead.
    for name in ("SIGABRT", "SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    hook = os.environ.get(ABORT_HOOK_ENV)
    if hook:
        match = json.loads(hook)
        if all(task.params.get(k) == v for k, v in match.items()):
            print(f"test hook: aborting {task.label}", flush=True)
            os.abort()
    t1 = time.perf_counter()
    from cppsns3.sweep.scenarios import get_adapter

    figures = get_adapter(task.scenario).run(task.params, task.seed)
    t2 = time.perf_counter()
    return {"figures": figures, "ns3_load_wall_s": t1 - t0, "sim_wall_s": t2 - t1}


def execute_task(task) -> dict:
    """Run one task in a forked child of this process; return its row.

    Never raises for a failed run: a crash, an abort or an error in the run
    becomes a row with ``status = "failed"``, the error and the last output.

    Returns
    -------
    dict
        ``run_key, run_index, replication, seed``, the parameters, ``status``,
        the scenario's figures, ``error``, ``last_output`` and the wall-clock
        columns ``run_wall_s`` (fork to result), ``sim_wall_s`` (the scenario
        function in the child), ``ns3_load_wall_s`` (ns-3 import in the child)
        and ``overhead_wall_s`` (``run_wall_s - sim_wall_s``).
    """
    from cppsns3.errors import CppsError
    from cppsns3.sim.runner import ChildFailure, run_in_child

    t0 = time.perf_counter()
    try:
        out = run_in_child(_child_run, task, label=task.label)
    except ChildFailure as exc:
        return failed_row(task, str(exc), exc.tail, time.perf_counter() - t0)
    except (CppsError, ValueError, OSError) as exc:
        return failed_row(task, f"{task.label} failed: {exc}", "", time.perf_counter() - t0)
    run_wall_s = time.perf_counter() - t0
    row = _base_row(task)
    row["status"] = "ok"
    row.update(out["figures"])
    row.update({"error": "", "last_output": "", "run_wall_s": run_wall_s, "sim_wall_s": out["sim_wall_s"],
                "ns3_load_wall_s": out["ns3_load_wall_s"],
                "overhead_wall_s": run_wall_s - out["sim_wall_s"]})
    return row


# --------------------------------------------------------------------------- server side

def _read_msg(fh):
    head = fh.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (n,) = _HEADER.unpack(head)
    data = fh.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)


def _write_msg(fh, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fh.write(_HEADER.pack(len(data)) + data)
    fh.flush()


def serve() -> None:
    """Main loop of a run server (``python -m cppsns3.sweep._serve [--warm]``)."""
    warm = "--warm" in sys.argv[1:]
    # The protocol owns the original stdout; anything else printed goes to stderr.
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    proto_in = sys.stdin.buffer
    # SIGTERM: exit through atexit, which terminates a running (daemonic) child too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    warmed: set = set()
    while True:
        task = _read_msg(proto_in)
        if task is None or task == "stop":
            break
        if warm and task.scenario not in warmed:
            from cppsns3.sweep.scenarios import get_adapter

            t0 = time.perf_counter()
            get_adapter(task.scenario).warmup()
            print(f"cppsns3 run server {os.getpid()}: warm-up of {task.scenario} "
                  f"took {time.perf_counter() - t0:.2f} s", file=sys.stderr, flush=True)
            warmed.add(task.scenario)
        _write_msg(proto_out, execute_task(task))


# --------------------------------------------------------------------------- client side

def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


class RunServer:
    """Client handle of one run server process.

    Parameters
    ----------
    warm : bool
        Load ns-3 and run the scenario's warm-up in the server once, before
        its first task (default).  A cold server's children load ns-3 each.

    Notes
    -----
    Not thread-safe: use one server per thread (:func:`server_for_thread`).
    """

    def __init__(self, warm: bool = True):
        self.warm = warm
        self.proc: subprocess.Popen | None = None
        self._log = None

    def _start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH")) if p)
        self._log = tempfile.TemporaryFile(prefix="cppsns3-runserver-")
        args = [sys.executable, "-m", "cppsns3.sweep._serve"] + (["--warm"] if self.warm else [])
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                     env=env, close_fds=True, start_new_session=True)

    def _log_tail(self, lines: int = 8) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace").splitlines()
        text = [ln for ln in text if ln.strip() and "Failed to materialize symbols" not in ln]
        return "\n".join(text[-lines:])

    def execute(self, task) -> dict:
        """Run ``task`` in the server; its row (a failed row if the server died).

        Returns
        -------
        dict
            As :func:`execute_task`.
        """
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        t0 = time.perf_counter()
        try:
            _write_msg(self.proc.stdin, task)
            row = _read_msg(self.proc.stdout)
        except (BrokenPipeError, OSError, EOFError, pickle.UnpicklingError):
            row = None
        if row is None:
            code = self.proc.wait()
            tail = self._log_tail()
            self.proc = None
            where = f" (last output: {' | '.join(tail.splitlines()[-3:])})" if tail else ""
            return failed_row(task, f"{task.label}: run server died (exit code {code}){where}", tail,
                              time.perf_counter() - t0)
        return row

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the server (it finishes nothing: a running task is terminated)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


_LOCAL = threading.local()
_ALL: list = []
_ALL_LOCK = threading.Lock()


def server_for_thread(warm: bool = True) -> RunServer:
    """This thread's run server (started on first use)."""
    srv = getattr(_LOCAL, "servers", {}).get(warm)
    if srv is None:
        srv = RunServer(warm)
        if not hasattr(_LOCAL, "servers"):
            _LOCAL.servers = {}
        _LOCAL.servers[warm] = srv
        with _ALL_LOCK:
            _ALL.append(srv)
    return srv


def close_servers() -> int:
    """Stop every run server this process started; return how many."""
    with _ALL_LOCK:
        servers = list(_ALL)
    # Threads keep their handles; a closed handle restarts its server on next use.
    n = sum(srv.proc is not None for srv in servers)
    for srv in servers:
        srv.close()
    return n


atexit.register(close_servers)


def dask_execute(task, warm: bool = True) -> dict:
    """Dask task body: run ``task`` on this worker thread's run server."""
    return server_for_thread(warm).execute(task)
