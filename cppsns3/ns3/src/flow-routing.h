// Per-flow routing: every (source node, destination node) pair follows the
// path the planner chose, hop by hop.
#ifndef CPPSNS3_FLOW_ROUTING_H
#define CPPSNS3_FLOW_ROUTING_H

#include "ns3/ipv4-address.h"
#include "ns3/ipv4-routing-protocol.h"
#include "ns3/ipv4.h"
#include "ns3/node.h"
#include "ns3/random-variable-stream.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace cppsns3
{

/**
 * Maps every interface address of the simulated network to the index of
 * the node that owns it (one table per simulation, shared by all nodes).
 */
class NodeAddressMap
{
  public:
    static void Clear();
    static void Add(ns3::Ipv4Address address, uint32_t node);
    /** Node index of an address, or UINT32_MAX if unknown. */
    static uint32_t Lookup(ns3::Ipv4Address address);

  private:
    static std::unordered_map<uint32_t, uint32_t>& Table();
};

/**
 * An Ipv4RoutingProtocol whose table is keyed by (source node, destination
 * node): a relay can send two flows to the same destination over different
 * next hops, which destination-based (static or global) routing cannot.
 * Packets with no entry are dropped (DROP_NO_ROUTE), never sent elsewhere.
 */
class FlowRouting : public ns3::Ipv4RoutingProtocol
{
  public:
    static ns3::TypeId GetTypeId();
    FlowRouting();
    ~FlowRouting() override;

    void SetNodeIndex(uint32_t index);
    uint32_t GetNodeIndex() const;
    /** Route (src, dst) traffic at this node out of `interface` to `gateway`. */
    void AddRoute(uint32_t srcNode, uint32_t dstNode, uint32_t interface, ns3::Ipv4Address gateway);
    void RemoveRoute(uint32_t srcNode, uint32_t dstNode);
    void ClearRoutes();
    std::size_t GetNRoutes() const;
    uint64_t GetNoRouteDrops() const;

    /**
     * Make this node a compromised relay: it holds every packet it forwards
     * (never the ones it sends or receives itself) back `delaySeconds`; of
     * the forwarded TCP segments that carry data it drops `dropFraction`,
     * and of the others it flips one payload
     * byte (never in the first `protectedBytes` of a connection's stream: the
     * block header) of `tamperFraction`.  Draws come from `stream` of ns-3's
     * RNG (same seed and run, same choices).
     */
    void SetRelayFault(double dropFraction, double delaySeconds, double tamperFraction, int64_t stream,
                       uint32_t protectedBytes);
    uint64_t GetFaultDrops() const;
    uint64_t GetFaultDelayed() const;
    uint64_t GetFaultTampered() const;

    ns3::Ptr<ns3::Ipv4Route> RouteOutput(ns3::Ptr<ns3::Packet> p,
                                         const ns3::Ipv4Header& header,
                                         ns3::Ptr<ns3::NetDevice> oif,
                                         ns3::Socket::SocketErrno& sockerr) override;
    bool RouteInput(ns3::Ptr<const ns3::Packet> p,
                    const ns3::Ipv4Header& header,
                    ns3::Ptr<const ns3::NetDevice> idev,
                    const UnicastForwardCallback& ucb,
                    const MulticastForwardCallback& mcb,
                    const LocalDeliverCallback& lcb,
                    const ErrorCallback& ecb) override;
    void NotifyInterfaceUp(uint32_t interface) override;
    void NotifyInterfaceDown(uint32_t interface) override;
    void NotifyAddAddress(uint32_t interface, ns3::Ipv4InterfaceAddress address) override;
    void NotifyRemoveAddress(uint32_t interface, ns3::Ipv4InterfaceAddress address) override;
    void SetIpv4(ns3::Ptr<ns3::Ipv4> ipv4) override;
    void PrintRoutingTable(ns3::Ptr<ns3::OutputStreamWrapper> stream,
                           ns3::Time::Unit unit = ns3::Time::S) const override;

  protected:
    void DoDispose() override;

  private:
    struct Entry
    {
        uint32_t interface;
        ns3::Ipv4Address gateway;
    };

    static uint64_t Key(uint32_t src, uint32_t dst);
    ns3::Ptr<ns3::Ipv4Route> MakeRoute(const Entry& e, ns3::Ipv4Address dst) const;
    /** The relay fault on a forwarded packet: false when it is dropped (reported through ecb). */
    bool ApplyFault(ns3::Ptr<const ns3::Packet>& p,
                    const ns3::Ipv4Header& header,
                    const ErrorCallback& ecb);

    ns3::Ptr<ns3::Ipv4> m_ipv4;
    uint32_t m_node{0};
    uint64_t m_noRoute{0};
    std::unordered_map<uint64_t, Entry> m_table;
    bool m_faulty{false};
    double m_dropFraction{0.0};
    ns3::Time m_delay{0};
    double m_tamperFraction{0.0};
    uint32_t m_protected{0};
    ns3::Ptr<ns3::UniformRandomVariable> m_rng;
    uint64_t m_faultDrops{0};
    uint64_t m_faultDelayed{0};
    uint64_t m_faultTampered{0};
};

/** Install a FlowRouting protocol on a node that has an Internet stack. */
ns3::Ptr<FlowRouting> InstallFlowRouting(ns3::Ptr<ns3::Node> node, uint32_t index);

} // namespace cppsns3

#endif
