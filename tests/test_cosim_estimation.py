"""State estimation at the generator over the measurements that arrived (cppsns3.cosim.estimation)."""

import copy
import math
import warnings

import numpy as np
import pandapower as pp
import pandas as pd
import pytest

from cppsns3.cosim.estimation import (
    TABLE_COLUMNS,
    ZERO_INJECTION_STD,
    NoiseStd,
    SEResult,
    _measurement_frame,
    estimate,
    measurement_table,
)
from cppsns3.model.grid import bus_labels, load_grid

#: Error bound with every bus a terminal: each vm_pu is measured directly with
#: std NoiseStd().vm_pu and WLS only adds information, so the estimate's std is
#: at most that; 3.5 sigma bounds the maximum over <= 39 buses (module docstring).
FULL_BOUND_PU = 3.5 * NoiseStd().vm_pu
TINY = {"vm_pu": 1e-7, "pq_abs": 1e-7, "pq_rel": 0.0}


def _solved(name):
    net = load_grid(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, numba=False)
    return net


@pytest.fixture(scope="module")
def nets():
    return {"case14": _solved("case14"), "case39": _solved("case39")}


def _labels(net):
    return list(bus_labels(net).values())


def _reported_by(net, label):
    """What a terminal at ``label`` reports, counted from the grid (not from the code under test):
    its voltage, P and Q of each in-service line it is the from-bus of, of each trafo it is the HV bus of."""
    i = {v: k for k, v in bus_labels(net).items()}[label]
    lines = int(((net.line.from_bus == i) & net.line.in_service).sum())
    trafos = int(((net.trafo.hv_bus == i) & net.trafo.in_service).sum())
    return 1 + 2 * lines + 2 * trafos


def _zero_injection_buses(net):
    inj = set(net.load.bus) | set(net.sgen.bus) | set(net.gen.bus) | set(net.ext_grid.bus) | set(net.shunt.bus)
    return [i for i in net.bus.index if i not in inj]


@pytest.mark.parametrize("case", ["case14", "case39"])
def test_all_buses_terminals_estimate_is_close(nets, case):
    net = nets[case]
    n = len(net.bus)
    table = measurement_table(net, _labels(net), seed=3, step=7)
    assert tuple(table.columns) == TABLE_COLUMNS
    assert len(table) == sum(_reported_by(net, b) for b in _labels(net))
    res = estimate(net, table)
    assert isinstance(res, SEResult)
    assert res.ok and res.converged and res.reason is None
    assert res.n_states == 2 * n - 1
    n_zi = len(_zero_injection_buses(net))
    assert res.n_pseudo == 2 * n_zi
    assert res.n_measurements == len(table) + 2 * n_zi
    # noisy but close: the bound follows from the noise; > 1e-5 shows the noise is there
    assert 1e-5 < res.max_vm_error_pu < FULL_BOUND_PU
    assert 0 < res.mean_vm_error_pu <= res.max_vm_error_pu
    est = res.bus_estimate
    assert est.index.name == "bus" and list(est.index) == _labels(net)
    np.testing.assert_allclose(est["vm_pu_true"].to_numpy(), net.res_bus.vm_pu.to_numpy())
    np.testing.assert_allclose(est["vm_error_pu"].to_numpy(), (est.vm_pu - est.vm_pu_true).to_numpy())
    assert math.isclose(res.max_vm_error_pu, float(est.vm_error_pu.abs().max()))
    # without noise the estimate is the power flow
    exact = estimate(net, measurement_table(net, _labels(net), seed=3, step=7, std=TINY))
    assert exact.ok and exact.max_vm_error_pu < 1e-4 and exact.max_va_error_deg < 1e-3


