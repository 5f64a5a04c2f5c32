// cppsns3-reference: the validation scenario of cppsns3, as a pure C++ ns-3 program.
//
//   cppsns3-reference DESCRIPTION
//
// DESCRIPTION is written by cppsns3.sim.export (format in its docstring):
// nodes, links, per-flow routes, flow rates, capacity, mean packet size,
// t_wait, duration, warm-up, drain and seed.  The program builds the same
// network as cppsns3.ns3.topology / cppsns3.sim.validate (same helpers, same
// order of object creation, so the same random streams) with the same C++
// classes (libcppsns3-native), runs warm-up, measured window and drain, and
// prints one JSON object on stdout:
//
//   {"events", "sim_wall_s", "build_wall_s", "sent", "received", "abandoned",
//    "queue_drops", "retransmitted", "port_offered", "port_dropped"}
//
// sim_wall_s covers the same span as run_validate's: the three
// Simulator::Run phases and the monitor reset/snapshot between them.
#include "delay-sink.h"
#include "flow-routing.h"
#include "hop-tools.h"
#include "poisson-source.h"
#include "port-monitor.h"

#include "ns3/core-module.h"
#include "ns3/flow-monitor-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace
{

struct Link
{
    uint32_t a;
    uint32_t b;
    uint64_t rateBps;
    int64_t delayNs;
};

struct Flow
{
    uint32_t index;
    uint32_t src;
    uint32_t dst;
    double ratePerS;
};

struct Route
{
    uint32_t src;
    uint32_t dst;
    std::vector<uint32_t> path;
};

struct Description
{
    uint32_t seed{1};
    uint32_t run{1};
    uint32_t capacity{10};
    double meanPacketBytes{5000.0};
    uint32_t headerBytes{30};
    uint32_t maxPayloadBytes{64972};
    uint32_t mtuBytes{65000};
    double tWaitS{0.0};
    uint32_t maxAttempts{8};
    double durationS{0.0};
    double warmupS{0.0};
    double drainS{0.0};
    uint32_t recordSeqLimit{5};
    uint16_t sinkPort{9};
    uint32_t nodes{0};
    std::vector<Link> links;
    std::vector<Flow> flows;
    std::vector<Route> routes;
};

[[noreturn]] void
Fail(const std::string& msg)
{
    std::cerr << "cppsns3-reference: error: " << msg << std::endl;
    std::exit(2);
}

double
ParseDouble(const std::string& s, const std::string& what)
{
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(v))
    {
        Fail(what + ": not a finite number: '" + s + "'");
    }
    return v;
}

uint64_t
ParseUint(const std::string& s, const std::string& what)
{
    char* end = nullptr;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || s[0] == '-')
    {
        Fail(what + ": not a non-negative integer: '" + s + "'");
    }
    return v;
}

