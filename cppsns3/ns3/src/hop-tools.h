// Per-hop tools for network runs: retransmission of dropped packets after
// t_wait, a per-flow drop ledger, and a recorder of the nodes a packet visits.
#ifndef CPPSNS3_HOP_TOOLS_H
#define CPPSNS3_HOP_TOOLS_H

#include "ns3/ipv4.h"
#include "ns3/net-device.h"
#include "ns3/node.h"
#include "ns3/nstime.h"
#include "ns3/object.h"
#include "ns3/packet.h"
#include "ns3/tag.h"

#include <cstdint>
#include <vector>

namespace cppsns3
{

/** Number of times a packet was refused by a port and offered again. */
class RetryTag : public ns3::Tag
{
  public:
    static ns3::TypeId GetTypeId();
    ns3::TypeId GetInstanceTypeId() const override;
    uint32_t GetSerializedSize() const override;
    void Serialize(ns3::TagBuffer i) const override;
    void Deserialize(ns3::TagBuffer i) override;
    void Print(std::ostream& os) const override;

    uint32_t attempts{0};
};

/** Per-flow counts of queue drops (each refused attempt) and of abandoned packets. */
class DropLedger : public ns3::Object
{
  public:
    static ns3::TypeId GetTypeId();
    void Resize(uint32_t nFlows);
    void CountDrop(uint32_t flow);
    void CountAbandon(uint32_t flow);
    const std::vector<uint64_t>& GetDrops() const;
    const std::vector<uint64_t>& GetAbandoned() const;
    uint64_t GetUntagged() const;
    void CountUntagged();

  private:
    std::vector<uint64_t> m_drops;
    std::vector<uint64_t> m_abandoned;
    uint64_t m_untagged{0};
};

/**
 * Per-hop retransmission: a packet refused by the device queue of this port
 * is offered to the same port again after t_wait, up to maxAttempts refusals
 * in all; then it is abandoned (counted in the ledger).  This is the event
 * the P_loss * t_wait term of Eq. 2 stands for, hop by hop.
 */
class HopRetransmitter : public ns3::Object
{
  public:
    static ns3::TypeId GetTypeId();
    bool Attach(ns3::Ptr<ns3::NetDevice> device, double tWaitS, uint32_t maxAttempts,
                ns3::Ptr<DropLedger> ledger);
    uint64_t GetRetransmitted() const;

  private:
    void OnDrop(ns3::Ptr<const ns3::Packet> p);
    void Resend(ns3::Ptr<ns3::Packet> p);

    ns3::Ptr<ns3::NetDevice> m_device;
    ns3::Ptr<DropLedger> m_ledger;
    ns3::Time m_wait;
    uint32_t m_maxAttempts{8};
    bool m_retransmit{true};
    uint64_t m_retransmitted{0};
};

/**
 * Records, for packets with a ProbeTag seq below a limit, every node that
 * sends them on (the Ipv4 "Tx" trace), in event order: the visited path.
 */
class PathRecorder : public ns3::Object
{
  public:
    static ns3::TypeId GetTypeId();
    void SetSeqLimit(uint32_t limit);
    bool Attach(ns3::Ptr<ns3::Node> node, uint32_t index);
    const std::vector<uint32_t>& GetFlows() const;
    const std::vector<uint32_t>& GetSeqs() const;
    const std::vector<uint32_t>& GetNodes() const;

  private:
    void OnTx(uint32_t index, ns3::Ptr<const ns3::Packet> p, ns3::Ptr<ns3::Ipv4> ipv4, uint32_t iface);
    static void OnTxStatic(PathRecorder* self,
                           uint32_t index,
                           ns3::Ptr<const ns3::Packet> p,
                           ns3::Ptr<ns3::Ipv4> ipv4,
                           uint32_t iface);

    uint32_t m_limit{10};
    std::vector<uint32_t> m_flow;
    std::vector<uint32_t> m_seq;
    std::vector<uint32_t> m_node;
};

} // namespace cppsns3

#endif
