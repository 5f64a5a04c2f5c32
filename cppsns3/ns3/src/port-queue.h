// A drop-tail device queue whose capacity counts the packet being sent.
#ifndef CPPSNS3_PORT_QUEUE_H
#define CPPSNS3_PORT_QUEUE_H

#include "ns3/drop-tail-queue.h"
#include "ns3/packet.h"

namespace cppsns3
{

/**
 * Drop-tail queue for a PointToPointNetDevice that holds at most K packets
 * *including the one on the wire*.
 *
 * The stock DropTailQueue with MaxSize q gives K = q + 1, because the device
 * dequeues a packet before sending it; K = 1 would need MaxSize 0, which
 * refuses every packet (the device enqueues before it dequeues).  This queue
 * covers K = 1: it is told when the device starts and ends a transmission
 * (the device's PhyTxBegin/PhyTxEnd traces) and refuses an arrival while
 * waiting + in service >= K.
 */
class PortQueue : public ns3::DropTailQueue<ns3::Packet>
{
  public:
    static ns3::TypeId GetTypeId();
    PortQueue();

    void SetCapacity(uint32_t capacity);
    uint32_t GetCapacity() const;
    bool Enqueue(ns3::Ptr<ns3::Packet> item) override;
    void NotifyTxBegin(ns3::Ptr<const ns3::Packet> p);
    void NotifyTxEnd(ns3::Ptr<const ns3::Packet> p);

  private:
    uint32_t m_capacity{1};
    bool m_busy{false};
};

} // namespace cppsns3

#endif
