#include "port-queue.h"

#include "ns3/uinteger.h"

namespace cppsns3
{

ns3::TypeId
PortQueue::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::PortQueue")
                                 .SetParent<ns3::DropTailQueue<ns3::Packet>>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<PortQueue>();
    return tid;
}

PortQueue::PortQueue() = default;

void
PortQueue::SetCapacity(uint32_t capacity)
{
    m_capacity = capacity;
    // Room for K waiting packets is an upper bound; Enqueue enforces the rest.
    SetMaxSize(ns3::QueueSize(ns3::QueueSizeUnit::PACKETS, capacity));
}

uint32_t
PortQueue::GetCapacity() const
{
    return m_capacity;
}

bool
PortQueue::Enqueue(ns3::Ptr<ns3::Packet> item)
{
    if (GetNPackets() + (m_busy ? 1u : 0u) >= m_capacity)
    {
        DropBeforeEnqueue(item);
        return false;
    }
    return ns3::DropTailQueue<ns3::Packet>::Enqueue(item);
}

void
PortQueue::NotifyTxBegin(ns3::Ptr<const ns3::Packet>)
{
    m_busy = true;
}

void
PortQueue::NotifyTxEnd(ns3::Ptr<const ns3::Packet>)
{
    m_busy = false;
}

} // namespace cppsns3