def test_table_rows_follow_the_ownership_rule(nets):
    for net in nets.values():
        lab = bus_labels(net)
        table = measurement_table(net, _labels(net), seed=0, step=0)
        for b in _labels(net):
            assert int((table.bus == b).sum()) == _reported_by(net, b)
        for r in table.itertuples():
            if r.element_type == "bus":
                assert (r.meas_type, r.side, lab[r.element]) == ("v", None, r.bus)
                true = net.res_bus.vm_pu[r.element]
            elif r.element_type == "line":
                assert r.side == "from" and lab[net.line.from_bus[r.element]] == r.bus
                true = net.res_line.at[r.element, f"{r.meas_type}_from_{'mw' if r.meas_type == 'p' else 'mvar'}"]
            else:
                assert r.element_type == "trafo" and r.side == "hv" and lab[net.trafo.hv_bus[r.element]] == r.bus
                true = net.res_trafo.at[r.element, f"{r.meas_type}_hv_{'mw' if r.meas_type == 'p' else 'mvar'}"]
            sd = 0.004 if r.meas_type == "v" else 0.01 + 0.01 * abs(true)
            assert math.isclose(r.std_dev, sd, rel_tol=1e-12)
            assert abs(r.value - true) < 5 * sd


def test_removing_one_terminal_removes_exactly_what_it_reported(nets):
    net = nets["case14"]
    b = 4  # from-bus of one line, HV bus of two trafos, to-bus of two lines
    i = 3
    to_rule = 1 + 2 * int((net.line.to_bus == i).sum()) + 2 * int((net.trafo.lv_bus == i).sum())
    assert _reported_by(net, b) == 7 != to_rule  # the test tells the rules apart
    full_t = measurement_table(net, _labels(net), seed=5, step=2)
    part_t = measurement_table(net, [x for x in _labels(net) if x != b], seed=5, step=2)
    assert len(full_t) - len(part_t) == 7
    # the subset is the full table without that terminal's rows, same numbers
    pd.testing.assert_frame_equal(part_t, full_t[full_t.bus != b].reset_index(drop=True))
    full, part = estimate(net, full_t), estimate(net, part_t)
    assert full.ok and part.ok
    assert full.n_measurements - part.n_measurements == 7
    # the generator's own bus is always there: local_bus brings its rows back
    back = estimate(net, part_t, local_bus=b)
    assert back.n_local == 7 and back.n_measurements == full.n_measurements
    assert back.max_vm_error_pu == pytest.approx(full.max_vm_error_pu, rel=1e-9, abs=1e-12)
    # and counts once when the table has them already
    again = estimate(net, full_t, local_bus=b)
    assert again.n_local == 7 and again.n_measurements == full.n_measurements


@pytest.mark.parametrize("case,buses,expect_states", [("case14", [1, 2], 27), ("case39", [31, 39, 5], 77)])
def test_fewer_terminals_unobservable_with_counts(nets, case, buses, expect_states):
    net = nets[case]
    table = measurement_table(net, buses, seed=0, step=0)
    n_zi = len(_zero_injection_buses(net))
    m = sum(_reported_by(net, b) for b in buses) + 2 * n_zi
    res = estimate(net, table)
    assert not res.ok and not res.converged
    assert res.reason == f"unobservable: {m} measurements for {expect_states} states"
    assert (res.n_measurements, res.n_states) == (m, expect_states)
    assert math.isnan(res.max_vm_error_pu) and math.isnan(res.mean_vm_error_pu)
    assert res.bus_estimate.empty


def test_enough_measurements_but_unobservable_is_reported(nets):
    net = nets["case14"]
    table = measurement_table(net, [1, 2, 3, 4, 5], seed=0, step=0)
    res = estimate(net, table)
    assert res.n_measurements >= res.n_states == 27
    assert not res.ok and not res.converged
    assert res.reason == f"unobservable: singular gain matrix ({res.n_measurements} measurements for 27 states)"
    full = measurement_table(net, _labels(net), seed=0, step=0)
    capped = estimate(net, full, maximum_iterations=2)       # WLS needs 4 here
    assert (capped.ok, capped.converged, capped.reason) == (False, False, "not converged in 2 iterations")


def test_same_seed_same_table(nets):
    net = nets["case39"]
    a = measurement_table(net, _labels(net), seed=11, step=4)
    b = measurement_table(net, _labels(net), seed=11, step=4)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == {"seed": 11, "step": 4, "std": {"vm_pu": 0.004, "pq_abs": 0.01, "pq_rel": 0.01}}
    for other in (measurement_table(net, _labels(net), seed=12, step=4),
                  measurement_table(net, _labels(net), seed=11, step=5)):
        assert not np.allclose(other.value.to_numpy(), a.value.to_numpy())
        pd.testing.assert_frame_equal(other.drop(columns="value"), a.drop(columns="value"))
    # one bus's numbers do not depend on which other terminals are asked for
    one = measurement_table(net, [16], seed=11, step=4)
    pd.testing.assert_frame_equal(one, a[a.bus == 16].reset_index(drop=True))
    assert measurement_table(net, "16", seed=11, step=4).equals(one)


