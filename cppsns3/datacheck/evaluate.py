"""Evaluate the feature-value data check on injected false data.

Protocol (what ``cppsns3 validate-data`` and ``scripts/evaluate_datacheck.py``
run):

1. Split the measurement frame by time: the last ``holdout_days`` days are
   held out; the model (:func:`cppsns3.datacheck.forecast.train_model`) is
   trained on the days before only.
2. *Clean*: the held-out days are checked block by block, step by step, as a
   receiving node would (history updated online); the false-alarm rate is the
   fraction of blocks flagged.
3. *Attacks*: for each attack and magnitude, blocks of the held-out days are
   picked at ``attack_rate`` (seeded) and falsified
   (:mod:`cppsns3.datacheck.attacks`); the days are checked at each tolerance
   from a fresh copy of the trained history.  Detection rate = flagged
   attacked blocks / attacked blocks; false-alarm rate = flagged untouched
   blocks / untouched blocks of the same run.
4. Timing: wall time per block of the feature check (one terminal's block,
   forecast + Eq. 8) against signature plus Merkle verification of the same
   measurements as a ``cppsns3.chain`` data block (``Registry.verify``).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from cppsns3.datacheck.attacks import ATTACKS, block_key, block_mask, inject
from cppsns3.datacheck.check import check_block, check_records
from cppsns3.datacheck.factors import FactorConfig
from cppsns3.datacheck.forecast import DEFAULT_TOLERANCE, FeatureModel, train_model

__all__ = [
    "terminal_frame",
    "DEFAULT_ATTACKS",
    "DEFAULT_TOLERANCES",
    "DEFAULT_ATTACK_RATE",
    "split_holdout",
    "flag_blocks",
    "block_rates",
    "time_feature_check",
    "time_signature_merkle",
    "evaluate",
]

#: Attack -> magnitudes (fractions) evaluated by default.
DEFAULT_ATTACKS = {
    "bias": (0.02, 0.05, 0.10),
    "scale": (0.05, 0.10),
    "replay": (1.0,),
    "noise": (0.05, 0.10),
}
#: Tolerances on |Delta| evaluated by default.
DEFAULT_TOLERANCES = (0.01, 0.02, 0.05, 0.10)
#: Fraction of held-out blocks falsified in an attack run.
DEFAULT_ATTACK_RATE = 0.25


def terminal_frame(frame: pd.DataFrame, buses=None, prefix: str = "T") -> pd.DataFrame:
    """Prefix power-flow columns with the terminal that measures them.

    ``"vm_pu/bus7"`` -> ``"T7/vm_pu/bus7"`` using ``frame.attrs["column_bus"]``
    (as set by ``power_flow_series``), so that columns group into blocks.

    Parameters
    ----------
    frame : pandas.DataFrame
        Power-flow frame with ``attrs["column_bus"]``; a frame whose columns
        already have three parts is returned as is (filtered by ``buses``).
    buses : iterable, optional
        Keep only the terminals at these buses (default: every bus).
    prefix : str
        Terminal ID prefix (``"T"`` + bus name, as in the contracts' examples).

    Returns
    -------
    pandas.DataFrame
        Copy with renamed (and possibly fewer) columns.

    Raises
    ------
    ValueError
        If the column-to-bus map is missing or no column is left.
    """
    cols = [str(c) for c in frame.columns]
    keep_buses = None if buses is None else {str(b) for b in buses}
    if all(c.count("/") >= 2 for c in cols):
        sel = [c for c in cols if keep_buses is None or c.split("/", 1)[0][len(prefix):] in keep_buses]
        out = frame[sel].copy()
    else:
        cb = frame.attrs.get("column_bus")
        if not cb:
            raise ValueError("frame: no attrs['column_bus'] to tell each column's terminal")
        sel = [c for c in cols if c in cb and (keep_buses is None or str(cb[c]) in keep_buses)]
        out = frame[sel].copy()
        out.columns = [f"{prefix}{cb[c]}/{c}" for c in sel]
    if out.shape[1] == 0:
        raise ValueError(f"buses: no measured column at buses {sorted(keep_buses or [])}")
    out.attrs = dict(frame.attrs)
    return out


def split_holdout(frame: pd.DataFrame, holdout_days: int, step_s: int = 900):
    """Split off the last ``holdout_days`` days (by time) of a frame.

    Returns
    -------
    train, test : pandas.DataFrame
        ``train`` has every row before the cut, ``test`` the rest.

    Raises
    ------
    ValueError
        If ``holdout_days`` < 1 or either part would be empty.
    """
    if holdout_days < 1:
        raise ValueError(f"holdout_days: must be >= 1, got {holdout_days}")
    frame = frame.sort_index()
    t = frame.index.to_numpy(dtype=np.int64)
    cut = t[-1] + step_s - holdout_days * 86400
    train, test = frame[t < cut], frame[t >= cut]
    if train.empty or test.empty:
        raise ValueError(
            f"days: {len(frame) * step_s / 86400:g} day(s) of data cannot hold out {holdout_days}"
        )
    return train, test


def flag_blocks(model: FeatureModel, frame: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Check a frame step by step on a fork of the model; flags per block.

    Parameters
    ----------
    model : FeatureModel
        Trained model (not modified: a fork is used).
    frame : pandas.DataFrame
        Rows after the model's training data, in time order.
    tolerance : float
        |Delta| bound.

    Returns
    -------
    pandas.DataFrame
        Boolean, rows as ``frame``, one column per terminal: True where the
        terminal's block at that step has a failed record.
    """
    node = model.fork()
    cols = [str(c) for c in frame.columns]
    keys = list(dict.fromkeys(block_key(c) for c in cols))
    key_of = {c: block_key(c) for c in cols}
    flags = np.zeros((len(frame), len(keys)), dtype=bool)
    kpos = {k: j for j, k in enumerate(keys)}
    values = frame.to_numpy(dtype=float)
    times = frame.index.to_numpy(dtype=np.float64)
    for r in range(len(frame)):
        t = times[r]
        recs = [(c, t, values[r, j]) for j, c in enumerate(cols)]
        res = check_records(recs, node, tolerance)
        for i in res.failed:
            flags[r, kpos[key_of[i]]] = True
    return pd.DataFrame(flags, index=frame.index, columns=keys)


def block_rates(flags: pd.DataFrame, mask: pd.DataFrame | None = None) -> dict:
    """Detection and false-alarm rates from block flags and the attack mask.

    Returns
    -------
    dict
        ``detection_rate`` (nan without attacked blocks), ``false_alarm_rate``
        (nan without clean blocks), ``blocks``, ``attacked_blocks``.
    """
    f = flags.to_numpy(dtype=bool)
    m = np.zeros_like(f) if mask is None else mask[flags.columns].to_numpy(dtype=bool)
    n_att, n_clean = int(m.sum()), int((~m).sum())
    return {
        "detection_rate": float(f[m].mean()) if n_att else math.nan,
        "false_alarm_rate": float(f[~m].mean()) if n_clean else math.nan,
        "blocks": int(f.size),
        "attacked_blocks": n_att,
    }


def _blocks_of_row(frame: pd.DataFrame, r: int):
    t = float(frame.index[r])
    by = {}
    for c, v in zip(frame.columns, frame.iloc[r].to_numpy(dtype=float)):
        by.setdefault(block_key(str(c)), []).append((str(c), t, float(v)))
    return by


def time_feature_check(model: FeatureModel, frame: pd.DataFrame, max_blocks: int = 200) -> float:
    """Mean wall time in seconds of :func:`check_block` on one terminal's block.

    Blocks are taken step by step from ``frame`` (rows after the training
    data) on a fork of the model, up to ``max_blocks``.

    Raises
    ------
    ValueError
        If ``frame`` holds no block.
    """
    node = model.fork()
    total, n = 0.0, 0
    for r in range(len(frame)):
        for recs in _blocks_of_row(frame, r).values():
            t0 = time.perf_counter()
            check_block(recs, node)
            total += time.perf_counter() - t0
            n += 1
            if n >= max_blocks:
                return total / n
    if n == 0:
        raise ValueError("frame: no block to time")
    return total / n


def time_signature_merkle(frame: pd.DataFrame, max_blocks: int = 200, grid=None) -> float | None:
    """Mean wall time in seconds of decoding plus ``Registry.verify`` of the same blocks.

    Each terminal's records at a step become a ``cppsns3.chain`` data block
    (signed by a fresh terminal key, registered in a registry).  The timed
    part is what a receiver does with the bytes: ``DataBlock.from_bytes``
    (which hashes the Merkle leaves while it parses) and ``Registry.verify``
    (signature over the header, Merkle root compared, replay look-up).

    Returns
    -------
    float or None
        None when ``cppsns3.chain`` is not available.
    """
    try:
        from cppsns3.chain import DataBlock, Measurement, Registry, Terminal
    except ImportError:
        return None
    import re

    keys = list(dict.fromkeys(block_key(str(c)) for c in frame.columns))
    bus_of = {}
    for k, key in enumerate(keys):
        m = re.search(r"(\d+)$", key)
        bus_of[key] = int(m.group(1)) if m else k + 1
    buses = sorted(set(bus_of.values()))
    registry = Registry(buses=buses)
    terms = {}
    for key in keys:
        terms[key] = Terminal.generate(key, bus_of[key])
        registry.register(key, bus_of[key], terms[key].public_key)
    prev = {key: bytes(32) for key in keys}
    blocks = []
    for r in range(len(frame)):
        for key, recs in _blocks_of_row(frame, r).items():
            ms = [Measurement(i, t, v) for i, t, v in recs]
            b = terms[key].make_block(ms, prev[key], recs[0][1])
            blocks.append(b.to_bytes())
            if len(blocks) >= max_blocks:
                break
        if len(blocks) >= max_blocks:
            break
    if not blocks:
        raise ValueError("frame: no block to time")
    t0 = time.perf_counter()
    for raw in blocks:
        registry.verify(DataBlock.from_bytes(raw))
    return (time.perf_counter() - t0) / len(blocks)


def evaluate(
    frame: pd.DataFrame,
    *,
    seed: int = 0,
    grid=None,
    holdout_days: int = 1,
    tolerance: float = DEFAULT_TOLERANCE,
    tolerances=DEFAULT_TOLERANCES,
    attacks: dict | None = None,
    attack_rate: float = DEFAULT_ATTACK_RATE,
    replay_days_back: int = 1,
    config: FactorConfig | None = None,
    param_grid: dict | None = None,
    max_train_rows: int = 1500,
    timing_blocks: int = 100,
    model: FeatureModel | None = None,
    progress=None,
) -> dict:
    """Train, inject attacks into held-out days, and measure the check.

    Parameters
    ----------
    frame : pandas.DataFrame
        Wide measurement frame (index ``time_s``), columns
        ``"terminal/quantity/element"``, or a ``power_flow_series`` frame
        (converted by :func:`terminal_frame`).
    seed : int
        Seed of training subsampling, attack choice and noise.
    grid : str, optional
        Grid name (neighbour adjacency; reported as ``grid``).
    holdout_days : int
        Days at the end held out for checking.
    tolerance : float
        Default tolerance (the ``clean`` run uses it).
    tolerances : sequence of float
        Tolerances of the attack runs.
    attacks : dict, optional
        Attack -> magnitudes (default :data:`DEFAULT_ATTACKS`).
    attack_rate : float
        Fraction of held-out blocks falsified per attack run.
    replay_days_back : int
        Age in days of the replayed data.
    config, param_grid, max_train_rows
        Passed to :func:`train_model`.
    timing_blocks : int
        Blocks timed for each of the two timings (0: skip timing, report nan).
    model : FeatureModel, optional
        Already trained on the frame's non-held-out part (skips training).
    progress : callable, optional
        Called with short progress messages.

    Returns
    -------
    dict
        ``grid, seed, default_tolerance, factors, clean {false_alarm_rate,
        blocks}, results [{attack, magnitude, tolerance, detection_rate,
        false_alarm_rate, blocks}], time_per_block_feature_check_s,
        time_per_block_signature_merkle_s`` plus ``model`` (the trained
        FeatureModel, not JSON).

    Raises
    ------
    ValueError
        On a bad option or too little data.
    """
    attacks = DEFAULT_ATTACKS if attacks is None else attacks
    for a in attacks:
        if a not in ATTACKS:
            raise ValueError(f"attack: must be one of {', '.join(ATTACKS)}, got {a!r}")
    for tol in (tolerance, *tolerances):
        if not tol > 0:
            raise ValueError(f"tolerance: must be > 0, got {tol}")
    config = config or FactorConfig()
    if not all(str(c).count("/") >= 2 for c in frame.columns) and frame.attrs.get("column_bus"):
        frame = terminal_frame(frame)
    frame = frame.sort_index()
    frame.columns = [str(c) for c in frame.columns]
    train, test = split_holdout(frame, holdout_days, config.step_s)
    if model is None:
        model = train_model(
            train, config=config, seed=seed, grid=grid, param_grid=param_grid,
            max_train_rows=max_train_rows, tolerance=tolerance, progress=progress,
        )
    levels = model.levels
    if progress:
        progress("datacheck: checking the clean held-out data")
    clean = block_rates(flag_blocks(model, test, tolerance))
    results = []
    for k, (attack, mags) in enumerate(attacks.items()):
        for mag in mags:
            mask = block_mask(test, attack_rate, seed=seed + 1000 + k)
            bad = inject(
                test, attack, float(mag), mask, levels=levels, history=frame,
                replay_days_back=replay_days_back, seed=seed + 2000 + k,
            )
            if progress:
                progress(f"datacheck: {attack} {mag:g}")
            for tol in tolerances:
                rates = block_rates(flag_blocks(model, bad, tol), mask)
                results.append({
                    "attack": attack,
                    "magnitude": float(mag),
                    "tolerance": float(tol),
                    "detection_rate": rates["detection_rate"],
                    "false_alarm_rate": rates["false_alarm_rate"],
                    "blocks": rates["blocks"],
                })
    t_feat = t_sig = math.nan
    if timing_blocks > 0:
        if progress:
            progress("datacheck: timing")
        t_feat = time_feature_check(model, test, timing_blocks)
        t_sig = time_signature_merkle(test, timing_blocks, grid)
    return {
        "grid": grid,
        "seed": int(seed),
        "default_tolerance": float(tolerance),
        "factors": model.factors(),
        "clean": {"false_alarm_rate": clean["false_alarm_rate"], "blocks": clean["blocks"]},
        "results": results,
        "time_per_block_feature_check_s": t_feat,
        "time_per_block_signature_merkle_s": t_sig,
        "model": model,
    }
