"""Delay models against ns-3 where queueing matters: sweep load on the WAN scenarios.

For each scenario (ieee14_wan, ieee39_wan) and load (utilisation of the
busiest port, 0.3 .. 0.9) one validate run of the scenario's algorithms
(``--replications`` independent replications) measures every flow and port;
every delay model asked for is evaluated on the same flows (the simulation
does not depend on the model).  Per scenario, load and model it reports

* ``coverage_pct``: flows whose analytic delay is inside the measured 95 % CI
  over the replications, Bonferroni-corrected over the point's flows
  (``coverage_unadjusted_pct``: inside each flow's own 95 % CI);
* the median and worst relative error of the queueing part of a flow's delay
  (delay minus propagation: waiting and transmission at its sending ports),
  ``|analytic / measured - 1|``, and the signed median (the bias);
* per port, the relative error of W (time in system of an accepted packet) at
  relay ports (some flow arrives there from another port) and source ports.

Writes ``<out>/delay_models_flows.csv`` (one row per scenario, load, algorithm,
flow; a point's rows are appended when it finishes, and a rerun skips the
points already there) and ``<out>/delay_models_ports.csv``, the measured side;
then every model's analytic figures are computed beside them (no simulation)
into ``<out>/delay_models_per_flow.csv`` and ``<out>/delay_models_per_port.csv``,
the table into ``<out>/delay_models.csv`` and the plot into ``<out>/delay_models.png``.

The Bonferroni family is one algorithm's flows at one point (the flows that
share that run's queues, 39 on ieee14_wan); ``coverage_pct`` pools the
scenario's algorithms.

Usage::

    python scripts/validate_delay_models.py --out OUT [--scenarios ieee14_wan,ieee39_wan]
        [--loads 0.3,0.5,0.7,0.9] [--duration-s 10] [--replications 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's cppsns3, not another installed copy
SCENARIOS = ("ieee14_wan", "ieee39_wan")
LOADS = (0.3, 0.5, 0.7, 0.9)
MODELS = ("paper",)
#: Family-wise confidence of the coverage criterion.
CONFIDENCE = 0.95


def bonferroni_scale(n_flows: int, reps: int) -> float:
    """Factor on a 95 % t half-width that makes it a Bonferroni interval over ``n_flows``."""
    from cppsns3.model.stats import t_quantile

    return t_quantile(1 - (1 - CONFIDENCE) / n_flows, reps - 1) / t_quantile(CONFIDENCE, reps - 1)


def model_figures(base, pl, opts, model: str):
    """Per algorithm: the model's analytic (delay, queueing part) per flow and W per port."""
    from cppsns3.sim.pipeline import prepare

    sc = base if model == "paper" else base.replace(delay_model=model)
    net = sc.network
    out = {}
    for pa in prepare(sc, pl, opts):
        w = pa.ports_an["mean_time_in_system_s"]
        out[pa.aplan.name] = (
            [(a[0], a[0] - a[2]) for a in pa.analytic],
            {(net.nodes[u], net.nodes[v]): float(w[net.port_id(u, v)])
             for u, v in ((int(a), int(b)) for e in range(net.n_links)
                          for a, b in ((net.edge_a[e], net.edge_b[e]), (net.edge_b[e], net.edge_a[e])))},
        )
    return out


def one_point(name: str, load: float, duration_s: float, reps: int, seed):
    """Flows and ports of one validate run (the run's ``flows.csv`` and ``ports.csv``)."""
    from cppsns3.model.scenario import Scenario
    from cppsns3.sim.run import run

    base = Scenario.load(ROOT / "scenarios" / f"{name}.toml")
    with tempfile.TemporaryDirectory() as tmp:
        run(base, Path(tmp) / "run", mode="validate", seed=seed, replications=reps, load=load,
            duration_s=duration_s)
        flows = pd.read_csv(Path(tmp) / "run" / "flows.csv")
        ports = pd.read_csv(Path(tmp) / "run" / "ports.csv")
    for t in (flows, ports):
        t.insert(0, "load", load)
        t.insert(0, "scenario", name)
    return flows, ports


