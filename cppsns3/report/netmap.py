"""Network map: the CPPS communication network drawn over its pandapower grid.

One marker per site at its bus position, the grid's lines and transformers
faintly behind, every link of one algorithm coloured by its (planned or
measured) utilisation with a colourbar, demand terminals as squares and the
generator as a star.

Bus positions (:func:`bus_positions`) are the grid's own geodata
(pandapower 3: ``net.bus.geo`` GeoJSON points) when every in-service bus has
one; otherwise a deterministic layout: pandapower's
``create_generic_coordinates`` (igraph, seeded), or, if that fails, a seeded
networkx spring layout.  The same net always gives the same picture.

A site that merges buses (``merge_transformers``) is named by its lowest bus
and drawn at that bus.  Figures are drawn on the Agg canvas (no display,
no pyplot state).
"""

from __future__ import annotations

import copy
import json
import math
import random
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from cppsns3.model.grid import bus_label, bus_labels
from cppsns3.report.plots import ALGORITHM_LABELS

__all__ = ["COLUMN_LABELS", "LABEL_MAX_SITES", "bus_positions", "plot_network_map", "plot_network_maps"]

#: Colourbar label of each colouring column.
COLUMN_LABELS = {
    "utilisation": "planned utilisation",
    "measured_utilisation": "measured utilisation",
    "offered_utilisation": "offered utilisation",
}
#: Sites are labelled with their bus names up to this many sites.
LABEL_MAX_SITES = 60
#: Colormap of the links (``bad``, i.e. NaN, values in grey).
CMAP = "viridis"
_LAYOUT_SEED = 0
_DPI = 120


def _point(geo):
    """(x, y) of a GeoJSON point (string or mapping), else None."""
    if isinstance(geo, str):
        try:
            geo = json.loads(geo)
        except ValueError:
            return None
    if not isinstance(geo, dict):
        return None
    c = geo.get("coordinates")
    if isinstance(c, (list, tuple)) and c and isinstance(c[0], (list, tuple)):
        c = c[0]  # a line: its first point
    try:
        x, y = float(c[0]), float(c[1])
    except (TypeError, ValueError, IndexError):
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


def _geo_points(net, buses) -> dict | None:
    if "geo" not in net.bus.columns:
        return None
    pts = {int(i): _point(net.bus.at[i, "geo"]) for i in buses}
    return None if any(p is None for p in pts.values()) else pts


def _generic_points(net, buses) -> dict | None:
    """pandapower's generic coordinates on a copy (it drops out-of-service elements), seeded."""
    try:
        from pandapower.plotting.generic_geodata import create_generic_coordinates
    except ImportError:
        return None
    work = copy.deepcopy(net)
    state = random.getstate()  # python-igraph draws from the random module
    try:
        random.seed(_LAYOUT_SEED)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            create_generic_coordinates(work, overwrite=True)
    except Exception:  # noqa: BLE001 - any layout failure: use the networkx layout
        return None
    finally:
        random.setstate(state)
    if "geo" not in work.bus.columns or not all(i in work.bus.index for i in buses):
        return None
    return _geo_points(work, buses)


def _spring_points(net, buses) -> dict:
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(sorted(int(i) for i in net.bus.index))
    for a, b in _branches(net):
        g.add_edge(a, b)
    pos = nx.spring_layout(g, seed=_LAYOUT_SEED)
    return {int(i): (float(pos[int(i)][0]), float(pos[int(i)][1])) for i in buses}


def _branches(net, kind=None) -> list:
    """(from, to) bus indices of the in-service lines (``kind="line"``), trafos (``"trafo"``) or both."""
    out = []
    tables = [("line", "from_bus", "to_bus"), ("trafo", "hv_bus", "lv_bus")]
    for name, fa, fb in tables:
        if kind not in (None, name) or name not in net or not len(net[name]):
            continue
        t = net[name]
        t = t[t["in_service"].astype(bool)] if "in_service" in t.columns else t
        out += [(int(a), int(b)) for a, b in zip(t[fa].to_numpy(), t[fb].to_numpy()) if int(a) != int(b)]
    return out


def bus_positions(net) -> dict:
    """Position of every bus, by bus name (as in links.csv).

    Parameters
    ----------
    net : pandapowerNet

    Returns
    -------
    dict
        Bus name (:func:`cppsns3.model.grid.bus_label`) -> ``(x, y)``: the
        ``net.bus.geo`` points if every in-service bus has one, else a
        deterministic generic layout (same net, same coordinates).
    """
    label = bus_labels(net)
    in_service = net.bus.index[net.bus["in_service"].astype(bool).to_numpy()] \
        if "in_service" in net.bus.columns else net.bus.index
    buses = [int(i) for i in in_service] or [int(i) for i in net.bus.index]
    pts = _geo_points(net, buses) or _generic_points(net, buses) or _spring_points(net, buses)
    # out-of-service buses: their own geodata if any (only background drawing uses them)
    for i in net.bus.index:
        if int(i) not in pts and "geo" in net.bus.columns:
            p = _point(net.bus.at[i, "geo"])
            if p is not None:
                pts[int(i)] = p
    return {label[i]: p for i, p in pts.items()}