Description
ReadDescription(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
    {
        Fail("cannot read " + path);
    }
    Description d;
    std::string line;
    uint32_t lineNo = 0;
    bool header = false;
    bool ended = false;
    while (std::getline(in, line))
    {
        ++lineNo;
        std::istringstream ss(line);
        std::vector<std::string> tok;
        for (std::string t; ss >> t;)
        {
            tok.push_back(t);
        }
        if (tok.empty() || tok[0][0] == '#')
        {
            continue;
        }
        const std::string where = path + ":" + std::to_string(lineNo);
        const std::string& key = tok[0];
        auto need = [&](std::size_t n) {
            if (tok.size() != n)
            {
                Fail(where + ": '" + key + "' needs " + std::to_string(n - 1) + " fields");
            }
        };
        if (key == "cppsns3-reference")
        {
            need(2);
            if (tok[1] != "1")
            {
                Fail(where + ": unsupported format version " + tok[1]);
            }
            header = true;
        }
        else if (!header)
        {
            Fail(where + ": not a cppsns3-reference description");
        }
        else if (key == "end")
        {
            ended = true;
            break;
        }
        else if (key == "link")
        {
            need(5);
            d.links.push_back({static_cast<uint32_t>(ParseUint(tok[1], where)),
                               static_cast<uint32_t>(ParseUint(tok[2], where)),
                               ParseUint(tok[3], where),
                               static_cast<int64_t>(ParseUint(tok[4], where))});
        }
        else if (key == "flow")
        {
            need(5);
            d.flows.push_back({static_cast<uint32_t>(ParseUint(tok[1], where)),
                               static_cast<uint32_t>(ParseUint(tok[2], where)),
                               static_cast<uint32_t>(ParseUint(tok[3], where)),
                               ParseDouble(tok[4], where)});
        }
        else if (key == "route")
        {
            if (tok.size() < 4)
            {
                Fail(where + ": 'route' needs src dst n nodes...");
            }
            Route r{static_cast<uint32_t>(ParseUint(tok[1], where)),
                    static_cast<uint32_t>(ParseUint(tok[2], where)),
                    {}};
            uint64_t n = ParseUint(tok[3], where);
            need(4 + n);
            for (uint64_t i = 0; i < n; ++i)
            {
                r.path.push_back(static_cast<uint32_t>(ParseUint(tok[4 + i], where)));
            }
            d.routes.push_back(std::move(r));
        }
        else
        {
            need(2);
            const std::string& v = tok[1];
            if (key == "seed")
                d.seed = ParseUint(v, where);
            else if (key == "run")
                d.run = ParseUint(v, where);
            else if (key == "capacity")
                d.capacity = ParseUint(v, where);
            else if (key == "mean_packet_bytes")
                d.meanPacketBytes = ParseDouble(v, where);
            else if (key == "header_bytes")
                d.headerBytes = ParseUint(v, where);
            else if (key == "max_payload_bytes")
                d.maxPayloadBytes = ParseUint(v, where);
            else if (key == "mtu_bytes")
                d.mtuBytes = ParseUint(v, where);
            else if (key == "t_wait_s")
                d.tWaitS = ParseDouble(v, where);
            else if (key == "max_attempts")
                d.maxAttempts = ParseUint(v, where);
            else if (key == "duration_s")
                d.durationS = ParseDouble(v, where);
            else if (key == "warmup_s")
                d.warmupS = ParseDouble(v, where);
            else if (key == "drain_s")
                d.drainS = ParseDouble(v, where);
            else if (key == "record_seq_limit")
                d.recordSeqLimit = ParseUint(v, where);
            else if (key == "sink_port")
                d.sinkPort = ParseUint(v, where);
            else if (key == "nodes")
                d.nodes = ParseUint(v, where);
            else
                Fail(where + ": unknown record '" + key + "'");
        }
    }
    if (!ended)
    {
        Fail(path + ": truncated (no 'end' line)");
    }
    if (d.nodes == 0 || d.links.empty() || d.flows.empty())
    {
        Fail(path + ": needs nodes, links and flows");
    }
    for (const auto& l : d.links)
    {
        if (l.a >= d.nodes || l.b >= d.nodes || l.a == l.b)
            Fail(path + ": link with bad endpoints");
    }
    for (std::size_t i = 0; i < d.flows.size(); ++i)
    {
        const auto& f = d.flows[i];
        if (f.index != i || f.src >= d.nodes || f.dst >= d.nodes)
            Fail(path + ": flows must be numbered 0..n-1 in order, on existing nodes");
    }
    return d;
}