def test_callers_net_not_modified(nets):
    net = copy.deepcopy(nets["case14"])
    pp.create_measurement(net, "v", "bus", 1.5, 0.1, 0)   # a wrong measurement the estimate must drop
    before = pp.to_json(net)
    table = measurement_table(net, _labels(net), seed=1, step=1)
    res = estimate(net, table, local_bus=1)
    assert res.ok and res.max_vm_error_pu < FULL_BOUND_PU
    assert pp.to_json(net) == before
    assert "res_bus_est" not in net or net.res_bus_est.empty


def test_bulk_measurements_equal_create_measurement(nets):
    net = nets["case14"]
    table = measurement_table(net, [1, 4, 6], seed=2, step=9)
    ref = copy.deepcopy(net)
    for r in table.itertuples():
        pp.create_measurement(ref, r.meas_type, r.element_type, r.value, r.std_dev, r.element, side=r.side)
    pd.testing.assert_frame_equal(_measurement_frame(table), ref.measurement)


def test_zero_injection_option(nets):
    net = nets["case14"]
    table = measurement_table(net, _labels(net), seed=0, step=0)
    on, off = estimate(net, table), estimate(net, table, zero_injection=False)
    assert on.n_pseudo == 2 and off.n_pseudo == 0           # bus 7 of case14 injects nothing
    assert on.n_measurements == off.n_measurements + 2
    assert ZERO_INJECTION_STD == 0.001


def test_out_of_service_and_islanded_buses():
    net = load_grid("case14")
    net.trafo.loc[3, "in_service"] = False                  # 7-8: bus 8 loses its only connection
    net.line.loc[13, "in_service"] = False                  # 12-13
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, numba=False)
    table = measurement_table(net, _labels(net), seed=0, step=0)
    assert not (table.bus == 8).any()
    assert not ((table.element_type == "line") & (table.element == 13)).any()
    assert not ((table.element_type == "trafo") & (table.element == 3)).any()
    res = estimate(net, table, local_bus=1)
    assert res.ok and res.n_states == 2 * 13 - 1
    assert 8 not in res.bus_estimate.index and res.max_vm_error_pu < FULL_BOUND_PU


def test_bad_input_raises(nets):
    net = nets["case14"]
    table = measurement_table(net, [1, 2], seed=0, step=0)
    with pytest.raises(ValueError, match="not a bus label"):
        measurement_table(net, [99], seed=0, step=0)
    with pytest.raises(ValueError, match="seed"):
        measurement_table(net, [1], seed=-1, step=0)
    with pytest.raises(ValueError, match="step"):
        measurement_table(net, [1], seed=0, step=1.5)
    with pytest.raises(ValueError, match="unknown keys"):
        measurement_table(net, [1], seed=0, step=0, std={"v": 0.1})
    with pytest.raises(ValueError, match="vm_pu"):
        NoiseStd(vm_pu=0.0)
    with pytest.raises(ValueError, match="power-flow results"):
        measurement_table(load_grid("case14"), [1], seed=0, step=0)
    with pytest.raises(ValueError, match="lacks columns"):
        estimate(net, table.drop(columns="std_dev"))
    with pytest.raises(ValueError, match="std_dev"):
        estimate(net, table.assign(std_dev=0.0))
    with pytest.raises(ValueError, match="does not exist"):
        estimate(net, table.assign(element=999))
    with pytest.raises(ValueError, match="attrs"):
        estimate(net, pd.DataFrame(table.to_dict()), local_bus=1)
    with pytest.raises(ValueError, match="algorithm"):
        estimate(net, table, algorithm="magic")
    # rows of a table keep the attrs local_bus needs
    assert estimate(net, table[table.bus == 2], local_bus=1).n_local == _reported_by(net, 1)