def _name(v):
    """A bus name as links.csv / summary.json give it, normalised like :func:`bus_label`."""
    return bus_label(v, -1)


def _site_size(n: int) -> float:
    return 70.0 if n <= LABEL_MAX_SITES else max(6.0, 4000.0 / n)


def _draw(ax, net, links: pd.DataFrame, pos: dict, *, terminals, generator_bus, column, title):
    fig = ax.figure
    if column not in links.columns:
        raise ValueError(f"links: no column {column!r} to colour by")
    algs = links["algorithm"].astype(str).unique() if "algorithm" in links.columns else []
    if len(algs) > 1:
        raise ValueError(f"links: several algorithms ({', '.join(algs)}); pass one algorithm's rows")
    label = bus_labels(net)

    def at(name, what):
        try:
            return pos[name]
        except KeyError:
            raise ValueError(f"{what} {name!r}: the grid has no in-service bus of that name") from None

    # grid in the background
    for kind, style in (("line", "-"), ("trafo", "--")):
        segs = [(pos[label[a]], pos[label[b]]) for a, b in _branches(net, kind)
                if label[a] in pos and label[b] in pos]
        if segs:
            ax.add_collection(LineCollection(segs, colors="0.78", linewidths=0.8, linestyles=style,
                                             zorder=1, gid=f"grid-{kind}s"))
    bg = np.array(list(pos.values()), float).reshape(-1, 2)
    n_sites_guess = len(set(links["a_bus"].map(_name)) | set(links["b_bus"].map(_name))) if len(links) else len(pos)
    ax.scatter(bg[:, 0], bg[:, 1], s=_site_size(n_sites_guess) / 6, c="0.7", linewidths=0, zorder=1.5,
               gid="grid-buses")

    # links
    a_names = [_name(v) for v in links["a_bus"]]
    b_names = [_name(v) for v in links["b_bus"]]
    segs = [(at(a, "links.csv a_bus"), at(b, "links.csv b_bus")) for a, b in zip(a_names, b_names)]
    values = pd.to_numeric(links[column], errors="coerce").to_numpy(float)
    finite = values[np.isfinite(values)]
    cmap = matplotlib.colormaps[CMAP].with_extremes(bad="0.55")
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        if hi <= lo:
            lo, hi = (0.0, hi) if hi > 0 else (lo - 1.0, lo + 1.0)
        norm = Normalize(vmin=lo, vmax=hi)
        widths = np.where(np.isfinite(values), 1.5 + 3.0 * np.clip(norm(np.nan_to_num(values, nan=lo)), 0, 1), 1.0)
    else:
        norm = Normalize(vmin=0.0, vmax=1.0)
        widths = np.ones(len(values))
    lc = LineCollection(segs, array=np.ma.masked_invalid(values), cmap=cmap, norm=norm, linewidths=widths,
                        capstyle="round", zorder=2, gid="links")
    ax.add_collection(lc)
    what = COLUMN_LABELS.get(column, column.replace("_", " "))
    if finite.size:
        fig.colorbar(lc, ax=ax, shrink=0.8, pad=0.02, label=what)
    else:
        ax.text(0.5, 0.02, f"no {what} in links", transform=ax.transAxes, ha="center", fontsize=9, color="0.3")

    # sites, terminals, generator
    sites = list(dict.fromkeys(a_names + b_names))
    terms = list(dict.fromkeys(_name(t) for t in terminals))
    gen = _name(generator_bus) if generator_bus is not None else None
    txy = np.array([at(t, "terminal") for t in terms], float).reshape(-1, 2)
    gxy = at(gen, "generator bus") if gen is not None else None
    for s in terms + ([gen] if gen is not None else []):
        if s not in sites:
            sites.append(s)
    n = len(sites)
    size = _site_size(n)
    xy = np.array([at(s, "site") for s in sites], float).reshape(-1, 2)
    ax.scatter(xy[:, 0], xy[:, 1], s=size, facecolors="white", edgecolors="0.15", linewidths=0.9, zorder=3,
               gid="sites")
    handles = [Line2D([], [], ls="", marker="o", mfc="white", mec="0.15", label=f"site ({n})")]
    if terms:
        ax.scatter(txy[:, 0], txy[:, 1], s=size * 1.3, marker="s", facecolors="tab:red", edgecolors="0.1",
                   linewidths=0.9, zorder=4, gid="terminals")
        handles.append(Line2D([], [], ls="", marker="s", mfc="tab:red", mec="0.1",
                              label=f"demand terminal ({len(terms)})"))
    if gen is not None:
        gx, gy = gxy
        ax.scatter([gx], [gy], s=max(size * 4.0, 160.0), marker="*", facecolors="gold", edgecolors="0.1",
                   linewidths=0.9, zorder=5, gid="generator")
        handles.append(Line2D([], [], ls="", marker="*", ms=13, mfc="gold", mec="0.1", label=f"generator (bus {gen})"))
    handles.append(Line2D([], [], color="0.78", lw=0.8, label="grid line"))
    if _branches(net, "trafo"):
        handles.append(Line2D([], [], color="0.78", lw=0.8, ls="--", label="grid transformer"))
    handles.append(Line2D([], [], color=cmap(0.75), lw=3, label=f"CPPS link ({len(segs)})"))
    if n <= LABEL_MAX_SITES:
        for s, (x, y) in zip(sites, xy):
            ax.annotate(str(s), (x, y), xytext=(7, 6), textcoords="offset points", fontsize=8, zorder=6,
                        color="0.1", bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.9)

    allxy = np.vstack([bg, xy]) if bg.size else xy
    if allxy.size:
        (x0, y0), (x1, y1) = allxy.min(axis=0), allxy.max(axis=0)
        mx, my = 0.06 * (x1 - x0 or 1.0), 0.06 * (y1 - y0 or 1.0)
        ax.set_xlim(x0 - mx, x1 + mx)
        ax.set_ylim(y0 - my, y1 + my)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title if title is not None else f"CPPS links by {what}")
    return fig