def add_models(flows: pd.DataFrame, ports: pd.DataFrame, duration_s: float, reps: int, seed, models):
    """Every model's analytic figures beside the measured ones (no simulation: the
    analytic side depends on the scenario, plan and load only)."""
    from cppsns3.model.routing import plan as make_plan
    from cppsns3.model.scenario import Scenario
    from cppsns3.sim.pipeline import RunOptions

    flows, ports = flows.copy(), ports.copy()
    for name in flows.scenario.unique():
        base = Scenario.load(ROOT / "scenarios" / f"{name}.toml")
        pl = make_plan(base, list(base.algorithms))
        for load in flows.load[flows.scenario == name].unique():
            fs = (flows.scenario == name) & (flows.load == load)
            ps = (ports.scenario == name) & (ports.load == load)
            opts = RunOptions(mode="validate", seed=seed, replications=reps, load=float(load),
                              duration_s=duration_s)
            for model in models:
                figs = model_figures(base, pl, opts, model)
                f = flows[fs]
                # Rows of flows.csv: the algorithms in the plan's order, flows in plan order.
                d = np.concatenate([[a[0] for a in figs[algo][0]] for algo in f.algorithm.unique()])
                q = np.concatenate([[a[1] for a in figs[algo][0]] for algo in f.algorithm.unique()])
                flows.loc[fs, f"{model}_delay_s"] = d
                flows.loc[fs, f"{model}_queueing_delay_s"] = q
                p = ports[ps]
                ports.loc[ps, f"{model}_w_s"] = [figs[a][1][(b, pb)] for a, b, pb in
                                                 zip(p.algorithm, p.bus, p.peer_bus)]
                if model == "paper":  # the scenario files' model: the run's own outputs, the same numbers
                    assert np.allclose(d, f.analytic_delay_s, rtol=1e-9)
                    assert np.allclose(ports.loc[ps, f"{model}_w_s"], p.analytic_mean_time_in_system_s, rtol=1e-9)
    relay = set()
    for key in zip(flows.scenario, flows.load, flows.algorithm, flows.buses):
        b = [int(x) for x in key[3].split()]
        relay.update((*key[:3], u, v) for u, v in zip(b[1:-1], b[2:]))
    ports["relay_port"] = [k in relay for k in zip(ports.scenario, ports.load, ports.algorithm, ports.bus,
                                                   ports.peer_bus)]
    return flows, ports


def summarise(flows: pd.DataFrame, ports: pd.DataFrame, reps: int, models) -> pd.DataFrame:
    """The table: one row per scenario, load and model."""
    rows = []
    for (name, load), f in flows.groupby(["scenario", "load"], sort=False):
        # One family per algorithm's run (its flows share the network's queues).
        scale = f.groupby("algorithm", sort=False).algorithm.transform(lambda a: bonferroni_scale(len(a), reps))
        p = ports[(ports.scenario == name) & (ports.load == load) & (ports.offered_packets > 0)]
        for model in models:
            inside = (f[f"{model}_delay_s"] - f.measured_delay_s).abs() <= scale * f.measured_delay_ci95_s
            err = f[f"{model}_queueing_delay_s"] / f.measured_queueing_delay_s - 1
            perr = p[f"{model}_w_s"] / p.measured_mean_time_in_system_s - 1
            rows.append({
                "scenario": name, "load": load, "delay_model": model, "flows": len(f),
                "coverage_pct": 100.0 * inside.mean(),
                "coverage_unadjusted_pct": 100.0 * ((f[f"{model}_delay_s"] - f.measured_delay_s).abs()
                                                    <= f.measured_delay_ci95_s).mean(),
                "queueing_error_median_pct": 100.0 * err.abs().median(),
                "queueing_error_worst_pct": 100.0 * err.abs().max(),
                "queueing_error_signed_median_pct": 100.0 * err.median(),
                "relay_port_w_error_median_pct": 100.0 * perr[p.relay_port].median(),
                "relay_port_w_error_worst_pct": 100.0 * perr[p.relay_port].abs().max(),
                "source_port_w_error_worst_pct": 100.0 * perr[~p.relay_port].abs().max(),
            })
    return pd.DataFrame(rows)


