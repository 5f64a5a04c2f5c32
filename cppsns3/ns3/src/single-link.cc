#include "single-link.h"

#include "delay-sink.h"
#include "poisson-source.h"
#include "port-monitor.h"

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace
{

int
Fail(char* error, uint64_t size, int code, const char* msg)
{
    if (error && size > 0)
    {
        std::snprintf(error, size, "%s", msg);
    }
    return code;
}

double
Since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double
ProcessCpuS()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

} // namespace

extern "C" int
cppsns3_single_link_run(const cppsns3_single_link_config* cfg,
                        cppsns3_single_link_result* out,
                        uint32_t* seqs,
                        double* delays,
                        uint64_t room,
                        char* error,
                        uint64_t error_size)
{
    using namespace ns3;
    if (!cfg || !out)
    {
        return Fail(error, error_size, 1, "null config or result");
    }
    if (cfg->packets > room || (room > 0 && (!seqs || !delays)))
    {
        return Fail(error, error_size, 1, "result buffers smaller than the packet count");
    }
    std::memset(out, 0, sizeof(*out));
    const auto tBuild = std::chrono::steady_clock::now();

    RngSeedManager::SetSeed(cfg->seed);
    RngSeedManager::SetRun(cfg->run);

    NodeContainer nodes;
    nodes.Create(2);
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate(cfg->rate_bps)));
    p2p.SetDeviceAttribute("Mtu", UintegerValue(cfg->mtu_bytes));
    p2p.SetChannelAttribute("Delay", TimeValue(NanoSeconds(cfg->delay_ns)));
    p2p.DisableFlowControl();
    NetDeviceContainer devices = p2p.Install(nodes.Get(0), nodes.Get(1));
    for (uint32_t i = 0; i < devices.GetN(); ++i)
    {
        if (!cppsns3::ConfigurePort(devices.Get(i), cfg->capacity))
        {
            Simulator::Destroy();
            return Fail(error, error_size, 2, "could not set the device queue for the capacity");
        }
    }
    InternetStackHelper().Install(nodes);
    Ipv4AddressHelper addr;
    addr.SetBase(Ipv4Address("10.1.1.0"), Ipv4Mask("255.255.255.0"));
    Ipv4InterfaceContainer ifaces = addr.Assign(devices);

    Ptr<cppsns3::DelaySink> sink = CreateObject<cppsns3::DelaySink>();
    sink->SetPort(cfg->port);
    sink->Reserve(cfg->packets);
    nodes.Get(1)->AddApplication(sink);
    Ptr<cppsns3::PoissonSource> source = CreateObject<cppsns3::PoissonSource>();
    const Address remote = InetSocketAddress(ifaces.GetAddress(1), cfg->port);
    source->Configure(remote,
                      cfg->arrival_rate_per_s,
                      cfg->mean_packet_bytes,
                      cfg->header_bytes,
                      cfg->max_payload_bytes,
                      cfg->packets,
                      1);
    source->AssignStreams(0);
    nodes.Get(0)->AddApplication(source);
    Ptr<cppsns3::PortMonitor> monitor = CreateObject<cppsns3::PortMonitor>();
    if (!monitor->Attach(devices.Get(0)))
    {
        Simulator::Destroy();
        return Fail(error, error_size, 2, "could not attach the port monitor to the device traces");
    }
    out->build_wall_s = Since(tBuild);

    // Warm-up: the port's time average starts where the packet statistics do.
    const uint64_t events0 = Simulator::GetEventCount();
    const auto tSim = std::chrono::steady_clock::now();
    const double cpuSim = ProcessCpuS();
    if (cfg->warmup_s > 0)
    {
        Simulator::Stop(Seconds(cfg->warmup_s));
        Simulator::Run();
        out->dropped_in_warmup = monitor->GetDropped();
        monitor->Reset();
    }
    Simulator::Run();
    out->sim_wall_s = Since(tSim);
    out->sim_cpu_s = ProcessCpuS() - cpuSim;

    out->sent = source->GetSent();
    const uint64_t n = sink->GetCount();
    out->received = n;
    if (n > room)
    {
        Simulator::Destroy();
        return Fail(error, error_size, 3, "the sink received more packets than were sent");
    }
    if (n > 0)
    {
        std::memcpy(seqs, sink->GetSeqs().data(), n * sizeof(uint32_t));
        std::memcpy(delays, sink->GetDelays().data(), n * sizeof(double));
    }
    out->dropped_after_warmup = monitor->GetDropped();
    out->mean_number_in_system = monitor->GetMeanNumberInSystem();
    out->busy_time_s = monitor->GetBusyTime();
    out->observed_time_s = monitor->GetObservedTime();
    out->events = Simulator::GetEventCount() - events0;
    Simulator::Destroy();
    return 0;
}
