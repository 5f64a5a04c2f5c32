"""The data check (issue 10) on the pandapower series of case14, and its CLI.

Figures at the time of writing (case14, 9 days, seed 3, last day held out,
default tolerance 0.05, defaults everywhere else): clean false-alarm rate
0.0 of 1344 blocks; a 10 % bias on 347 of the 1344 blocks detected in all
of them (detection rate 1.0; false alarms on the untouched blocks 0.018).  The thresholds below are the
issue's (false alarms < 5 %, bias detected in most blocks), not fitted to
these figures.
"""

from __future__ import annotations

import json

import pytest

from cppsns3.datacheck import block_mask, inject, train_model
from cppsns3.datacheck.evaluate import block_rates, flag_blocks, split_holdout, terminal_frame
from cppsns3.datacheck.synthetic import synthetic_series

import pandapower  # noqa: E402,F401 - a hard dependency


@pytest.fixture(scope="module")
def case14():
    from cppsns3.chain.measurements import power_flow_series

    frame = terminal_frame(power_flow_series("case14", days=9, seed=3))
    train, test = split_holdout(frame, 1)
    model = train_model(train, grid="case14", seed=0)
    return train, test, model


def test_case14_clean_day_false_alarms_below_5_percent(case14):
    _, test, model = case14
    assert model.tolerance == 0.05
    rates = block_rates(flag_blocks(model, test, model.tolerance))
    assert rates["blocks"] == 96 * 14
    assert rates["false_alarm_rate"] < 0.05


def test_case14_ten_percent_bias_detected_in_most_blocks(case14):
    _, test, model = case14
    mask = block_mask(test, 0.25, seed=11)
    bad = inject(test, "bias", 0.10, mask, levels=model.levels)
    rates = block_rates(flag_blocks(model, bad, model.tolerance), mask)
    assert rates["attacked_blocks"] > 200
    assert rates["detection_rate"] > 0.5
    assert rates["false_alarm_rate"] < 0.05


def test_case14_factors_selected_by_pearson(case14):
    _, _, model = case14
    assert set(model.quantities) == {"vm_pu", "va_degree", "i_ka", "p_mw", "q_mvar"}
    for q, qm in model.quantities.items():
        assert qm.factors, q
        for name in qm.factors:
            assert abs(qm.h[name]) >= 0.3
        # 9 days leave 8 for training: too few for the 1-week lag (7 + 2 days).
        assert "lag_1week" not in qm.h


# ---------------------------------------------------------------- CLI


def _scenario(tmp_path, extra=""):
    p = tmp_path / "s.toml"
    p.write_text('grid = "case14"\nseed = 4\n' + extra + "[[terminals]]\nbus = 2\ndata_mb = 1.0\n")
    return p


def test_cli_json_keys(tmp_path, monkeypatch, capsys):
    """Shape of the JSON object; the series is swapped for a small synthetic one to stay fast."""
    import cppsns3.chain.measurements as meas
    from cppsns3.cli import main

    monkeypatch.setattr(meas, "power_flow_series",
                        lambda grid, days, seed: synthetic_series(buses=2, days=days, seed=seed))
    p = _scenario(tmp_path, "[datacheck]\nenabled = true\ntolerance = 0.04\n")
    rc = main(["validate-data", str(p), "--days", "9", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    r = json.loads(out)
    assert list(r) == ["grid", "seed", "default_tolerance", "factors", "clean", "results",
                       "time_per_block_feature_check_s", "time_per_block_signature_merkle_s"]
    assert r["grid"] == "case14" and r["seed"] == 4 and r["default_tolerance"] == 0.04
    assert set(r["clean"]) == {"false_alarm_rate", "blocks"}
    assert {x["attack"] for x in r["results"]} == {"bias", "scale", "replay", "noise"}
    for x in r["results"]:
        assert list(x) == ["attack", "magnitude", "tolerance", "detection_rate",
                           "false_alarm_rate", "blocks"]
        assert 0 <= x["magnitude"] <= 1
    assert r["time_per_block_feature_check_s"] > 0
    assert r["time_per_block_signature_merkle_s"] > 0


def test_cli_bad_days_is_one_line_exit_2(tmp_path, capsys):
    from cppsns3.cli import main

    rc = main(["validate-data", str(_scenario(tmp_path)), "--days", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("error: --days")
