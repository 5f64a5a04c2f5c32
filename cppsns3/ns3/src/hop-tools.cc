#include "hop-tools.h"

#include "cppsns3-common.h"

#include "ns3/point-to-point-net-device.h"
#include "ns3/ppp-header.h"
#include "ns3/queue.h"
#include "ns3/simulator.h"

namespace cppsns3
{

ns3::TypeId
RetryTag::GetTypeId()
{
    static ns3::TypeId tid =
        ns3::TypeId("cppsns3::RetryTag").SetParent<ns3::Tag>().SetGroupName("Cppsns3").AddConstructor<RetryTag>();
    return tid;
}

ns3::TypeId
RetryTag::GetInstanceTypeId() const
{
    return GetTypeId();
}

uint32_t
RetryTag::GetSerializedSize() const
{
    return 4;
}

void
RetryTag::Serialize(ns3::TagBuffer i) const
{
    i.WriteU32(attempts);
}

void
RetryTag::Deserialize(ns3::TagBuffer i)
{
    attempts = i.ReadU32();
}

void
RetryTag::Print(std::ostream& os) const
{
    os << "attempts=" << attempts;
}

ns3::TypeId
DropLedger::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::DropLedger")
                                 .SetParent<ns3::Object>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<DropLedger>();
    return tid;
}

void
DropLedger::Resize(uint32_t nFlows)
{
    m_drops.assign(nFlows, 0);
    m_abandoned.assign(nFlows, 0);
}

void
DropLedger::CountDrop(uint32_t flow)
{
    if (flow < m_drops.size())
    {
        ++m_drops[flow];
    }
}

void
DropLedger::CountAbandon(uint32_t flow)
{
    if (flow < m_abandoned.size())
    {
        ++m_abandoned[flow];
    }
}

void
DropLedger::CountUntagged()
{
    ++m_untagged;
}

uint64_t
DropLedger::GetUntagged() const
{
    return m_untagged;
}

const std::vector<uint64_t>&
DropLedger::GetDrops() const
{
    return m_drops;
}

const std::vector<uint64_t>&
DropLedger::GetAbandoned() const
{
    return m_abandoned;
}

ns3::TypeId
HopRetransmitter::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::HopRetransmitter")
                                 .SetParent<ns3::Object>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<HopRetransmitter>();
    return tid;
}

bool
HopRetransmitter::Attach(ns3::Ptr<ns3::NetDevice> device,
                         double tWaitS,
                         uint32_t maxAttempts,
                         ns3::Ptr<DropLedger> ledger)
{
    auto p2p = ns3::DynamicCast<ns3::PointToPointNetDevice>(device);
    if (!p2p)
    {
        return false;
    }
    m_device = device;
    m_ledger = ledger;
    m_wait = ns3::Seconds(tWaitS);
    m_maxAttempts = maxAttempts;
    m_retransmit = tWaitS >= 0.0;
    return p2p->GetQueue()->TraceConnectWithoutContext("Drop",
                                                       ns3::MakeCallback(&HopRetransmitter::OnDrop, this));
}

uint64_t
HopRetransmitter::GetRetransmitted() const
{
    return m_retransmitted;
}

void
HopRetransmitter::OnDrop(ns3::Ptr<const ns3::Packet> p)
{
    ProbeTag probe;
    bool tagged = p->PeekPacketTag(probe);
    if (tagged)
    {
        m_ledger->CountDrop(probe.flowId);
    }
    else
    {
        m_ledger->CountUntagged();
    }
    RetryTag retry;
    auto copy = p->Copy();
    copy->RemovePacketTag(retry);
    retry.attempts += 1;
    if (!m_retransmit || retry.attempts >= m_maxAttempts)
    {
        if (tagged)
        {
            m_ledger->CountAbandon(probe.flowId);
        }
        return;
    }
    copy->AddPacketTag(retry);
    ns3::PppHeader ppp;
    copy->RemoveHeader(ppp); // the device adds it again on Send
    ns3::Simulator::Schedule(m_wait, &HopRetransmitter::Resend, this, copy);
}

void
HopRetransmitter::Resend(ns3::Ptr<ns3::Packet> p)
{
    ++m_retransmitted;
    m_device->Send(p, m_device->GetBroadcast(), 0x0800);
}

ns3::TypeId
PathRecorder::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::PathRecorder")
                                 .SetParent<ns3::Object>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<PathRecorder>();
    return tid;
}

void
PathRecorder::SetSeqLimit(uint32_t limit)
{
    m_limit = limit;
}

bool
PathRecorder::Attach(ns3::Ptr<ns3::Node> node, uint32_t index)
{
    auto ipv4 = node->GetObject<ns3::Ipv4>();
    return ipv4->TraceConnectWithoutContext("Tx", ns3::MakeBoundCallback(&PathRecorder::OnTxStatic, this, index));
}

void
PathRecorder::OnTxStatic(PathRecorder* self,
                         uint32_t index,
                         ns3::Ptr<const ns3::Packet> p,
                         ns3::Ptr<ns3::Ipv4> ipv4,
                         uint32_t iface)
{
    self->OnTx(index, p, ipv4, iface);
}

void
PathRecorder::OnTx(uint32_t index, ns3::Ptr<const ns3::Packet> p, ns3::Ptr<ns3::Ipv4>, uint32_t)
{
    ProbeTag probe;
    if (p->PeekPacketTag(probe) && probe.seq < m_limit)
    {
        m_flow.push_back(probe.flowId);
        m_seq.push_back(probe.seq);
        m_node.push_back(index);
    }
}

const std::vector<uint32_t>&
PathRecorder::GetFlows() const
{
    return m_flow;
}

const std::vector<uint32_t>&
PathRecorder::GetSeqs() const
{
    return m_seq;
}

const std::vector<uint32_t>&
PathRecorder::GetNodes() const
{
    return m_node;
}

} // namespace cppsns3