double
Since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int
main(int argc, char** argv)
{
    using namespace ns3;
    if (argc != 2 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help")
    {
        std::cerr << "usage: cppsns3-reference DESCRIPTION  (written by cppsns3.sim.export)\n";
        return argc == 2 ? 0 : 2;
    }
    const Description d = ReadDescription(argv[1]);
    const auto tBuild = std::chrono::steady_clock::now();

    // build_topology: seed, then CppsTopologyHelper.install.
    RngSeedManager::SetSeed(d.seed);
    RngSeedManager::SetRun(d.run);
    NodeContainer nodes;
    nodes.Create(d.nodes);
    std::vector<std::pair<Ptr<NetDevice>, Ptr<NetDevice>>> devices;
    for (const auto& l : d.links)
    {
        // PortLinkHelper
        PointToPointHelper p2p;
        p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate(l.rateBps)));
        p2p.SetDeviceAttribute("Mtu", UintegerValue(d.mtuBytes));
        p2p.SetChannelAttribute("Delay", TimeValue(NanoSeconds(l.delayNs)));
        p2p.DisableFlowControl();
        NetDeviceContainer devs = p2p.Install(nodes.Get(l.a), nodes.Get(l.b));
        for (uint32_t i = 0; i < devs.GetN(); ++i)
        {
            if (!cppsns3::ConfigurePort(devs.Get(i), d.capacity))
                Fail("could not set the device queue");
        }
        devices.emplace_back(devs.Get(0), devs.Get(1));
    }
    InternetStackHelper().Install(nodes);
    cppsns3::NodeAddressMap::Clear();
    std::vector<Ptr<cppsns3::FlowRouting>> routing;
    for (uint32_t i = 0; i < d.nodes; ++i)
    {
        routing.push_back(cppsns3::InstallFlowRouting(nodes.Get(i), i));
    }
    std::vector<Ipv4Address> primary(d.nodes);
    std::vector<bool> hasPrimary(d.nodes, false);
    // (u, v) -> (interface at u, address of v on the link, link index)
    std::map<std::pair<uint32_t, uint32_t>, std::tuple<uint32_t, Ipv4Address, uint32_t>> hop;
    Ipv4AddressHelper addr;
    addr.SetBase(Ipv4Address("10.0.0.0"), Ipv4Mask("255.255.255.252"));
    for (uint32_t e = 0; e < d.links.size(); ++e)
    {
        const auto& l = d.links[e];
        auto [da, db] = devices[e];
        NetDeviceContainer pair;
        pair.Add(da);
        pair.Add(db);
        Ipv4InterfaceContainer ifs = addr.Assign(pair);
        addr.NewNetwork();
        Ipv4Address aAddr = ifs.GetAddress(0);
        Ipv4Address bAddr = ifs.GetAddress(1);
        cppsns3::NodeAddressMap::Add(aAddr, l.a);
        cppsns3::NodeAddressMap::Add(bAddr, l.b);
        uint32_t ia = nodes.Get(l.a)->GetObject<Ipv4>()->GetInterfaceForDevice(da);
        uint32_t ib = nodes.Get(l.b)->GetObject<Ipv4>()->GetInterfaceForDevice(db);
        hop[{l.a, l.b}] = {ia, bAddr, e};
        hop[{l.b, l.a}] = {ib, aAddr, e};
        if (!hasPrimary[l.a])
        {
            primary[l.a] = aAddr;
            hasPrimary[l.a] = true;
        }
        if (!hasPrimary[l.b])
        {
            primary[l.b] = bAddr;
            hasPrimary[l.b] = true;
        }
    }
    for (uint32_t i = 0; i < d.nodes; ++i)
    {
        if (!hasPrimary[i])
            Fail("node " + std::to_string(i) + " has no link");
    }
    // Topology.install_paths
    for (const auto& r : d.routes)
    {
        if (r.path.empty() || r.path.front() != r.src || r.path.back() != r.dst)
            Fail("route does not run from its source to its destination");
        for (std::size_t i = 0; i + 1 < r.path.size(); ++i)
        {
            auto it = hop.find({r.path[i], r.path[i + 1]});
            if (it == hop.end())
                Fail("route uses a missing link");
            routing[r.path[i]]->AddRoute(r.src, r.dst, std::get<0>(it->second), std::get<1>(it->second));
        }
    }
    auto portDevice = [&](uint32_t u, uint32_t v) {
        uint32_t e = std::get<2>(hop.at({u, v}));
        return d.links[e].a == u ? devices[e].first : devices[e].second;
    };

    // attach_port_tools
    const uint32_t nFlows = d.flows.size();
    Ptr<cppsns3::DropLedger> ledger = CreateObject<cppsns3::DropLedger>();
    ledger->Resize(nFlows);
    std::vector<Ptr<cppsns3::PortMonitor>> monitors;
    std::vector<Ptr<cppsns3::HopRetransmitter>> rtx;
    for (const auto& l : d.links)
    {
        for (auto [u, v] : {std::pair{l.a, l.b}, std::pair{l.b, l.a}})
        {
            Ptr<NetDevice> dev = portDevice(u, v);
            auto m = CreateObject<cppsns3::PortMonitor>();
            if (!m->Attach(dev))
                Fail("port monitor did not attach");
            auto r = CreateObject<cppsns3::HopRetransmitter>();
            if (!r->Attach(dev, d.tWaitS, d.maxAttempts, ledger))
                Fail("retransmitter did not attach");
            monitors.push_back(m);
            rtx.push_back(r);
        }
    }

    // run_validate: sinks, sources, path recorder, FlowMonitor.
    std::vector<Ptr<cppsns3::DelaySink>> sinks;
    for (uint32_t i = 0; i < d.nodes; ++i)
    {
        auto sink = CreateObject<cppsns3::DelaySink>();
        sink->SetPort(d.sinkPort);
        nodes.Get(i)->AddApplication(sink);
        sinks.push_back(sink);
    }
    std::vector<Ptr<cppsns3::PoissonSource>> sources;
    const Time stop = Seconds(d.durationS);
    for (const auto& f : d.flows)
    {
        auto src = CreateObject<cppsns3::PoissonSource>();
        Address remote = InetSocketAddress(primary[f.dst], d.sinkPort).ConvertTo();
        src->Configure(remote, f.ratePerS, d.meanPacketBytes, d.headerBytes, d.maxPayloadBytes, 0, f.index);
        src->AssignStreams(2 * f.index);
        nodes.Get(f.src)->AddApplication(src);
        src->SetStopTime(stop);
        sources.push_back(src);
    }
    auto recorder = CreateObject<cppsns3::PathRecorder>();
    recorder->SetSeqLimit(d.recordSeqLimit);
    for (uint32_t i = 0; i < d.nodes; ++i)
    {
        if (!recorder->Attach(nodes.Get(i), i))
            Fail("path recorder did not attach");
    }
    FlowMonitorHelper fmHelper;
    Ptr<FlowMonitor> fm = fmHelper.InstallAll();
    const double buildS = Since(tBuild);

    const auto tSim = std::chrono::steady_clock::now();
    Simulator::Stop(Seconds(d.warmupS));
    Simulator::Run();
    for (auto& m : monitors)
    {
        m->Reset();
    }
    Simulator::Stop(Seconds(d.durationS - d.warmupS));
    Simulator::Run();
    uint64_t offered = 0;
    uint64_t dropped = 0;
    double meanN = 0.0;
    for (auto& m : monitors)
    {
        offered += m->GetOffered();
        dropped += m->GetDropped();
        meanN += m->GetMeanNumberInSystem() + m->GetBusyTime() + m->GetObservedTime();
    }
    Simulator::Stop(Seconds(d.drainS));
    Simulator::Run();
    const double simS = Since(tSim);
    const uint64_t events = Simulator::GetEventCount();

    uint64_t sent = 0;
    uint64_t received = 0;
    uint64_t abandoned = 0;
    uint64_t drops = 0;
    uint64_t retransmitted = 0;
    for (auto& s : sources)
        sent += s->GetSent();
    for (auto& s : sinks)
        received += s->GetCount();
    for (auto v : ledger->GetAbandoned())
        abandoned += v;
    for (auto v : ledger->GetDrops())
        drops += v;
    for (auto& r : rtx)
        retransmitted += r->GetRetransmitted();
    fm->CheckForLostPackets();
    Simulator::Destroy();

    std::printf("{\"events\": %llu, \"sim_wall_s\": %.6f, \"build_wall_s\": %.6f, \"sent\": %llu, "
                "\"received\": %llu, \"abandoned\": %llu, \"queue_drops\": %llu, "
                "\"retransmitted\": %llu, \"port_offered\": %llu, \"port_dropped\": %llu, "
                "\"port_checksum\": %.17g}\n",
                static_cast<unsigned long long>(events), simS, buildS,
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received),
                static_cast<unsigned long long>(abandoned), static_cast<unsigned long long>(drops),
                static_cast<unsigned long long>(retransmitted),
                static_cast<unsigned long long>(offered), static_cast<unsigned long long>(dropped),
                meanN);
    return 0;
}
