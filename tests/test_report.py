"""`cppsns3 report DIR` and the figure functions, on a synthetic run directory.

The directory has the CONTRACTS "Runs" layout and columns; values are Eq. 1
and Eq. 2 figures with a little noise on the "measured" side.
"""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cppsns3.model.queueing import mm1k
from cppsns3.report import PLOT_FILES, load_run, report_run
from cppsns3.report.rundir import FLOWS_COLUMNS, LINKS_COLUMNS, PORTS_COLUMNS

ALGS = ("qtdr", "qos-r", "ra-dbmm")
RING = [(1, 2), (2, 3), (3, 4), (1, 4)]
MU = 1000.0
K = 10


def write_run(d, mode="round", flowmon_xml=None):
    """A small run directory in the CONTRACTS layout (4-bus ring)."""
    rng = np.random.default_rng(5)
    d.mkdir(parents=True, exist_ok=True)
    flows, ports, links, algs = [], [], [], {}
    for ai, a in enumerate(ALGS):
        frecs = []
        for s in (1, 3):
            for t in (1, 2, 3, 4):
                if s == t:
                    continue
                hops = 1 if (min(s, t), max(s, t)) in RING else 2
                an = hops * 2.5e-3 + ai * 1e-4
                meas = an * (1 + rng.normal(0, 0.03))
                rec = dict(algorithm=a, src_bus=s, dst_bus=t, hops=hops, buses=" ".join(map(str, range(s, t + 1))),
                           sent_packets=1000, received_packets=998, dropped_packets=2, analytic_delay_s=an,
                           analytic_delay_relay_only_s=an - 1e-3, measured_delay_s=meas,
                           measured_delay_ci95_s=0.04 * an, loss_ratio=0.002)
                flows.append(rec)
                frecs.append({k: rec[k] for k in ("src_bus", "dst_bus", "analytic_delay_s", "measured_delay_s",
                                                  "measured_delay_ci95_s", "loss_ratio")})
        for i, (x, y) in enumerate(RING):
            for bus, peer in ((x, y), (y, x)):
                rho = 0.1 + 0.11 * (2 * i + (bus == y)) + 0.01 * ai
                m = mm1k(rho * MU, MU, K)
                ports.append(dict(algorithm=a, bus=bus, peer_bus=peer, rho=rho, capacity=K,
                                  analytic_loss_probability=m.loss_probability,
                                  measured_loss_probability=max(0.0, m.loss_probability * (1 + rng.normal(0, 0.1))),
                                  measured_loss_probability_ci95=0.1 * m.loss_probability + 1e-4,
                                  analytic_mean_time_in_system_s=m.mean_time_in_system_s,
                                  measured_mean_time_in_system_s=m.mean_time_in_system_s * (1 + rng.normal(0, 0.02)),
                                  measured_mean_time_in_system_ci95_s=0.03 * m.mean_time_in_system_s))
            u = 0.2 + 0.15 * i + 0.05 * ai
            links.append(dict(algorithm=a, a_bus=x, b_bus=y, bandwidth_mbps=1000.0, length_km=50.0, delay_s=2.5e-4,
                              residual_mbps=1000 * (1 - u), utilisation=u, measured_utilisation=u * 1.02))
        algs[a] = {"load_balance": 10.0 + ai, "nodes_appended": 4, "nodes_total": 4, "blocks_rejected": 0,
                   "flows": frecs}
        if mode == "round":
            algs[a]["generation_time_s"] = 0.8 + 0.1 * ai
    summary = {"scenario": "ring4.toml", "grid": "ring4", "seed": 1, "mode": mode, "generator_bus": 2,
               "algorithms": algs}
    (d / "summary.json").write_text(json.dumps(summary))
    pd.DataFrame(flows, columns=FLOWS_COLUMNS).to_csv(d / "flows.csv", index=False)
    pd.DataFrame(ports, columns=PORTS_COLUMNS).to_csv(d / "ports.csv", index=False)
    pd.DataFrame(links, columns=LINKS_COLUMNS).to_csv(d / "links.csv", index=False)
    if flowmon_xml is not None:
        for a in ALGS:
            (d / f"flowmon-{a}.xml").write_text(flowmon_xml)
    return d


