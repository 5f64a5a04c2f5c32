"""Synthetic measurement frames shaped like the blocks issue's series.

Used by the tests and as a stand-in when no power-flow series is wanted: a
wide frame, one row per step (index ``time_s``, epoch seconds) and one column
per measurement ID ``"T<bus>/<quantity>/bus<bus>"``.  Loads follow a smooth
daily profile with a weekend dip and seeded multiplicative noise; voltages sag
with load.  This is *not* a power flow; it only has the periodicity, day-type
variation and noise that the data check relies on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["synthetic_series", "DEFAULT_START_TIME_S"]

#: Monday 2024-01-01 00:00:00 UTC.
DEFAULT_START_TIME_S = 1_704_067_200


def synthetic_series(
    buses: int = 4,
    days: int = 10,
    step_s: int = 900,
    seed: int = 0,
    noise_ratio: float = 0.01,
    start_time_s: int = DEFAULT_START_TIME_S,
) -> pd.DataFrame:
    """Build a seeded synthetic wide measurement frame.

    Parameters
    ----------
    buses : int
        Number of buses; each gets ``vm_pu`` and ``p_mw`` columns.
    days : int
        Length in days.
    step_s : int
        Sampling period in seconds (must divide 86400).
    seed : int
        Seed of the noise.
    noise_ratio : float
        Standard deviation of the multiplicative load noise (0.01 = 1 %).
    start_time_s : int
        Epoch seconds of the first row (default: a Monday, 00:00 UTC).

    Returns
    -------
    pandas.DataFrame
        Index ``time_s`` (int epoch seconds), one float column per measurement ID.

    Raises
    ------
    ValueError
        If ``buses`` or ``days`` is < 1, or ``step_s`` does not divide a day.
    """
    if buses < 1:
        raise ValueError(f"buses: must be >= 1, got {buses}")
    if days < 1:
        raise ValueError(f"days: must be >= 1, got {days}")
    if step_s <= 0 or 86400 % step_s:
        raise ValueError(f"step_s: must divide 86400, got {step_s}")
    rng = np.random.default_rng(seed)
    n = days * 86400 // step_s
    time_s = start_time_s + step_s * np.arange(n, dtype=np.int64)
    hour = ((time_s % 86400) / 3600.0)
    weekday = ((time_s // 86400) + 3) % 7  # 1970-01-01 was a Thursday (3)
    weekend = weekday >= 5
    profile = (
        0.6
        + 0.25 * np.exp(-((hour - 8.5) ** 2) / 4.0)
        + 0.35 * np.exp(-((hour - 19.0) ** 2) / 6.0)
    )
    profile = profile * np.where(weekend, 0.8, 1.0)
    cols = {}
    for b in range(1, buses + 1):
        base_mw = 10.0 + 5.0 * b
        load = base_mw * profile * (1.0 + noise_ratio * rng.standard_normal(n))
        cols[f"T{b}/p_mw/bus{b}"] = load
        cols[f"T{b}/vm_pu/bus{b}"] = 1.04 - 0.002 * b * profile - 0.0005 * (load / base_mw - profile)
    frame = pd.DataFrame(cols, index=pd.Index(time_s, name="time_s"))
    return frame
