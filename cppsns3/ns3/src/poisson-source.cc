#include "poisson-source.h"

#include "cppsns3-common.h"

#include "ns3/double.h"
#include "ns3/inet-socket-address.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/udp-socket-factory.h"

#include <algorithm>
#include <cmath>

namespace cppsns3
{

ns3::TypeId
PoissonSource::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::PoissonSource")
                                 .SetParent<ns3::Application>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<PoissonSource>();
    return tid;
}

PoissonSource::PoissonSource()
    : m_gap(ns3::CreateObject<ns3::ExponentialRandomVariable>()),
      m_size(ns3::CreateObject<ns3::ExponentialRandomVariable>())
{
}

PoissonSource::~PoissonSource() = default;

void
PoissonSource::Configure(const ns3::Address& remote,
                         double ratePerS,
                         double meanPacketBytes,
                         uint32_t headerBytes,
                         uint32_t maxPayloadBytes,
                         uint64_t maxPackets,
                         uint32_t flowId)
{
    m_remote = remote;
    m_ratePerS = ratePerS;
    m_headerBytes = headerBytes;
    m_meanPacketBytes = meanPacketBytes;
    m_maxPayloadBytes = maxPayloadBytes;
    m_maxPackets = maxPackets;
    m_flowId = flowId;
    m_gap->SetAttribute("Mean", ns3::DoubleValue(1.0 / ratePerS));
    m_size->SetAttribute("Mean", ns3::DoubleValue(meanPacketBytes));
}

int64_t
PoissonSource::AssignStreams(int64_t stream)
{
    m_gap->SetStream(stream);
    m_size->SetStream(stream + 1);
    return 2;
}

uint64_t
PoissonSource::GetSent() const
{
    return m_sent;
}

uint64_t
PoissonSource::GetSentBytes() const
{
    return m_sentBytes;
}

void
PoissonSource::DoDispose()
{
    m_socket = nullptr;
    ns3::Application::DoDispose();
}

void
PoissonSource::StartApplication()
{
    if (!m_socket)
    {
        m_socket = ns3::Socket::CreateSocket(GetNode(), ns3::UdpSocketFactory::GetTypeId());
        m_socket->Bind();
        m_socket->Connect(m_remote);
    }
    ScheduleNext();
}

void
PoissonSource::StopApplication()
{
    ns3::Simulator::Cancel(m_event);
    if (m_socket)
    {
        m_socket->Close();
    }
}

void
PoissonSource::ScheduleNext()
{
    if (m_maxPackets != 0 && m_sent >= m_maxPackets)
    {
        return;
    }
    m_event = ns3::Simulator::Schedule(ns3::Seconds(m_gap->GetValue()), &PoissonSource::SendOne, this);
}

void
PoissonSource::SendOne()
{
    // Total size on the wire ~ Exp(mean), floored at the header bytes: only
    // packets drawn below 30 B (0.6 % at a 5000 B mean) differ from Exp.
    double total = std::max<double>(std::round(m_size->GetValue()), m_headerBytes);
    auto payload = static_cast<uint32_t>(std::min<double>(total - m_headerBytes, m_maxPayloadBytes));
    auto p = ns3::Create<ns3::Packet>(payload);
    ProbeTag tag;
    tag.flowId = m_flowId;
    tag.seq = static_cast<uint32_t>(m_sent);
    tag.sendTimeNs = ns3::Simulator::Now().GetNanoSeconds();
    p->AddPacketTag(tag);
    m_socket->Send(p);
    ++m_sent;
    m_sentBytes += payload + m_headerBytes;
    ScheduleNext();
}

} // namespace cppsns3
