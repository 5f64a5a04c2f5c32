#include "delay-sink.h"

#include "cppsns3-common.h"

#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-address.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/udp-socket-factory.h"

namespace cppsns3
{

ns3::TypeId
DelaySink::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::DelaySink")
                                 .SetParent<ns3::Application>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<DelaySink>();
    return tid;
}

DelaySink::DelaySink() = default;
DelaySink::~DelaySink() = default;

void
DelaySink::SetPort(uint16_t port)
{
    m_port = port;
}

void
DelaySink::Reserve(std::size_t n)
{
    m_flow.reserve(n);
    m_seq.reserve(n);
    m_delay.reserve(n);
    m_arrival.reserve(n);
}

std::size_t
DelaySink::GetCount() const
{
    return m_delay.size();
}

const std::vector<uint32_t>&
DelaySink::GetFlowIds() const
{
    return m_flow;
}

const std::vector<uint32_t>&
DelaySink::GetSeqs() const
{
    return m_seq;
}

const std::vector<double>&
DelaySink::GetDelays() const
{
    return m_delay;
}

const std::vector<double>&
DelaySink::GetArrivalTimes() const
{
    return m_arrival;
}

void
DelaySink::DoDispose()
{
    m_socket = nullptr;
    ns3::Application::DoDispose();
}

void
DelaySink::StartApplication()
{
    if (!m_socket)
    {
        m_socket = ns3::Socket::CreateSocket(GetNode(), ns3::UdpSocketFactory::GetTypeId());
        m_socket->Bind(ns3::InetSocketAddress(ns3::Ipv4Address::GetAny(), m_port));
        m_socket->SetRecvCallback(ns3::MakeCallback(&DelaySink::HandleRead, this));
    }
}

void
DelaySink::StopApplication()
{
    if (m_socket)
    {
        m_socket->SetRecvCallback(ns3::MakeNullCallback<void, ns3::Ptr<ns3::Socket>>());
    }
}

void
DelaySink::HandleRead(ns3::Ptr<ns3::Socket> socket)
{
    ns3::Ptr<ns3::Packet> p;
    const int64_t nowNs = ns3::Simulator::Now().GetNanoSeconds();
    while ((p = socket->Recv()))
    {
        ProbeTag tag;
        if (!p->PeekPacketTag(tag))
        {
            continue;
        }
        m_flow.push_back(tag.flowId);
        m_seq.push_back(tag.seq);
        m_delay.push_back((nowNs - tag.sendTimeNs) * 1e-9);
        m_arrival.push_back(nowNs * 1e-9);
    }
}

} // namespace cppsns3
