// Per-port counters and the time-average number in system of one device.
#ifndef CPPSNS3_PORT_MONITOR_H
#define CPPSNS3_PORT_MONITOR_H

#include "ns3/net-device.h"
#include "ns3/nstime.h"
#include "ns3/object.h"
#include "ns3/packet.h"
#include "ns3/ptr.h"

#include <cstdint>

namespace cppsns3
{

/**
 * Set the device queue of a PointToPointNetDevice so that the port holds at
 * most `capacity` packets including the one being sent (M/M/1/K with
 * K = capacity).  K >= 2: the stock DropTailQueue with MaxSize = K - 1
 * packets.  K = 1: a PortQueue (see port-queue.h).
 *
 * Returns false if the device is not a PointToPointNetDevice or K = 0.
 */
bool ConfigurePort(ns3::Ptr<ns3::NetDevice> device, uint32_t capacity);

/**
 * Watches one point-to-point port: packets offered to the device, dropped at
 * the queue, sent on the wire, and the integral of the number in system
 * (waiting + in service) over time.
 */
class PortMonitor : public ns3::Object
{
  public:
    static ns3::TypeId GetTypeId();
    PortMonitor();

    /** Connect to the device's traces; false if any connection failed. */
    bool Attach(ns3::Ptr<ns3::NetDevice> device);
    /** Forget counts and restart the time average now (end of warm-up). */
    void Reset();

    uint64_t GetOffered() const;
    uint64_t GetDropped() const;
    uint64_t GetTransmitted() const;
    uint64_t GetTransmittedBytes() const;
    double GetBusyTime() const;
    /** Time-average number in system since Attach/Reset. */
    double GetMeanNumberInSystem() const;
    double GetObservedTime() const;

  private:
    void Update();
    void OnEnqueue(ns3::Ptr<const ns3::Packet> p);
    void OnDrop(ns3::Ptr<const ns3::Packet> p);
    void OnMacTxDrop(ns3::Ptr<const ns3::Packet> p);
    void OnTxBegin(ns3::Ptr<const ns3::Packet> p);
    void OnTxEnd(ns3::Ptr<const ns3::Packet> p);
    void OnDequeue(ns3::Ptr<const ns3::Packet> p);

    uint64_t m_offered{0};
    uint64_t m_dropped{0};
    uint64_t m_transmitted{0};
    uint64_t m_transmittedBytes{0};
    uint32_t m_waiting{0};
    bool m_busy{false};
    ns3::Time m_start;
    ns3::Time m_last;
    ns3::Time m_busySince;
    double m_busyTime{0.0};
    double m_area{0.0};
};

} // namespace cppsns3

#endif
