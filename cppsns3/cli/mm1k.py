"""`cppsns3 mm1k`: the single-link M/M/1/K experiment against Eq. 1."""

from __future__ import annotations

import json
import sys

import typer


def _table(r: dict) -> str:
    a, m = r["analytic"], r["measured"]
    c = r["counts"]
    rows = [
        ("loss probability", a["loss_probability"], m["loss_probability"], m["loss_probability_ci95"]),
        ("mean time in system W (s)", a["mean_time_in_system_s"], m["mean_time_in_system_s"],
         m["mean_time_in_system_ci95_s"]),
        ("mean number in system L", a["mean_number_in_system"], m["mean_number_in_system"], None),
    ]
    out = [
        f"M/M/1/K single link: rho={r['rho']:g} K={r['capacity']} packets={r['packets']} seed={r['seed']}",
        f"lambda={r['arrival_rate_per_s']:.6g}/s  mu={r['service_rate_per_s']:.6g}/s  "
        f"sent={c['sent']} received={c['received']} dropped={c['dropped']}",
        f"{'quantity':<28}{'analytic':>14}{'measured':>14}{'95% CI +-':>14}",
    ]
    for name, av, mv, hw in rows:
        out.append(f"{name:<28}{av:>14.6g}{mv:>14.6g}{'' if hw is None else format(hw, '.3g'):>14}")
    return "\n".join(out)


def register(app: typer.Typer) -> None:
    @app.command("mm1k")
    def mm1k_cmd(
        rho: float = typer.Option(0.9, "--rho", help="Offered load lambda/mu (> 0)."),
        capacity: int = typer.Option(10, "--capacity", help="K: most packets the port holds, incl. the one being sent."),
        packets: int = typer.Option(200000, "--packets", help="Packets offered (>= 1000)."),
        seed: int = typer.Option(1, "--seed", help="ns-3 RNG seed (>= 1)."),
        rate_mbps: float = typer.Option(1000.0, "--rate-mbps", help="Link DataRate in Mbit/s."),
        mean_packet_bytes: float = typer.Option(5000.0, "--mean-packet-bytes", help="Mean packet size on the wire."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    ) -> None:
        """Single-link M/M/1/K experiment in ns-3, measured against Eq. 1."""
        from cppsns3.sim.mm1k import MM1KConfig, run_mm1k, validate_config
        from cppsns3.sim.runner import run_in_child

        cfg = MM1KConfig(rho=rho, capacity=capacity, packets=packets, seed=seed,
                         rate_bps=rate_mbps * 1e6, mean_packet_bytes=mean_packet_bytes)
        validate_config(cfg)
        print(f"cppsns3: simulating {packets} packets at rho={rho:g}, K={capacity} ...", file=sys.stderr)
        r = run_in_child(run_mm1k, cfg, label=f"mm1k rho={rho:g} K={capacity} seed={seed}")
        t = r.get("timing") or {}
        if t:
            print(f"cppsns3: ns-3 run: {t['events']} events, build {t['build_wall_s']:.4f} s, "
                  f"simulation {t['sim_wall_s']:.4f} s (cpu {t['sim_cpu_s']:.4f} s) "
                  f"({'native library' if t['native_library'] else 'JIT-compiled C++'})", file=sys.stderr)
        if as_json:
            keep = ("rho", "capacity", "packets", "seed", "arrival_rate_per_s", "service_rate_per_s",
                    "analytic", "measured", "counts")
            sys.stdout.write(json.dumps({k: r[k] for k in keep}, sort_keys=False) + "\n")
        else:
            print(_table(r))
