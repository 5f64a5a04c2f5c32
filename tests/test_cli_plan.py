"""`cppsns3 plan` command line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cppsns3.cli import main

SCEN = Path(__file__).resolve().parent.parent / "scenarios"


def test_json_object_with_contract_keys(capsys):
    assert main(["plan", str(SCEN / "ieee14.toml"), "--json"]) == 0
    out = capsys.readouterr().out
    obj = json.loads(out)
    assert out.count("\n") == 1
    for key in ("grid", "generator_bus", "algorithms", "plan_time_s", "delay_bound_ms", "hop_bound"):
        assert key in obj
    assert set(obj["algorithms"]) == {"qtdr", "qos-r", "ra-dbmm"}
    a = obj["algorithms"]["qtdr"]
    for key in ("load_balance", "max_delay_s", "max_hops", "paths", "links"):
        assert key in a
    p = a["paths"][0]
    assert set(p) >= {"src_bus", "dst_bus", "buses", "delay_s", "hops"}
    x = a["links"][0]
    assert set(x) >= {"a_bus", "b_bus", "bandwidth_mbps", "residual_mbps", "utilisation"}
    assert all(x["a_bus"] < x["b_bus"] for x in a["links"])
    assert len(a["paths"]) == 3 * 13


def test_algorithm_option_and_text(capsys):
    assert main(["plan", str(SCEN / "ieee39_feasibility.toml"), "--algorithm", "qos-r"]) == 0
    out = capsys.readouterr().out
    assert "qos-r" in out and "qtdr" not in out.split("\n", 2)[2].split("generator bus")[0]


@pytest.mark.parametrize("args, needle", [
    (["--algorithm", "fastest"], "--algorithm"),
])
def test_bad_option_one_line_exit_2(capsys, args, needle):
    assert main(["plan", str(SCEN / "ieee14.toml"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and needle in err


def test_bad_scenario_one_line_exit_2(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text('grid = "case14"\n[[terminals]]\nbus = 99\ndata_mb = 1.0\n')
    assert main(["plan", str(p), "--json"]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    assert cap.err.startswith("error: terminals[0].bus") and "99" in cap.err and cap.err.count("\n") == 1


def test_infeasible_is_bad_input_exit_2(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text('grid = "case14"\nhop_bound = 1\n[[terminals]]\nbus = 2\ndata_mb = 1.0\n')
    assert main(["plan", str(p)]) == 2  # CONTRACTS: bad input (an infeasible scenario) exits 2
    err = capsys.readouterr().err
    assert err.startswith("error: no feasible path from bus 2") and "hop_bound" in err


def test_console_script_json_only_on_stdout():
    r = subprocess.run([sys.executable, "-m", "cppsns3", "plan", str(SCEN / "ieee14.toml"), "--json",
                        "--algorithm", "qtdr"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert list(obj["algorithms"]) == ["qtdr"]