def plot(table: pd.DataFrame, flows: pd.DataFrame, ports: pd.DataFrame, models, path: Path):
    """Coverage and errors against load; measured against model per flow and per port."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cppsns3.atomic import atomic_path

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    marker = {"paper": "o", "qna": "s"}
    for name in table.scenario.unique():
        t = table[table.scenario == name]
        for model in models:
            m = t[t.delay_model == model]
            ls = "-" if name.startswith("ieee14") else "--"
            axes[0, 0].plot(m.load, m.coverage_pct, marker[model] + ls, label=f"{name} {model}")
            axes[0, 1].plot(m.load, m.queueing_error_worst_pct, marker[model] + ls, label=f"{name} {model} worst")
            axes[0, 1].plot(m.load, m.queueing_error_median_pct, marker[model] + ":", alpha=0.6,
                            label=f"{name} {model} median")
    axes[0, 0].axhline(90, color="grey", lw=0.8)
    axes[0, 0].set(xlabel="load (utilisation of the busiest port)", ylim=(0, 105),
                   ylabel="flows inside the Bonferroni 95 % CI (%)", title="coverage (target >= 90 %)")
    axes[0, 0].legend(fontsize=7)
    axes[0, 1].axhline(5, color="grey", lw=0.8)
    axes[0, 1].set(xlabel="load (utilisation of the busiest port)", ylabel="|queueing part: model/measured - 1| (%)",
                   title="queueing part of a flow's delay (target worst <= 5 %)")
    axes[0, 1].legend(fontsize=6, ncol=2)
    ref = 0.7 if (flows.load == 0.7).any() else flows.load.max()
    f = flows[flows.load == ref]
    for model in models:
        axes[1, 0].errorbar(1e3 * f.measured_queueing_delay_s, 1e3 * f[f"{model}_queueing_delay_s"],
                            xerr=1e3 * f.measured_delay_ci95_s, fmt=marker[model], ms=3, lw=0.6, alpha=0.7,
                            label=model)
    lim = [0, 1e3 * f.measured_queueing_delay_s.max() * 1.05]
    axes[1, 0].plot(lim, lim, "k-", lw=0.6)
    axes[1, 0].set(xlabel="measured queueing part (ms, 95 % CI over replications)", ylabel="model (ms)",
                   title=f"per flow at load {ref:g} (all scenarios and algorithms)")
    axes[1, 0].legend(fontsize=7)
    p = ports[(ports.offered_packets > 0)]
    for model in models:
        for relay, mk in ((False, "^"), (True, marker[model])):
            q = p[p.relay_port == relay]
            axes[1, 1].plot(q.measured_rho, 100 * (q[f"{model}_w_s"] / q.measured_mean_time_in_system_s - 1), mk,
                            ms=3, alpha=0.6, label=f"{model}, {'relay' if relay else 'source-only'} ports")
    axes[1, 1].axhline(0, color="k", lw=0.6)
    axes[1, 1].set(xlabel="measured utilisation of the port", ylabel="W: model/measured - 1 (%)",
                   title="per port, every load")
    axes[1, 1].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration-s", type=float, default=10.0)
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--seed", type=int, default=None, help="default: the scenario's")
    ap.add_argument("--loads", default=",".join(str(x) for x in LOADS))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--models", default=",".join(MODELS))
    a = ap.parse_args(argv)
    models = a.models.split(",")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    fpath, ppath = out / "delay_models_flows.csv", out / "delay_models_ports.csv"
    done = set()
    if fpath.exists() and ppath.exists():
        prev = pd.read_csv(fpath)
        done = set(zip(prev.scenario, prev.load))
    for name in a.scenarios.split(","):
        for load in (float(x) for x in a.loads.split(",")):
            if (name, load) in done:
                print(f"{name} load {load}: already in {fpath.name}")
                continue
            f, p = one_point(name, load, a.duration_s, a.replications, a.seed)
            for t, path in ((f, fpath), (p, ppath)):
                t.to_csv(path, mode="a", header=not path.exists(), index=False)
            print(f"{name} load {load}: {len(f)} flows", flush=True)
    flows, ports = add_models(pd.read_csv(fpath), pd.read_csv(ppath), a.duration_s, a.replications, a.seed, models)
    flows.to_csv(out / "delay_models_per_flow.csv", index=False)
    ports.to_csv(out / "delay_models_per_port.csv", index=False)
    table = summarise(flows, ports, a.replications, models)
    table.to_csv(out / "delay_models.csv", index=False, float_format="%.2f")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    plot(table, flows, ports, models, out / "delay_models.png")
    print(f"wrote {out / 'delay_models.csv'}, {out / 'delay_models.png'}")


if __name__ == "__main__":
    main()
