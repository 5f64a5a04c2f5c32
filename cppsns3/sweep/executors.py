"""Where the runs execute: a local pool of run servers, or a Dask cluster.

Both yield finished rows in completion order; both execute a task the same
way (:meth:`cppsns3.sweep.worker.RunServer.execute` on a per-thread run
server), so they give the same rows.
"""

from __future__ import annotations

import atexit
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from cppsns3.errors import ScenarioError, SimulationError
from cppsns3.sweep.worker import ABORT_HOOK_ENV, RunServer, close_servers, dask_execute, failed_row

__all__ = ["LocalExecutor", "DaskExecutor", "default_workers", "close_idle_servers"]


# Idle warm run servers of this process, kept for the next sweep of the same
# scenario (a notebook or a test session runs many).  A server is reused only for
# the scenario it warmed up on and under the same environment, so a reused
# server's state is exactly that of a fresh one: its runs happen in children.
_IDLE: dict = {}
_IDLE_LOCK = threading.Lock()


def _idle_key(warm: bool, scenario: str):
    return (warm, scenario, os.environ.get(ABORT_HOOK_ENV, ""))


def _take_idle(warm: bool, scenario: str):
    with _IDLE_LOCK:
        stack = _IDLE.get(_idle_key(warm, scenario), [])
        while stack:
            srv = stack.pop()
            if srv.proc is not None and srv.proc.poll() is None:
                return srv
    return None


def _give_idle(srv, warm: bool, scenario: str) -> None:
    if srv.proc is None or srv.proc.poll() is not None:
        srv.close()
        return
    with _IDLE_LOCK:
        _IDLE.setdefault(_idle_key(warm, scenario), []).append(srv)


def close_idle_servers() -> int:
    """Stop the idle run servers kept by :class:`LocalExecutor`; return how many."""
    with _IDLE_LOCK:
        servers = [srv for stack in _IDLE.values() for srv in stack]
        _IDLE.clear()
    for srv in servers:
        srv.close()
    return len(servers)


atexit.register(close_idle_servers)


def default_workers() -> int:
    """Cores this process may use (``os.sched_getaffinity``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class LocalExecutor:
    """Run tasks on ``workers`` run servers of this machine.

    Each of ``workers`` threads of the parent owns one run server process and
    feeds it one task at a time; the server forks one child per run.  After
    the sweep, the servers stay idle in this process for the next sweep of
    the same scenario (:func:`close_idle_servers` stops them; so does exit).

    Parameters
    ----------
    workers : int, optional
        Concurrent runs (default: the usable cores).
    warm : bool
        Warm run servers (see :mod:`cppsns3.sweep.worker`).

    Raises
    ------
    ScenarioError
        If ``workers`` is not a positive integer.
    """

    name = "local"

    def __init__(self, workers: int | None = None, warm: bool = True):
        workers = default_workers() if workers is None else workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ScenarioError(f"--workers: must be an integer >= 1, got {workers!r}")
        self.workers = workers
        self.warm = warm
        self.description = f"{workers} local worker(s)"

    def run(self, tasks):
        """Yield one row per task, in completion order."""
        tasks = list(tasks)
        if not tasks:
            return
        lock = threading.Lock()
        queue = iter(tasks)
        servers: list[RunServer] = []
        stop = threading.Event()

        def next_task():
            with lock:
                return None if stop.is_set() else next(queue, None)

        scenario = tasks[0].scenario

        def loop(results):
            srv = _take_idle(self.warm, scenario) or RunServer(self.warm)
            with lock:
                servers.append(srv)
            try:
                while (task := next_task()) is not None:
                    results.append(srv.execute(task))
                    ready.release()
            except BaseException:
                srv.close()
                raise
            if stop.is_set():
                srv.close()
            else:
                _give_idle(srv, self.warm, scenario)

        results: list = []
        ready = threading.Semaphore(0)
        n = min(self.workers, len(tasks))
        pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="cppsns3-sweep")
        futures = [pool.submit(loop, results) for _ in range(n)]
        try:
            for _ in range(len(tasks)):
                while not ready.acquire(timeout=0.2):
                    done, _pending = wait(futures, timeout=0, return_when=FIRST_COMPLETED)
                    for f in done:
                        if f.exception() is not None:
                            raise SimulationError(f"sweep worker thread failed: {f.exception()}")
                    if all(f.done() for f in futures):
                        return
                with lock:
                    row = results.pop(0)
                yield row
        finally:
            if not all(f.done() for f in futures):
                # Interrupted (Ctrl-C, an error): terminate the runs still going.
                stop.set()
                with lock:
                    live = list(servers)
                for srv in live:
                    srv.close(timeout_s=2.0)
            pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Submit tasks to a Dask distributed cluster.

    Each task runs on a Dask worker thread, in that thread's run server (a
    process the worker starts; the worker itself never loads ns-3).  The
    workers need cppsns3 installed and, for a scenario file, the same path.

    Parameters
    ----------
    scheduler : str or distributed.Client
        Scheduler address (``tcp://host:8786``) or a connected client.
    warm : bool
        Warm run servers.
    timeout_s : float
        Connection timeout.

    Raises
    ------
    ScenarioError
        If the scheduler cannot be reached.
    """

    name = "dask"

    def __init__(self, scheduler, warm: bool = True, timeout_s: float = 10.0):
        from distributed import Client

        self.warm = warm
        if isinstance(scheduler, Client):
            self.client, self._own = scheduler, False
        else:
            try:
                self.client = Client(scheduler, timeout=f"{timeout_s}s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ScenarioError(f"--scheduler: cannot connect to {scheduler!r}: "
                                    f"{' '.join(str(exc).split())}") from None
            self._own = True
        nthreads = sum(self.client.nthreads().values())
        self.description = f"Dask cluster {self.client.scheduler.address} ({nthreads} worker thread(s))"

    def run(self, tasks):
        """Yield one row per task, in completion order."""
        from distributed import as_completed

        tasks = list(tasks)
        if not tasks:
            return
        futures = {}
        try:
            for t in tasks:
                fut = self.client.submit(dask_execute, t, self.warm, pure=False, key=f"cppsns3-run-{t.key}-"
                                         f"{os.urandom(4).hex()}")
                futures[fut.key] = (fut, t)
            for fut in as_completed([f for f, _ in futures.values()]):
                task = futures[fut.key][1]
                try:
                    row = fut.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker must not stop the sweep
                    row = failed_row(task, f"{task.label}: Dask task failed: {type(exc).__name__}: {exc}")
                yield row
        finally:
            pending = [f for f, _ in futures.values() if not f.done()]
            if pending:
                self.client.cancel(pending)
            try:
                self.client.run(close_servers)
            except Exception:  # noqa: BLE001 - best effort on a shutting-down cluster
                pass
            if self._own:
                self.client.close()
