"""Measurements from pandapower power flows, and blocks of a requested size."""


import numpy as np
import pytest

from cppsns3.chain import (
    DEFAULT_START_TIME_S,
    DataAcquisitionContract,
    DataBlock,
    Measurement,
    Registry,
    Terminal,
    block_of_size,
    day_type,
    load_profile,
    measurements_for_terminal,
    power_flow_series,
)
from cppsns3.errors import ScenarioError


@pytest.fixture(scope="module")
def frame():
    return power_flow_series("case14", days=1)


def test_series_shape_and_columns(frame):
    assert frame.shape[0] == 96
    assert frame.index.name == "time_s"
    assert frame.index[0] == DEFAULT_START_TIME_S
    assert np.all(np.diff(frame.index.to_numpy()) == 900.0)
    for col in ("vm_pu/bus1", "va_degree/bus14", "i_ka/line0", "p_mw/line0", "q_mvar/line0",
                "p_mw/trafo0", "q_mvar/trafo0"):
        assert col in frame.columns
    assert np.isfinite(frame.to_numpy()).all()
    assert frame.attrs["column_bus"]["vm_pu/bus7"] == 7
    # voltages plausible; line flows follow the daily profile
    assert frame.filter(like="vm_pu/").to_numpy().min() > 0.9
    p = frame["p_mw/line0"].to_numpy()
    assert p.max() > 1.3 * p.min()


def test_series_seeded_and_cached():
    a = power_flow_series("case14", days=1, seed=1)
    b = power_flow_series("case14", days=1, seed=1)
    c = power_flow_series("case14", days=1, seed=2)
    assert a.equals(b) and not a.equals(c)
    a.iloc[0, 0] = -1.0                         # callers get copies
    assert power_flow_series("case14", days=1, seed=1).iloc[0, 0] != -1.0


def test_day_type_profile():
    monday = DEFAULT_START_TIME_S
    assert list(day_type([monday + k * 86400 for k in range(7)])) == [0, 0, 0, 0, 0, 1, 1]
    hours = np.arange(96) * 900.0
    weekday = load_profile(monday + hours)
    weekend = load_profile(monday + 5 * 86400 + hours)
    assert 0.5 < weekday.min() and weekday.max() <= 1.0
    assert weekend.mean() < weekday.mean()
    assert not np.allclose(weekday, weekend)


def test_bad_grid_and_arguments():
    with pytest.raises(ScenarioError):
        power_flow_series("no_such_case")
    with pytest.raises(ScenarioError):
        power_flow_series("case14", days=0)
    with pytest.raises(ScenarioError):
        power_flow_series("missing/grid.json")


def test_measurements_for_terminal(frame):
    row = frame.iloc[5]
    ms = measurements_for_terminal(row, "T4", 4)
    ids = [m.id for m in ms]
    assert "T4/vm_pu/bus4" in ids and "T4/va_degree/bus4" in ids
    assert all(isinstance(m, Measurement) and m.time_s == frame.index[5] for m in ms)
    assert all(frame.attrs["column_bus"][m.id.split("/", 1)[1]] == 4 for m in ms)
    whole = measurements_for_terminal(frame, "T4", 4, quantities={"vm_pu"})
    assert len(whole) == 96 and whole[0].value == frame["vm_pu/bus4"].iloc[0]
    merged = measurements_for_terminal(row, "S4", [4, 7])
    assert len(merged) > len(ms)
    bare = frame.copy()
    bare.attrs = {}
    assert measurements_for_terminal(bare.iloc[5], "T4", 4, grid="case14") == ms


def test_block_of_size_real_measurements(frame):
    t = Terminal.from_seed("T4", 4, "size")
    reg = Registry.for_grid("case14")
    reg.register_terminal(t)
    for mb in (0.001, 0.25, 1.0):
        b = block_of_size(t, mb, frame, step=10)
        assert mb * 1e6 <= b.size_bytes < mb * 1e6 + 60
        assert DataBlock.from_bytes(b.to_bytes()) == b
        reg.verify(b)
        c = DataAcquisitionContract("T4", period_s=900.0, time_scale_s=900.0, tolerance_s=0.0)
        c.check_block(b)
    vm = [m.value for m in b.measurements if m.id == "T4/vm_pu/bus4"]
    lo, hi = sorted(frame["vm_pu/bus4"].iloc[10:12])
    assert lo - 1e-12 <= min(vm) and max(vm) <= hi + 1e-12


def test_eight_megabyte_block_has_its_size_and_verifies(frame):
    # Its build time is a benchmark figure (scripts/bench_chain.py block_of_size_8mb_s), not a test.
    t = Terminal.from_seed("T4", 4, "size")
    b = block_of_size(t, 8, frame, step=3)
    assert 8e6 <= b.size_bytes < 8e6 + 60
    assert DataBlock.from_bytes(b.to_bytes()).computed_merkle_root() == b.merkle_root