def _new_figure(ncols: int = 1) -> tuple[Figure, list]:
    fig = Figure(figsize=(8.0 * ncols, 7.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, k + 1) for k in range(ncols)]
    return fig, axes


def _save(fig, path) -> Path:
    from cppsns3.atomic import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=_DPI, format=path.suffix.lstrip(".") or "png")
    return path


def plot_network_map(net, links, *, terminals=(), generator_bus=None, path=None, column="utilisation",
                     title=None, ax=None) -> Figure:
    """Draw one algorithm's CPPS links over the grid.

    Parameters
    ----------
    net : pandapowerNet
        The grid of the run.
    links : pandas.DataFrame
        One algorithm's rows of links.csv (``a_bus``, ``b_bus`` site names
        and ``column``).
    terminals : iterable of bus names
        Demand terminals (red squares).
    generator_bus : bus name, optional
        The generator (gold star).
    path : path, optional
        Where to write the PNG.
    column : str
        What colours the links: ``utilisation`` (planned) or
        ``measured_utilisation``; the colour scale spans its minimum to its
        maximum (NaN: grey).
    title : str, optional
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (the colourbar takes room of its figure).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``column`` is missing, ``links`` holds several algorithms, or a
        site, terminal or generator is not a bus name of ``net``.
    """
    if ax is None:
        fig, (ax,) = _new_figure()
    fig = _draw(ax, net, links, bus_positions(net), terminals=terminals, generator_bus=generator_bus,
                column=column, title=title)
    if path is not None:
        _save(fig, path)
    return fig


def plot_network_maps(net, links_df, summary, out_dir) -> list[Path]:
    """Write ``network_map-ALGORITHM.png`` for every algorithm of ``links_df``.

    Each figure has the planned utilisation on the left and the measured one
    on the right (only the planned one if links.csv has no measured values);
    terminals are the ``src_bus`` values of ``summary["algorithms"][ALG]["flows"]``
    and the generator is its ``generator_bus``.

    Parameters
    ----------
    net : pandapowerNet
    links_df : pandas.DataFrame
        links.csv of the run.
    summary : dict
        summary.json of the run.
    out_dir : path

    Returns
    -------
    list of Path
        The PNGs written, in canonical algorithm order.

    Raises
    ------
    ValueError
        As :func:`plot_network_map`.
    """
    from cppsns3.report.rundir import ALGORITHMS

    out = Path(out_dir)
    pos = bus_positions(net)
    names = [str(a) for a in links_df["algorithm"].astype(str).unique()]
    names.sort(key=lambda a: (ALGORITHMS.index(a) if a in ALGORITHMS else 99, a))
    grid = (summary or {}).get("grid")
    written = []
    for alg in names:
        sub = links_df[links_df["algorithm"].astype(str) == alg]
        rec = ((summary or {}).get("algorithms") or {}).get(alg) or {}
        terms = sorted({_name(f["src_bus"]) for f in rec.get("flows") or () if "src_bus" in f},
                       key=lambda b: (0, b, "") if isinstance(b, int) else (1, 0, str(b)))
        gen = rec.get("generator_bus")
        cols = ["utilisation"]
        if "measured_utilisation" in sub.columns and pd.to_numeric(sub["measured_utilisation"],
                                                                   errors="coerce").notna().any():
            cols.append("measured_utilisation")
        fig, axes = _new_figure(len(cols))
        for ax, col in zip(axes, cols):
            _draw(ax, net, sub, pos, terminals=terms, generator_bus=gen, column=col,
                  title=COLUMN_LABELS.get(col, col).capitalize())
        where = f" ({grid})" if grid else ""
        fig.suptitle(f"CPPS network map, {ALGORITHM_LABELS.get(alg, alg)}{where}")
        written.append(_save(fig, out / f"network_map-{alg}.png"))
    return written
