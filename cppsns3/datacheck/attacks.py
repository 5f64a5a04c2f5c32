"""False-data injection into a measurement frame, block by block.

A *block* is one terminal's records at one time step: the measurement IDs
whose first part (``"T7"`` in ``"T7/vm_pu/bus7"``) is that terminal, in one
row of the wide frame.  An attack picks blocks at a chosen rate and changes
every record of a picked block:

``bias``
    ``v + magnitude * level`` (a constant offset of ``magnitude`` times the
    series' mean absolute level).
``scale``
    ``v * (1 + magnitude)``.
``replay``
    ``(1 - magnitude) * v + magnitude * v_old`` where ``v_old`` is the value
    of the same series ``replay_days_back`` days earlier; ``magnitude = 1``
    is a plain replay of the old day.
``noise``
    ``v + magnitude * level * N(0, 1)`` (seeded Gaussian noise).

``magnitude`` is a fraction (0.10 = 10 %).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cppsns3.datacheck.factors import parse_measurement_id

__all__ = ["ATTACKS", "block_key", "block_mask", "inject"]

ATTACKS = ("bias", "scale", "replay", "noise")


def block_key(measurement_id: str) -> str:
    """The block (terminal) a measurement ID belongs to: its first part."""
    return parse_measurement_id(measurement_id)[0]


def block_mask(frame: pd.DataFrame, rate: float, seed: int = 0) -> pd.DataFrame:
    """Choose attacked blocks: rows x terminals, True with probability ``rate``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Wide frame (index ``time_s``).
    rate : float
        Fraction of blocks to attack, in [0, 1].
    seed : int
        Seed of the choice.

    Returns
    -------
    pandas.DataFrame
        Boolean, index as ``frame``, one column per terminal.

    Raises
    ------
    ValueError
        If ``rate`` is outside [0, 1].
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate: must be in [0, 1], got {rate}")
    keys = list(dict.fromkeys(block_key(str(c)) for c in frame.columns))
    rng = np.random.default_rng(seed)
    m = rng.random((len(frame), len(keys))) < rate
    return pd.DataFrame(m, index=frame.index, columns=keys)


def inject(
    frame: pd.DataFrame,
    attack: str,
    magnitude: float,
    mask: pd.DataFrame,
    *,
    levels: dict | None = None,
    history: pd.DataFrame | None = None,
    replay_days_back: int = 1,
    seed: int = 0,
) -> pd.DataFrame:
    """Return a copy of ``frame`` with false data in the masked blocks.

    Parameters
    ----------
    frame : pandas.DataFrame
        Wide frame to attack (index ``time_s``, epoch seconds).
    attack : {"bias", "scale", "replay", "noise"}
        Attack kind (see the module doc).
    magnitude : float
        Size as a fraction (>= 0; at most 1 for ``replay``).
    mask : pandas.DataFrame
        From :func:`block_mask`: rows as ``frame``, one column per terminal.
    levels : dict, optional
        Per-series level for ``bias`` and ``noise`` (default: mean absolute
        value of the series in ``frame``).
    history : pandas.DataFrame, optional
        Frame holding the days replayed (default ``frame``); needed for
        ``replay``.
    replay_days_back : int
        How many days back ``replay`` takes its values from (>= 1).
    seed : int
        Seed of ``noise``.

    Returns
    -------
    pandas.DataFrame
        Attacked copy.

    Raises
    ------
    ValueError
        If the attack is unknown, the magnitude is out of range, the mask
        does not match the frame, or a replayed value is missing.
    """
    if attack not in ATTACKS:
        raise ValueError(f"attack: must be one of {', '.join(ATTACKS)}, got {attack!r}")
    if not magnitude >= 0:
        raise ValueError(f"magnitude: must be >= 0, got {magnitude}")
    if attack == "replay" and magnitude > 1:
        raise ValueError(f"magnitude: replay blend must be <= 1, got {magnitude}")
    if replay_days_back < 1:
        raise ValueError(f"replay_days_back: must be >= 1, got {replay_days_back}")
    if not mask.index.equals(frame.index):
        raise ValueError("mask: index differs from the frame's")
    out = frame.astype(float).copy()
    rng = np.random.default_rng(seed)
    old = None
    if attack == "replay":
        src = frame if history is None else history
        t = frame.index.to_numpy(dtype=np.int64) - 86400 * int(replay_days_back)
        old = src.reindex(index=t, columns=frame.columns)
        old.index = frame.index
    for c in frame.columns:
        key = block_key(str(c))
        if key not in mask.columns:
            raise ValueError(f"mask: no column for terminal {key!r}")
        rows = mask[key].to_numpy(dtype=bool)
        if not rows.any():
            continue
        v = out[c].to_numpy(copy=True)
        lvl = (levels or {}).get(str(c))
        if lvl is None:
            lvl = float(np.nanmean(np.abs(frame[c].to_numpy(dtype=float))))
        if attack == "bias":
            v[rows] = v[rows] + magnitude * lvl
        elif attack == "scale":
            v[rows] = v[rows] * (1.0 + magnitude)
        elif attack == "noise":
            v[rows] = v[rows] + magnitude * lvl * rng.standard_normal(int(rows.sum()))
        else:
            o = old[c].to_numpy(dtype=float)[rows]
            if not np.isfinite(o).all():
                raise ValueError(
                    f"history: no value {replay_days_back} day(s) back for {c!r} to replay"
                )
            v[rows] = (1.0 - magnitude) * v[rows] + magnitude * o
        out[c] = v
    return out
