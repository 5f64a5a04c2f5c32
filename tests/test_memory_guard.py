"""The resource guard: the estimate's terms, the refusal path (CLI and API), the available figure.

The calibrated band on a real run is in tests/test_signals.py (a real
``cppsns3 run`` subprocess, whose child's peak RSS is not mixed with other
tests' children).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cppsns3
from cppsns3.cli import main
from cppsns3.errors import InsufficientMemory, ScenarioError
from cppsns3.model import memory as mm
from cppsns3.sim.guard import check_run_memory, estimate_run_memory
from cppsns3.sim.pipeline import RunOptions

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MB = 1e6


@pytest.fixture(scope="module")
def ieee14():
    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml")
    return sc, cppsns3.plan(sc, ["qtdr"])


# -- the estimator --------------------------------------------------------------------------

def test_round_estimate_terms_linear_where_they_should_be():
    buf = 1024 * 1024
    small = mm.estimate_round_memory([0.1 * MB, 0.2 * MB], 10, 30, buf)
    double = mm.estimate_round_memory([0.2 * MB, 0.4 * MB], 10, 30, buf)
    # Below the socket buffer every byte is buffered at once: both terms double.
    assert double.terms["buffers"] == pytest.approx(2 * small.terms["buffers"])
    assert double.terms["transfers"] == pytest.approx(2 * small.terms["transfers"])
    assert small.counts["transfers"] == 2 * 9
    # Above it, the buffered bytes are capped at one buffer per transfer; the carried bytes are not.
    big = mm.estimate_round_memory([4 * MB, 8 * MB], 10, 30, buf)
    bigger = mm.estimate_round_memory([8 * MB, 16 * MB], 10, 30, buf)
    assert big.counts["buffered_bytes"] == pytest.approx(2 * 9 * buf)
    assert bigger.terms["buffers"] == pytest.approx(big.terms["buffers"])
    assert bigger.terms["transfers"] == pytest.approx(2 * big.terms["transfers"])
    # Destinations: every block goes to every other node.
    wide = mm.estimate_round_memory([0.1 * MB, 0.2 * MB], 19, 30, buf)
    assert wide.terms["transfers"] == pytest.approx(2 * small.terms["transfers"])
    # Parent: base + blocks made in Python; the total is the larger, times the children at once.
    assert big.parent_bytes == pytest.approx(mm.PARENT_BASE_BYTES + mm.PREP_BYTES_PER_BLOCK_BYTE * 12 * MB)
    assert big.total_bytes == max(big.parent_bytes, big.child_bytes)
    two = mm.estimate_round_memory([4 * MB, 8 * MB], 10, 30, buf, concurrent=2)
    assert two.total_bytes == pytest.approx(2 * big.total_bytes)
    with pytest.raises(ValueError):
        mm.estimate_round_memory([float("nan")], 10, 30, buf)


def test_validate_estimate_linear_in_duration(ieee14):
    sc, pl = ieee14
    est = [estimate_run_memory(sc, pl, RunOptions(mode="validate", duration_s=d).validated())
           for d in (0.5, 1.0, 1.5)]
    packets = [e.counts["packets"] for e in est]
    assert packets[1] == pytest.approx(2 * packets[0]) and packets[2] == pytest.approx(3 * packets[0])
    assert est[2].terms["packets"] - est[1].terms["packets"] == pytest.approx(
        est[1].terms["packets"] - est[0].terms["packets"])
    assert est[0].counts["flows"] == len(pl.algorithms["qtdr"].paths)
    # The packets are those the load-scaled planned flows send: load doubles them.
    hi = estimate_run_memory(sc, pl, RunOptions(mode="validate", duration_s=0.5, load=1.0).validated())
    assert hi.counts["packets"] == pytest.approx(2 * packets[0])


def test_round_estimate_follows_the_scenario(ieee14):
    sc, pl = ieee14
    from cppsns3.sim.round import TCP_BUFFER_BYTES

    e = estimate_run_memory(sc, pl, RunOptions(mode="round", data_scale=0.5).validated())
    sizes = [t.data_mb * 0.5 * MB for t in sc.terminals]
    n = sc.network.n_nodes
    assert e.counts["transfer_bytes"] == pytest.approx(sum(sizes) * (n - 1))
    assert e.counts["buffered_bytes"] == pytest.approx(sum(min(b, TCP_BUFFER_BYTES) for b in sizes) * (n - 1))
    assert e.counts["ports"] == 2 * sc.network.n_links


# -- available memory ----------------------------------------------------------------------

def test_available_memory_takes_the_lower_of_meminfo_and_cgroup(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:    8000000 kB\n")
    cg = tmp_path / "cg"
    cg.mkdir()
    assert mm.available_memory(str(meminfo), str(cg)) == (8000000 * 1024, "MemAvailable")
    (cg / "memory.max").write_text("max\n")
    assert mm.available_memory(str(meminfo), str(cg))[1] == "MemAvailable"
    (cg / "memory.max").write_text(f"{4 * 10**9}\n")
    (cg / "memory.current").write_text(f"{10**9}\n")
    assert mm.available_memory(str(meminfo), str(cg)) == (3e9, "cgroup memory.max")
    assert mm.available_memory(str(tmp_path / "none"), str(tmp_path / "none")) == (None, "unknown")


def test_check_fits_against_the_machine_figure(ieee14):
    sc, pl = ieee14
    opts = RunOptions(mode="round", data_scale=1.0).validated()
    est = check_run_memory(sc, pl, opts, available=(100e9, "MemAvailable"))
    with pytest.raises(InsufficientMemory) as ei:
        check_run_memory(sc, pl, opts, available=(0.5 * est.total_bytes, "cgroup memory.max"))
    e = ei.value
    assert e.needed_bytes == pytest.approx(est.total_bytes)
    assert e.available_bytes == pytest.approx(0.5 * est.total_bytes) and e.source == "cgroup memory.max"
    assert "cgroup memory.max" in str(e) and mm.format_gb(est.total_bytes) in str(e)
    # --max-memory-gb replaces the machine's figure, both ways.
    check_run_memory(sc, pl, opts, max_memory_gb=1000, available=(1.0, "MemAvailable"))
    with pytest.raises(InsufficientMemory):
        check_run_memory(sc, pl, opts, max_memory_gb=0.01, available=(100e9, "MemAvailable"))


# -- refusal: CLI and API ------------------------------------------------------------------

def test_cli_refuses_with_one_line_naming_both_figures(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["run", str(SCENARIOS / "ieee14.toml"), "--out", str(out), "--max-memory-gb", "0.001",
               "--data-scale", "0.5"])
    cap = capsys.readouterr()
    assert rc == 2
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), cap.err
    sc = cppsns3.Scenario.load(SCENARIOS / "ieee14.toml")
    est = estimate_run_memory(sc, cppsns3.plan(sc, list(sc.algorithms)),
                              RunOptions(mode="round", data_scale=0.5).validated())
    figures = re.findall(r"([0-9.]+) GB", lines[0])
    assert mm.format_gb(est.total_bytes) in lines[0]  # the estimate
    assert "0.001 GB available" in lines[0] and "--max-memory-gb" in lines[0]  # the available figure
    assert len(figures) >= 2
    assert cap.out == ""
    assert not out.exists()  # refused before anything was written


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_cli_bad_max_memory_gb(tmp_path, capsys, value):
    out = tmp_path / "out"
    rc = main(["run", str(SCENARIOS / "ieee14.toml"), "--out", str(out), f"--max-memory-gb={value}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("error: --max-memory-gb") and value in err[0].lower()
    assert not out.exists()


def test_api_refuses_with_typed_exception(tmp_path, ieee14):
    sc, pl = ieee14
    with pytest.raises(InsufficientMemory) as ei:
        cppsns3.run(sc, tmp_path / "out", algorithm="qtdr", data_scale=0.01, max_memory_gb=0.001, plan=pl)
    assert ei.value.available_bytes == pytest.approx(1e6) and ei.value.source == "--max-memory-gb"
    assert ei.value.needed_bytes > 1e6 and isinstance(ei.value, ValueError)
    assert not (tmp_path / "out").exists()
    sim = cppsns3.Simulation(sc, algorithm="qtdr", mode="validate", duration_s=0.01, max_memory_gb=0.001, plan=pl)
    with pytest.raises(InsufficientMemory):
        sim.build()
    with pytest.raises(ScenarioError, match="max-memory-gb"):
        cppsns3.Simulation(sc, algorithm="qtdr", max_memory_gb=-2)
