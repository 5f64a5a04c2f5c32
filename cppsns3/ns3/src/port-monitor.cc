#include "port-monitor.h"

#include "port-queue.h"

#include "ns3/point-to-point-net-device.h"
#include "ns3/queue.h"
#include "ns3/simulator.h"

namespace cppsns3
{

bool
ConfigurePort(ns3::Ptr<ns3::NetDevice> device, uint32_t capacity)
{
    auto p2p = ns3::DynamicCast<ns3::PointToPointNetDevice>(device);
    if (!p2p || capacity == 0)
    {
        return false;
    }
    if (capacity >= 2)
    {
        // The packet on the wire has left the queue already: K = MaxSize + 1.
        p2p->GetQueue()->SetMaxSize(ns3::QueueSize(ns3::QueueSizeUnit::PACKETS, capacity - 1));
        return true;
    }
    auto q = ns3::CreateObject<PortQueue>();
    q->SetCapacity(capacity);
    p2p->SetQueue(q);
    bool ok = p2p->TraceConnectWithoutContext("PhyTxBegin", ns3::MakeCallback(&PortQueue::NotifyTxBegin, q));
    ok = ok && p2p->TraceConnectWithoutContext("PhyTxEnd", ns3::MakeCallback(&PortQueue::NotifyTxEnd, q));
    return ok;
}

ns3::TypeId
PortMonitor::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::PortMonitor")
                                 .SetParent<ns3::Object>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<PortMonitor>();
    return tid;
}

PortMonitor::PortMonitor() = default;

bool
PortMonitor::Attach(ns3::Ptr<ns3::NetDevice> device)
{
    auto p2p = ns3::DynamicCast<ns3::PointToPointNetDevice>(device);
    if (!p2p)
    {
        return false;
    }
    auto q = p2p->GetQueue();
    bool ok = q->TraceConnectWithoutContext("Enqueue", ns3::MakeCallback(&PortMonitor::OnEnqueue, this));
    ok = ok && q->TraceConnectWithoutContext("Dequeue", ns3::MakeCallback(&PortMonitor::OnDequeue, this));
    ok = ok && q->TraceConnectWithoutContext("Drop", ns3::MakeCallback(&PortMonitor::OnDrop, this));
    ok = ok && p2p->TraceConnectWithoutContext("MacTxDrop", ns3::MakeCallback(&PortMonitor::OnMacTxDrop, this));
    ok = ok && p2p->TraceConnectWithoutContext("PhyTxBegin", ns3::MakeCallback(&PortMonitor::OnTxBegin, this));
    ok = ok && p2p->TraceConnectWithoutContext("PhyTxEnd", ns3::MakeCallback(&PortMonitor::OnTxEnd, this));
    Reset();
    return ok;
}

void
PortMonitor::Reset()
{
    m_offered = m_dropped = m_transmitted = m_transmittedBytes = 0;
    m_area = 0.0;
    m_busyTime = 0.0;
    m_start = m_last = m_busySince = ns3::Simulator::Now();
}

void
PortMonitor::Update()
{
    ns3::Time now = ns3::Simulator::Now();
    m_area += (m_waiting + (m_busy ? 1 : 0)) * (now - m_last).GetSeconds();
    m_last = now;
}

void
PortMonitor::OnEnqueue(ns3::Ptr<const ns3::Packet>)
{
    Update();
    ++m_offered;
    ++m_waiting;
}

void
PortMonitor::OnDequeue(ns3::Ptr<const ns3::Packet>)
{
    Update();
    if (m_waiting > 0)
    {
        --m_waiting;
    }
}

void
PortMonitor::OnDrop(ns3::Ptr<const ns3::Packet>)
{
    // The queue's Drop trace fires for refused arrivals (DropBeforeEnqueue).
    ++m_offered;
    ++m_dropped;
}

void
PortMonitor::OnMacTxDrop(ns3::Ptr<const ns3::Packet>)
{
    // Counted already through the queue's Drop trace; kept for completeness.
}

void
PortMonitor::OnTxBegin(ns3::Ptr<const ns3::Packet> p)
{
    Update();
    m_busy = true;
    m_busySince = ns3::Simulator::Now();
    ++m_transmitted;
    m_transmittedBytes += p->GetSize();
}

void
PortMonitor::OnTxEnd(ns3::Ptr<const ns3::Packet>)
{
    Update();
    m_busy = false;
    m_busyTime += (ns3::Simulator::Now() - m_busySince).GetSeconds();
}

uint64_t
PortMonitor::GetOffered() const
{
    return m_offered;
}

uint64_t
PortMonitor::GetDropped() const
{
    return m_dropped;
}

uint64_t
PortMonitor::GetTransmitted() const
{
    return m_transmitted;
}

uint64_t
PortMonitor::GetTransmittedBytes() const
{
    return m_transmittedBytes;
}

double
PortMonitor::GetBusyTime() const
{
    return m_busyTime + (m_busy ? (ns3::Simulator::Now() - m_busySince).GetSeconds() : 0.0);
}

double
PortMonitor::GetMeanNumberInSystem() const
{
    double elapsed = (ns3::Simulator::Now() - m_start).GetSeconds();
    if (elapsed <= 0.0)
    {
        return 0.0;
    }
    double area = m_area + (m_waiting + (m_busy ? 1 : 0)) * (ns3::Simulator::Now() - m_last).GetSeconds();
    return area / elapsed;
}

double
PortMonitor::GetObservedTime() const
{
    return (ns3::Simulator::Now() - m_start).GetSeconds();
}

} // namespace cppsns3
