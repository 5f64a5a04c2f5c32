"""Unit tests of the feature-value data check (issue 10) on synthetic frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from cppsns3.datacheck import (
    FactorConfig,
    block_mask,
    check_block,
    check_records,
    inject,
    pearson_h,
    relative_delta,
    select_factors,
    train_model,
)
from cppsns3.datacheck.evaluate import block_rates, flag_blocks, split_holdout
from cppsns3.datacheck.factors import (
    calendar_features,
    neighbour_map,
    parse_measurement_id,
    series_key,
)
from cppsns3.datacheck.forecast import time_series_folds
from cppsns3.datacheck.synthetic import synthetic_series

SMALL_GRID = {"C": [1.0, 10.0], "gamma": [0.1], "epsilon": [0.02]}


@pytest.fixture(scope="module")
def synth():
    frame = synthetic_series(buses=3, days=10, seed=5)
    train, test = split_holdout(frame, 1)
    model = train_model(train, seed=0, param_grid=SMALL_GRID, max_train_rows=800)
    return frame, train, test, model


# ---------------------------------------------------------------- Pearson h (Eq. 5)


def test_pearson_h_matches_numpy_and_scipy():
    rng = np.random.default_rng(1)
    for n in (2, 5, 100, 1000):
        l = rng.normal(size=n)
        v = 0.3 * l + rng.normal(size=n)
        h = pearson_h(l, v)
        assert h == pytest.approx(np.corrcoef(l, v)[0, 1], abs=1e-12)
        assert h == pytest.approx(scipy.stats.pearsonr(l, v)[0], abs=1e-12)
    assert pearson_h([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson_h([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_pearson_h_degenerate_inputs():
    assert math.isnan(pearson_h([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="lengths"):
        pearson_h([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        pearson_h([1], [1])
    with pytest.raises(ValueError, match="finite"):
        pearson_h([1, np.nan], [1, 2])


def test_select_factors_keeps_those_above_threshold():
    rng = np.random.default_rng(2)
    y = rng.normal(size=500)
    table = pd.DataFrame({
        "target": y,
        "strong": y + 0.1 * rng.normal(size=500),
        "weak": 0.1 * y + rng.normal(size=500),
        "anti": -y + 0.5 * rng.normal(size=500),
        "const": np.ones(500),
    })
    sel, h = select_factors(table, ["strong", "weak", "anti", "const"], 0.3)
    assert sel == ["strong", "anti"]
    assert math.isnan(h["const"])
    assert h["anti"] < -0.3
    # Nothing above the threshold: the strongest one is kept.
    sel, _ = select_factors(table, ["weak", "const"], 0.99)
    assert sel == ["weak"]


def test_ids_calendar_and_neighbours():
    assert parse_measurement_id("T7/vm_pu/bus7") == ("T7", "vm_pu", "bus7")
    assert series_key("T7/vm_pu/bus7") == "vm_pu/bus7"
    assert series_key("vm_pu/bus7") == "vm_pu/bus7"
    cal = calendar_features([1704067200, 1704067200 + 5 * 86400 + 21600])  # Mon 00:00, Sat 06:00
    assert cal["day_type"].tolist() == [0.0, 1.0]
    assert cal["tod_cos"][0] == pytest.approx(1.0)
    assert cal["tod_sin"][1] == pytest.approx(1.0)
    nb = neighbour_map(["vm_pu/bus1", "vm_pu/bus2", "vm_pu/bus14", "p_mw/bus1"], grid="case14")
    assert nb["vm_pu/bus1"] == ["vm_pu/bus2"]  # bus 14 is not adjacent to bus 1
    assert nb["p_mw/bus1"] == []  # alone in its quantity


# ---------------------------------------------------------------- no look-ahead


def test_time_series_folds_never_look_ahead():
    t = np.repeat(np.arange(100.0), 3)  # 3 series share each time
    folds = time_series_folds(t, 3)
    assert len(folds) == 3
    for tr, va in folds:
        assert t[tr].max() < t[va].min()
    # Expanding windows.
    assert [len(tr) for tr, _ in folds] == sorted(len(tr) for tr, _ in folds)


def test_training_ignores_rows_at_or_after_train_end():
    frame = synthetic_series(buses=2, days=10, seed=3)
    cut = float(frame.index[-96])
    a = train_model(frame, train_end_s=cut, param_grid=SMALL_GRID, max_train_rows=600)
    future = frame.copy()
    future.iloc[-96:] *= 5.0  # wildly different future
    b = train_model(future, train_end_s=cut, param_grid=SMALL_GRID, max_train_rows=600)
    assert a.stats == b.stats and a.bounds == b.bounds
    assert a.history.last_time_s() < cut and a.train_end_s == cut
    ids = ["T1/p_mw/bus1", "T2/vm_pu/bus2"]
    np.testing.assert_array_equal(a.forecast(ids, [cut, cut]), b.forecast(ids, [cut, cut]))


def test_forecast_reads_only_older_history(synth):
    _, _, test, model = synth
    node = model.fork()
    t = float(test.index[0])
    ids = list(test.columns)
    before = node.forecast(ids, [t] * len(ids))
    for c in ids:  # values at t itself and later must not matter
        node.history.add(c.split("/", 1)[1], t, 1e6)
        node.history.add(c.split("/", 1)[1], t + 900, -1e6)
    np.testing.assert_array_equal(before, node.forecast(ids, [t] * len(ids)))


# ---------------------------------------------------------------- the check (Eq. 8)


def test_relative_delta_eq8():
    np.testing.assert_allclose(relative_delta([2.0, -4.0], [2.2, -3.0]), [0.1, 0.25])
    np.testing.assert_allclose(relative_delta([0.0], [0.5], floor=1.0), [0.5])
    assert relative_delta([0.0], [0.0]).tolist() == [0.0]
    with pytest.raises(ValueError):
        relative_delta([1.0], [1.0, 2.0])


def test_check_block_passes_clean_and_names_failed_records(synth):
    _, _, test, model = synth
    node = model.fork()
    t = float(test.index[0])
    recs = [(c, t, float(test.iloc[0][c])) for c in test.columns if c.startswith("T2/")]
    assert check_block(recs, node, update=False) == []
    forged = [(i, tt, v * 1.10 if "/vm_pu/" in i else v) for i, tt, v in recs]
    assert check_block(forged, node, update=False) == ["T2/vm_pu/bus2"]
    # Unknown series fail; the tolerance must be positive.
    assert check_block([("T9/vm_pu/bus99", t, 1.0)], node) == ["T9/vm_pu/bus99"]
    with pytest.raises(ValueError, match="tolerance"):
        check_block(recs, node, tolerance=0.0)
    with pytest.raises(ValueError, match="record 0"):
        check_block([("only-two", 1.0)], node)


def test_check_block_accepts_chain_data_blocks(synth):
    from cppsns3 import chain
    _, _, test, model = synth
    t = float(test.index[0])
    ms = [chain.Measurement(c, t, float(test.iloc[0][c])) for c in test.columns if c.startswith("T1/")]
    term = chain.Terminal.generate("T1", 1)
    block = chain.DataBlock.from_bytes(term.make_block(ms, bytes(32), t).to_bytes())
    assert check_block(block, model.fork()) == []


def test_failed_records_do_not_feed_the_lags(synth):
    _, _, test, model = synth
    node = model.fork()
    cid = "T1/vm_pu/bus1"
    t0 = float(test.index[0])
    res = check_records([(cid, t0, 2.0)], node)  # a 2 pu voltage: rejected
    assert res.failed == [cid]
    assert node.history.asof("vm_pu/bus1", t0) == pytest.approx(res.forecasts[0])


# ---------------------------------------------------------------- attacks


def test_attacks_change_only_masked_blocks(synth):
    frame, _, test, model = synth
    mask = block_mask(test, 0.3, seed=1)
    assert 0.2 < mask.to_numpy().mean() < 0.4
    for attack, mag in (("bias", 0.1), ("scale", 0.1), ("replay", 1.0), ("noise", 0.1)):
        bad = inject(test, attack, mag, mask, levels=model.levels, history=frame, seed=2)
        for c in test.columns:
            rows = mask[c.split("/")[0]].to_numpy()
            np.testing.assert_array_equal(bad[c].to_numpy()[~rows], test[c].to_numpy()[~rows])
            assert (bad[c].to_numpy()[rows] != test[c].to_numpy()[rows]).all()
    bad = inject(test, "scale", 0.1, mask)
    c = test.columns[0]
    rows = mask[c.split("/")[0]].to_numpy()
    np.testing.assert_allclose(bad[c].to_numpy()[rows], 1.1 * test[c].to_numpy()[rows])
    old = inject(test, "replay", 1.0, mask, history=frame)
    np.testing.assert_allclose(old[c].to_numpy()[rows],
                               frame[c].reindex(test.index - 86400).to_numpy()[rows])
    with pytest.raises(ValueError, match="attack"):
        inject(test, "spoof", 0.1, mask)
    with pytest.raises(ValueError, match="history"):
        inject(test, "replay", 1.0, mask, replay_days_back=30)


def test_synthetic_clean_day_and_bias(synth):
    _, _, test, model = synth
    clean = block_rates(flag_blocks(model, test, model.tolerance))
    assert clean["false_alarm_rate"] < 0.05
    mask = block_mask(test, 0.25, seed=4)
    bad = inject(test, "bias", 0.10, mask, levels=model.levels)
    rates = block_rates(flag_blocks(model, bad, model.tolerance), mask)
    assert rates["detection_rate"] > 0.9


def test_train_model_rejects_bad_input():
    with pytest.raises(ValueError, match="frame"):
        train_model(pd.DataFrame())
    frame = synthetic_series(buses=1, days=3)
    with pytest.raises(ValueError, match="tolerance"):
        train_model(frame, tolerance=-1)
    with pytest.raises(ValueError, match="threshold"):
        FactorConfig(threshold=1.5)
