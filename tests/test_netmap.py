"""Network map (cppsns3.report.netmap) and its hook in ``cppsns3 report``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pandapower as pp
import pandapower.networks as pn
import pytest
from PIL import Image

from cppsns3.model.grid import bus_label
from cppsns3.model.routing import plan
from cppsns3.model.scenario import load_scenario
from cppsns3.report import report_run
from cppsns3.report.netmap import CMAP, bus_positions, plot_network_map, plot_network_maps
from cppsns3.report.rundir import LINKS_COLUMNS

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
ALGS = ("qtdr", "qos-r", "ra-dbmm")


def _links_and_summary(scenario_file):
    """links.csv rows and a minimal summary.json of a plan, as ``cppsns3 run`` writes them."""
    sc = load_scenario(SCENARIOS / scenario_file)
    p = plan(sc)
    rows, algs = [], {}
    for ai, (a, ap) in enumerate(p.algorithms.items()):
        for e, lk in enumerate(ap.links):
            rows.append({"algorithm": a, "a_bus": lk.a_bus, "b_bus": lk.b_bus, "bandwidth_mbps": lk.bandwidth_mbps,
                         "length_km": lk.length_km, "delay_s": lk.delay_s, "residual_mbps": lk.residual_mbps,
                         "utilisation": lk.utilisation,
                         # a deterministic "measurement" whose order differs from the plan's
                         "measured_utilisation": lk.utilisation * (0.8 + 0.4 * ((7 * e + ai) % 11) / 10)})
        algs[a] = {"generator_bus": ap.generator_bus, "load_balance": ap.load_balance,
                   "flows": [{"src_bus": f.src_bus, "dst_bus": f.dst_bus} for f in ap.paths]}
    summary = {"grid": sc.grid, "mode": "validate", "seed": 1, "algorithms": algs}
    return pd.DataFrame(rows, columns=LINKS_COLUMNS), summary


@pytest.fixture(scope="module")
def ieee14():
    return _links_and_summary("ieee14.toml")


@pytest.fixture(scope="module")
def ieee39():
    return _links_and_summary("ieee39.toml")


def write_run(d: Path, links: pd.DataFrame, summary: dict, net=None, grid_name=None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    s = dict(summary)
    if grid_name is not None:
        s["grid"] = grid_name
    (d / "summary.json").write_text(json.dumps(s))
    links.to_csv(d / "links.csv", index=False)
    if net is not None:
        pp.to_json(net, str(d / "grid.json"))
    return d


def _check_png(path, min_w=600, min_h=300):
    with Image.open(path) as im:
        assert im.format == "PNG"
        w, h = im.size
        assert w >= min_w and h >= min_h
        assert len(im.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50
        return w, h


def _gid(ax, gid):
    found = [c for c in ax.collections if c.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def _geo(net, name):
    """Position of the bus named ``name`` straight from its GeoJSON."""
    idx = [int(i) for i, n in zip(net.bus.index, net.bus["name"]) if bus_label(n, int(i)) == name]
    assert len(idx) == 1
    return tuple(json.loads(net.bus.at[idx[0], "geo"])["coordinates"][:2])


def _terminals(summary, alg):
    return sorted({f["src_bus"] for f in summary["algorithms"][alg]["flows"]})


# ---------------------------------------------------------------- report hook


@pytest.mark.parametrize("case", ["case14", "case39"])
def test_report_draws_network_maps_from_grid_json(tmp_path, ieee14, ieee39, case):
    links, summary = ieee14 if case == "case14" else ieee39
    # the summary's grid name is not loadable: the net must come from grid.json
    d = write_run(tmp_path / "run", links, summary, net=getattr(pn, case)(), grid_name="my-grid")
    written, skipped = report_run(d)
    maps = sorted(p.name for p in written if p.name.startswith("network_map-"))
    assert maps == sorted(f"network_map-{a}.png" for a in ALGS)
    assert "network_map-ALGORITHM.png" not in skipped
    for a in ALGS:
        p = d / "plots" / f"network_map-{a}.png"
        assert p.is_file()
        w, h = _check_png(p)
        assert w > 1.6 * h  # planned and measured side by side


def test_report_loads_the_named_grid_without_grid_json(tmp_path, ieee14):
    links, summary = ieee14
    d = write_run(tmp_path / "run", links, summary)  # summary grid "case14", no grid.json
    written, _ = report_run(d)
    assert {f"network_map-{a}.png" for a in ALGS} <= {p.name for p in written}


def test_report_without_a_known_grid_draws_no_map(tmp_path, ieee14):
    links, summary = ieee14
    d = write_run(tmp_path / "run", links, summary, grid_name="ring4")
    written, skipped = report_run(d)
    assert not [p for p in written if p.name.startswith("network_map-")]
    assert "network_map-ALGORITHM.png" not in skipped


def test_report_skips_maps_of_a_bad_grid_json(tmp_path, ieee14):
    links, summary = ieee14
    d = write_run(tmp_path / "run", links, summary, grid_name="ring4")
    (d / "grid.json").write_text("{not json")
    written, skipped = report_run(d)
    assert not [p for p in written if p.name.startswith("network_map-")]
    assert "grid.json" in skipped["network_map-ALGORITHM.png"]
    assert (d / "plots" / "link_utilisation.png").is_file()  # the other figures still drawn


def test_report_skips_maps_whose_links_the_grid_lacks(tmp_path, ieee39):
    links, summary = ieee39  # buses 15..39 do not exist in case14
    d = write_run(tmp_path / "run", links, summary, net=pn.case14())
    written, skipped = report_run(d)
    assert not [p for p in written if p.name.startswith("network_map-")]
    assert "no in-service bus" in skipped["network_map-ALGORITHM.png"]


# ---------------------------------------------------------------- the figure


@pytest.mark.parametrize("column", ["utilisation", "measured_utilisation"])
def test_link_colours_span_the_colormap(ieee14, column):
    links, summary = ieee14
    sub = links[links["algorithm"] == "qtdr"].reset_index(drop=True)
    fig = plot_network_map(pn.case14(), sub, column=column)
    fig.canvas.draw()
    lc = _gid(fig.axes[0], "links")  # axes[1] is the colourbar
    values = sub[column].to_numpy(float)
    np.testing.assert_allclose(np.asarray(lc.get_array()), values)
    colours = lc.get_colors()
    cmap = matplotlib.colormaps[CMAP]
    assert len(colours) == len(sub)
    np.testing.assert_allclose(colours[int(np.argmax(values))], cmap(1.0), atol=1e-6)
    np.testing.assert_allclose(colours[int(np.argmin(values))], cmap(0.0), atol=1e-6)
    assert lc.norm.vmin == pytest.approx(values.min()) and lc.norm.vmax == pytest.approx(values.max())
    # the most used link is also the widest
    widths = np.asarray(lc.get_linewidths())
    assert widths[int(np.argmax(values))] == widths.max() > widths[int(np.argmin(values))]


@pytest.mark.parametrize("alg", ALGS)
def test_every_link_drawn_between_its_buses(ieee14, alg):
    links, summary = ieee14
    net = pn.case14()
    sub = links[links["algorithm"] == alg]
    fig = plot_network_map(net, sub)
    lc = _gid(fig.axes[0], "links")
    segs = lc.get_segments()
    assert len(segs) == len(sub) == 20
    for seg, a, b in zip(segs, sub["a_bus"], sub["b_bus"]):
        np.testing.assert_allclose(seg[0], _geo(net, a))
        np.testing.assert_allclose(seg[-1], _geo(net, b))


def test_generator_and_terminals_at_their_buses(ieee39):
    links, summary = ieee39
    net = pn.case39()
    alg = "ra-dbmm"
    gen = summary["algorithms"][alg]["generator_bus"]
    terms = _terminals(summary, alg)
    assert len(terms) >= 3
    fig = plot_network_map(net, links[links["algorithm"] == alg], terminals=terms, generator_bus=gen)
    ax = fig.axes[0]
    np.testing.assert_allclose(_gid(ax, "generator").get_offsets(), [_geo(net, gen)])
    np.testing.assert_allclose(_gid(ax, "terminals").get_offsets(), [_geo(net, t) for t in terms])
    sites = _gid(ax, "sites").get_offsets()
    assert len(sites) == 39
    # labels with the bus names on a small grid
    texts = {t.get_text() for t in ax.texts}
    assert {str(b) for b in range(1, 40)} <= texts
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"generator (bus {gen})" in legend and f"demand terminal ({len(terms)})" in legend


def test_positions_are_the_geodata(ieee14):
    net = pn.case14()
    pos = bus_positions(net)
    assert sorted(pos) == list(range(1, 15))
    for name, xy in pos.items():
        assert xy == pytest.approx(_geo(net, name))


def test_layout_without_geodata_is_deterministic(ieee14):
    links, summary = ieee14
    sub = links[links["algorithm"] == "qos-r"]

    def bare():
        net = pn.case14()
        net.bus["geo"] = None
        return net

    random.seed(1)
    p1 = bus_positions(bare())
    random.seed(2)
    p2 = bus_positions(bare())
    assert sorted(p1) == list(range(1, 15))
    assert p1 == p2
    xy = np.array(list(p1.values()))
    assert np.all(np.isfinite(xy)) and len({tuple(r) for r in np.round(xy, 6)}) == 14  # no two buses coincide
    offsets = []
    for _ in range(2):
        fig = plot_network_map(bare(), sub, terminals=_terminals(summary, "qos-r"),
                               generator_bus=summary["algorithms"]["qos-r"]["generator_bus"])
        ax = fig.axes[0]
        offsets.append((_gid(ax, "sites").get_offsets().copy(), np.array(_gid(ax, "links").get_segments())))
    np.testing.assert_array_equal(offsets[0][0], offsets[1][0])
    np.testing.assert_array_equal(offsets[0][1], offsets[1][1])


def test_the_net_is_not_changed():
    net = pn.case14()
    net.bus["geo"] = None
    net.line.loc[0, "in_service"] = False  # generic coordinates drop such elements: on a copy only
    n_lines = len(net.line)
    bus_positions(net)
    assert len(net.line) == n_lines and net.bus["geo"].isna().all()


def test_path_writes_a_png(tmp_path, ieee14):
    links, _ = ieee14
    out = tmp_path / "sub" / "map.png"
    fig = plot_network_map(pn.case14(), links[links["algorithm"] == "qtdr"], path=out, title="t")
    assert fig.axes[0].get_title() == "t"
    _check_png(out, min_w=400)


def test_missing_measurements_give_one_panel_and_grey_links(tmp_path, ieee14):
    links, summary = ieee14
    no_meas = links.assign(measured_utilisation=np.nan)
    (p,) = plot_network_maps(pn.case14(), no_meas[no_meas["algorithm"] == "qtdr"], summary, tmp_path)
    assert p.name == "network_map-qtdr.png"
    w, h = _check_png(p, min_w=400)
    assert w < 1.6 * h  # planned utilisation only
    # one NaN among measured values: drawn grey, the others still coloured
    sub = links[links["algorithm"] == "qtdr"].reset_index(drop=True).copy()
    sub.loc[3, "measured_utilisation"] = np.nan
    fig = plot_network_map(pn.case14(), sub, column="measured_utilisation")
    fig.canvas.draw()
    colours = _gid(fig.axes[0], "links").get_colors()
    assert len(colours) == len(sub)
    np.testing.assert_allclose(colours[3][:3], matplotlib.colors.to_rgb("0.55"), atol=1e-6)


def test_bad_input_is_a_clear_error(ieee14):
    links, _ = ieee14
    net = pn.case14()
    with pytest.raises(ValueError, match="several algorithms"):
        plot_network_map(net, links)
    sub = links[links["algorithm"] == "qtdr"]
    with pytest.raises(ValueError, match="no column"):
        plot_network_map(net, sub, column="nope")
    with pytest.raises(ValueError, match="generator bus 99"):
        plot_network_map(net, sub, generator_bus=99)
