#!/usr/bin/env python
"""Queueing-formula benchmark (issue 16): the O(K) summation against the O(1) closed forms.

1. Eq. 1 figures (P_loss, L and W, as ``port_figures`` needs them) for a vector
   of ``--ports`` loads rho in [0, 1.5): the former summation over the K + 1
   geometric weights (copied below as the reference) for K = 10, 1e3, 1e5,
   and the closed forms of :mod:`cppsns3.model.queueing` for K = 10 .. 1e9.
   Median wall time of one ``port_figures``-like evaluation (two calls:
   P_loss, then L and W; the summation did its whole work in each).
2. ``plan(ieee14, "all")`` with ``queue_capacity`` = 50, 1e5 and 1e9 (grid
   loading excluded, median of --repeats after a warm-up), with the closed
   forms and, where it fits in memory, with the summation swapped back in.

    python scripts/bench_queueing.py [--repeats 3] [--ports 64]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def summation_figures(rho, capacity, loss=True, mean=True):
    """The former implementation (O(K) time and memory per element).

    Normalised geometric weights ``rho^n / max_n rho^n``, n = 0..K.  Same
    return convention as ``cppsns3.model.queueing._figures``:
    ``(p_K, L, mu W)`` (all three always computed).
    """
    pk = np.empty(rho.shape)
    mean_n = np.empty(rho.shape)
    flat_r, flat_k = rho.ravel(), capacity.ravel()
    for k in np.unique(flat_k):
        sel = flat_k == k
        r = flat_r[sel][:, None]
        n = np.arange(k + 1)[None, :]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_r = np.log(r)
            expo = np.where(r <= 1.0, n, n - k)
            w = np.where(r == 0.0, (n == 0).astype(float), np.exp(expo * log_r))
        total = w.sum(axis=1)
        p = w / total[:, None]
        pk.ravel()[np.flatnonzero(sel)] = p[:, -1]
        mean_n.ravel()[np.flatnonzero(sel)] = (p * n).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu_w = mean_n / (rho * (1.0 - pk))
    return pk, mean_n, mu_w


def _median_time(fn, repeats: int, min_total_s: float = 0.2) -> float:
    """Median of at least ``repeats`` calls, more while they add up to under ``min_total_s``."""
    times = []
    while len(times) < repeats or (sum(times) < min_total_s and len(times) < 1000):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_formulas(ports: int, repeats: int) -> list[tuple]:
    from cppsns3.model import queueing as q

    rho = np.random.default_rng(1).uniform(0.0, 1.5, ports)
    rows = []
    for k in (10, 10**3, 10**5, 10**7, 10**9):
        r, kk = q._check(rho, k)
        # what port_figures asks for: P_loss, then L and W
        new = _median_time(lambda: (q._figures(r, kk, mean=False), q._figures(r, kk, loss=False)), repeats)
        old = (_median_time(lambda: (summation_figures(r, kk), summation_figures(r, kk)), repeats)
               if k <= 10**5 else None)
        if old is not None:  # the two agree before their times are compared
            a, b = q._figures(r, kk), summation_figures(r, kk)
            assert np.allclose(a[0], b[0], rtol=1e-12, atol=1e-300) and np.allclose(a[1], b[1], rtol=1e-12)
        rows.append((k, old, new))
    return rows


def bench_plan(repeats: int) -> list[tuple]:
    from cppsns3.model import queueing as q
    from cppsns3.model.routing import plan
    from cppsns3.model.scenario import scenario_from_dict

    data = tomllib.loads((ROOT / "scenarios" / "ieee14.toml").read_text())
    closed = q._figures
    rows = []
    for k in (50, 10**5, 10**9):
        sc = scenario_from_dict({**data, "queue_capacity": k}, base_dir=ROOT / "scenarios")
        plan(sc, "all")  # warm-up
        new = _median_time(lambda: plan(sc, "all"), repeats, 0.0)
        old = None
        if k <= 10**5:  # at 1e9 the summation would allocate (K+1) x ports floats (tens of GiB)
            q._figures = summation_figures
            try:
                old = _median_time(lambda: plan(sc, "all"), repeats if k <= 10**3 else 1, 0.0)
            finally:
                q._figures = closed
        rows.append((k, old, new))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="queueing-formula benchmark")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ports", type=int, default=64)
    args = ap.parse_args(argv)

    print(f"Eq. 1 figures (P_loss, L, W) for {args.ports} ports, rho uniform in [0, 1.5); "
          "median per evaluation")
    print(f"{'K':>12} {'summation ms':>13} {'closed form ms':>15} {'ratio':>9}")
    for k, old, new in bench_formulas(args.ports, args.repeats):
        o = f"{old * 1e3:>13.3f}" if old is not None else f"{'(not run)':>13}"
        ratio = f"{old / new:>8.3g}x" if old is not None else f"{'':>9}"
        print(f"{k:>12.0e} {o} {new * 1e3:>15.3f} {ratio}".rstrip(), flush=True)

    print(f"\nplan(ieee14, 'all'), median of {args.repeats} (summation at 1e5: one run)")
    print(f"{'K':>12} {'summation s':>12} {'closed form s':>14} {'sum/closed':>11} {'closed / K=50':>14}")
    rows = bench_plan(args.repeats)
    base = rows[0][2]
    for k, old, new in rows:
        o = f"{old:>12.3f}" if old is not None else f"{'(not run)':>12}"
        ratio = f"{old / new:>10.3g}x" if old is not None else f"{'':>11}"
        print(f"{k:>12.0e} {o} {new:>14.3f} {ratio} {new / base:>13.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