def _check_png(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        w, h = im.size
        assert w > 300 and h > 200
        # not blank: several distinct colours
        assert len(im.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 20


def _fine_flowmon_xml():
    """FULL_XML with a delay histogram of 1 us bins (12 non-empty)."""
    from test_traces_formats import FULL_XML

    bins = "".join(f'        <bin index="{100 + i}" start="{(100 + i) * 1e-6:g}" width="1e-06" count="{5 + i * i}" />\n'
                   for i in range(12))
    a = FULL_XML.index('        <bin index="3"')
    b = FULL_XML.index("      </delayHistogram>")
    return FULL_XML[:a] + bins + FULL_XML[b:]


def test_report_round_mode(tmp_path):
    d = write_run(tmp_path / "run", flowmon_xml=_fine_flowmon_xml())
    written, skipped = report_run(d)
    # Round-mode ports carry TCP bursts, which Eq. 1 does not model: no Eq. 1 plot.
    assert sorted(p.name for p in written) == sorted(set(PLOT_FILES) - {"ports_eq1.png"})
    assert list(skipped) == ["ports_eq1.png"] and "round mode" in skipped["ports_eq1.png"]
    for p in written:
        assert p.parent == d / "plots"
        _check_png(p)


def test_report_skips_coarse_flowmon_histograms(tmp_path):
    from test_traces_formats import FULL_XML

    d = write_run(tmp_path / "run", flowmon_xml=FULL_XML)  # two 1 ms bins
    written, skipped = report_run(d)
    assert "delay_distribution.png" not in {p.name for p in written}
    assert "DelayBinWidth" in skipped["delay_distribution.png"]


def test_report_validate_mode_skips_generation_time(tmp_path):
    d = write_run(tmp_path / "run", mode="validate")
    written, skipped = report_run(d, tmp_path / "figs")
    names = {p.name for p in written}
    assert names == {"delay_scatter.png", "ports_eq1.png", "link_utilisation.png"}
    assert set(skipped) == {"generation_time.png", "delay_distribution.png"}
    assert all(p.parent == tmp_path / "figs" for p in written)


def test_load_run(tmp_path):
    run = load_run(write_run(tmp_path / "run"))
    assert run.algorithms() == list(ALGS)
    assert run.generation_times()["generation_time_s"].tolist() == pytest.approx([0.8, 0.9, 1.0])
    assert run.mode == "round" and run.grid == "ring4"


def _cli(argv, capsys):
    from cppsns3.cli import main

    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_report(tmp_path, capsys):
    d = write_run(tmp_path / "run")
    rc, out, err = _cli(["report", str(d)], capsys)
    assert rc == 0, err
    lines = out.split()
    assert len(lines) == 3 and all(line.endswith(".png") for line in lines)
    assert "skipped delay_distribution.png" in err and "skipped ports_eq1.png" in err
    rc, out, err = _cli(["report", str(d), "--json"], capsys)
    obj = json.loads(out)
    assert len(obj["plots"]) == 3 and {"delay_distribution.png", "ports_eq1.png"} <= set(obj["skipped"])


def test_cli_report_errors(tmp_path, capsys):
    rc, out, err = _cli(["report", str(tmp_path / "nope")], capsys)
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1 and out == ""
    d = write_run(tmp_path / "run")
    pd.read_csv(d / "ports.csv").drop(columns=["rho"]).to_csv(d / "ports.csv", index=False)
    rc, out, err = _cli(["report", str(d)], capsys)
    assert rc == 2
    assert err.startswith("error: ") and "ports.csv: missing column(s) rho" in err
    (d / "summary.json").write_text("{")
    rc, out, err = _cli(["report", str(d)], capsys)
    assert rc == 2 and "summary.json: not valid JSON" in err


def test_cli_report_as_a_program(tmp_path):
    # the console script path: one process, PNG paths on stdout
    d = write_run(tmp_path / "run", mode="validate")
    r = subprocess.run([sys.executable, "-m", "cppsns3", "report", str(d)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert [ln.rsplit("/", 1)[-1] for ln in r.stdout.split()] == ["delay_scatter.png", "ports_eq1.png",
                                                                   "link_utilisation.png"]


def test_paper_figures(tmp_path):
    from cppsns3.report import plots
    from cppsns3.report.paper import PAPER_TABLE3, generation_times_by_grid, merged_table, table3_from_plans

    t = table3_from_plans({"14-bus": {"qtdr": 3.0, "qos-r": 4.0, "ra-dbmm": 2.0}, "ring": {"qtdr": 1.0, "qos-r": 2.0,
                                                                                             "ra-dbmm": 1.0}})
    r = t.set_index("grid")
    assert r.loc["14-bus", "qtdr_vs_qos_r_reduction_ratio"] == pytest.approx(0.25)
    assert r.loc["14-bus", "qtdr_vs_ra_dbmm_reduction_ratio"] == pytest.approx(-0.5)
    assert r.loc["14-bus", "paper_qtdr_load_balance"] == PAPER_TABLE3["14-bus"][2]
    assert r.loc["14-bus", "paper_qtdr_vs_qos_r_reduction_ratio"] == pytest.approx((7.19 - 4.83) / 7.19)
    assert np.isnan(r.loc["ring", "paper_qos_r_load_balance"])
    _check_png(plots.plot_load_balance_table(t, tmp_path / "t3.png"))
    with pytest.raises(ValueError, match="no Load_B for ra-dbmm"):
        table3_from_plans({"x": {"qtdr": 1.0, "qos-r": 1.0}})

    runs = {"14-bus": write_run(tmp_path / "a"), "39-bus": write_run(tmp_path / "b")}
    g = generation_times_by_grid(runs)
    assert len(g) == 6 and g["grid"].tolist()[:3] == ["14-bus"] * 3
    _check_png(plots.plot_generation_time_by_grid(g, tmp_path / "f11.png"))
    links = merged_table(runs, "links", label="grid")
    assert set(links["grid"]) == {"14-bus", "39-bus"}


def test_many_links_are_drawn_as_lines(tmp_path):
    from cppsns3.report import plots

    rows = [dict(algorithm=a, a_bus=i, b_bus=i + 1, utilisation=0.01 * (i % 50) + 0.1 * j,
                 measured_utilisation=0.01 * (i % 50) + 0.1 * j + 0.005)
            for j, a in enumerate(ALGS) for i in range(1, 180)]
    _check_png(plots.plot_link_utilisation(pd.DataFrame(rows), tmp_path / "f12.png", title="many links"))
