"""Your own ns-3 application inside the built network, and pcap on one port.

Builds the IEEE 14-bus network at 100 Mbit/s (validate mode, QT-DR), then,
before running, reaches into it with plain ns-3: a route for a pair the plan
does not carry (bus 1 -> bus 13 along 1-5-6-13), a constant-rate UDP
background flow on it (ns-3's OnOffHelper and PacketSink), and a pcap trace
on the port 5 -> 6 that the background flow crosses.  After the run it reads
the pcap back with :func:`cppsns3.traces.read_pcap` and shows what the
background traffic did to that port: measured utilisation above the plan's,
and the planned flows through it slower than Eq. 2 (which does not know
about the extra traffic).

    python scenarios/background_pcap.py --out results/bg [--duration-s 0.5] [--rate-mbps 20]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cppsns3
from cppsns3.traces import read_pcap

HERE = Path(__file__).resolve().parent
BG_PATH = [1, 5, 6, 13]
PCAP_PORT = (5, 6)
BG_PORT = 5000
BG_PACKET_BYTES = 1000  # UDP payload; 1028 B + 2 B PPP on the wire


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration-s", type=float, default=0.5)
    ap.add_argument("--rate-mbps", type=float, default=20.0, help="background UDP rate")
    ap.add_argument("--load", type=float, default=0.5)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    sc = cppsns3.Scenario.load(HERE / "ieee14.toml").replace(
        bandwidth={"default_mbps": 100.0}, sampling_period_s=1000.0)
    sim = cppsns3.Simulation(sc, algorithm="qtdr", mode="validate", load=args.load, duration_s=args.duration_s)
    sim.build()

    from cppsns3.ns3 import ns  # plain ns-3 from here on

    sim.add_route(BG_PATH)
    src, dst = sim.node(BG_PATH[0]), sim.node(BG_PATH[-1])
    sink = ns.PacketSinkHelper("ns3::UdpSocketFactory",
                               ns.InetSocketAddress(ns.Ipv4Address.GetAny(), BG_PORT).ConvertTo())
    sink.Install(dst)
    onoff = ns.OnOffHelper("ns3::UdpSocketFactory",
                           ns.InetSocketAddress(sim.address(BG_PATH[-1]), BG_PORT).ConvertTo())
    onoff.SetConstantRate(ns.DataRate(int(args.rate_mbps * 1e6)), BG_PACKET_BYTES)
    apps = onoff.Install(src)
    apps.Start(ns.Seconds(0.0))
    apps.Stop(ns.Seconds(args.duration_s))
    pcaps = sim.enable_pcap(out / "ieee14", ports=[PCAP_PORT])

    dst_addr = _dotted(sim.address(BG_PATH[-1]))

    res = sim.run()
    res.write(out)

    trace = read_pcap(pcaps[0])
    bg = trace[(trace.dst_addr == dst_addr) & (trace.dst_port == BG_PORT)]
    port = res.ports[(res.ports.bus == PCAP_PORT[0]) & (res.ports.peer_bus == PCAP_PORT[1])].iloc[0]
    crossing = res.flows[res.flows.buses.str.contains(f"\\b{PCAP_PORT[0]} {PCAP_PORT[1]}\\b", regex=True)]
    slower = float(((crossing.measured_delay_s / crossing.analytic_delay_s) - 1).median()) if len(crossing) else None
    report = {
        "pcap_file": pcaps[0].name,
        "pcap_packets": int(len(trace)),
        "pcap_background_packets": int(len(bg)),
        "pcap_background_bytes": int(bg.size_bytes.sum()),
        "port_planned_rho": float(port.rho),
        "port_measured_rho": float(port.measured_rho),
        "flows_through_port": int(len(crossing)),
        "median_measured_over_eq2_minus_1": slower,
    }
    (out / "background.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


def _dotted(ipv4) -> str:
    """An ns-3 ``Ipv4Address`` as dotted decimal."""
    v = int(ipv4.Get())
    return ".".join(str((v >> s) & 0xFF) for s in (24, 16, 8, 0))


if __name__ == "__main__":
    raise SystemExit(main())
