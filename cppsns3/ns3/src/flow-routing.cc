#include "flow-routing.h"

#include "ns3/ipv4-route.h"
#include "ns3/log.h"
#include "ns3/output-stream-wrapper.h"
#include "ns3/simulator.h"
#include "ns3/tcp-header.h"
#include "ns3/tcp-l4-protocol.h"

#include <limits>

namespace cppsns3
{

std::unordered_map<uint32_t, uint32_t>&
NodeAddressMap::Table()
{
    static std::unordered_map<uint32_t, uint32_t> table;
    return table;
}

void
NodeAddressMap::Clear()
{
    Table().clear();
}

void
NodeAddressMap::Add(ns3::Ipv4Address address, uint32_t node)
{
    Table()[address.Get()] = node;
}

uint32_t
NodeAddressMap::Lookup(ns3::Ipv4Address address)
{
    auto it = Table().find(address.Get());
    return it == Table().end() ? std::numeric_limits<uint32_t>::max() : it->second;
}

ns3::TypeId
FlowRouting::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::FlowRouting")
                                 .SetParent<ns3::Ipv4RoutingProtocol>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<FlowRouting>();
    return tid;
}

FlowRouting::FlowRouting() = default;
FlowRouting::~FlowRouting() = default;

uint64_t
FlowRouting::Key(uint32_t src, uint32_t dst)
{
    return (static_cast<uint64_t>(src) << 32) | dst;
}

void
FlowRouting::SetNodeIndex(uint32_t index)
{
    m_node = index;
}

uint32_t
FlowRouting::GetNodeIndex() const
{
    return m_node;
}

void
FlowRouting::AddRoute(uint32_t srcNode, uint32_t dstNode, uint32_t interface, ns3::Ipv4Address gateway)
{
    m_table[Key(srcNode, dstNode)] = Entry{interface, gateway};
}

void
FlowRouting::RemoveRoute(uint32_t srcNode, uint32_t dstNode)
{
    m_table.erase(Key(srcNode, dstNode));
}

void
FlowRouting::ClearRoutes()
{
    m_table.clear();
}

std::size_t
FlowRouting::GetNRoutes() const
{
    return m_table.size();
}

uint64_t
FlowRouting::GetNoRouteDrops() const
{
    return m_noRoute;
}

void
FlowRouting::SetRelayFault(double dropFraction, double delaySeconds, double tamperFraction, int64_t stream,
                           uint32_t protectedBytes)
{
    m_faulty = dropFraction > 0 || delaySeconds > 0 || tamperFraction > 0;
    m_dropFraction = dropFraction;
    m_delay = ns3::Seconds(delaySeconds);
    m_tamperFraction = tamperFraction;
    m_protected = protectedBytes;
    m_rng = ns3::CreateObject<ns3::UniformRandomVariable>();
    m_rng->SetStream(stream);
}

uint64_t
FlowRouting::GetFaultDrops() const
{
    return m_faultDrops;
}

uint64_t
FlowRouting::GetFaultDelayed() const
{
    return m_faultDelayed;
}

uint64_t
FlowRouting::GetFaultTampered() const
{
    return m_faultTampered;
}

bool
FlowRouting::ApplyFault(ns3::Ptr<const ns3::Packet>& p, const ns3::Ipv4Header& header, const ErrorCallback& ecb)
{
    if (header.GetProtocol() != ns3::TcpL4Protocol::PROT_NUMBER)
    {
        return true;
    }
    ns3::TcpHeader tcp;
    if (p->PeekHeader(tcp) == 0)
    {
        return true;
    }
    const uint32_t hdr = tcp.GetSerializedSize();
    if (p->GetSize() <= hdr)
    {
        return true; // a pure ACK, SYN or FIN: no block bytes
    }
    const uint32_t n = p->GetSize() - hdr;
    if (m_dropFraction > 0 && m_rng->GetValue() < m_dropFraction)
    {
        ++m_faultDrops;
        // Reported as a routing error: Ipv4L3Protocol's drop trace (and so
        // FlowMonitor) counts it, nothing is lost silently.
        ecb(p, header, ns3::Socket::ERROR_NOROUTETOHOST);
        return false;
    }
    if (m_tamperFraction > 0 && m_rng->GetValue() < m_tamperFraction)
    {
        // Stream offset of the segment's first byte: data starts at sequence 1 (ISN 0).
        const uint64_t seq = tcp.GetSequenceNumber().GetValue();
        const uint64_t first = seq >= 1 ? seq - 1 : 0;
        const uint64_t lo = first >= m_protected ? 0 : m_protected - first;
        if (lo < n)
        {
            // Rebuild the packet around the flipped byte from fragments of
            // itself, so its byte and packet tags (FlowMonitor's) stay.
            const uint32_t total = p->GetSize();
            const uint32_t at = hdr + static_cast<uint32_t>(lo + m_rng->GetInteger(0, static_cast<uint32_t>(n - lo - 1)));
            uint8_t byte = 0;
            p->CreateFragment(at, 1)->CopyData(&byte, 1);
            byte ^= 0xff;
            auto q = p->CreateFragment(0, at);
            q->AddAtEnd(ns3::Create<ns3::Packet>(&byte, 1));
            if (at + 1 < total)
            {
                q->AddAtEnd(p->CreateFragment(at + 1, total - at - 1));
            }
            p = q;
            ++m_faultTampered;
        }
    }
    return true;
}

ns3::Ptr<ns3::Ipv4Route>
FlowRouting::MakeRoute(const Entry& e, ns3::Ipv4Address dst) const
{
    auto route = ns3::Create<ns3::Ipv4Route>();
    route->SetDestination(dst);
    route->SetGateway(e.gateway);
    route->SetSource(m_ipv4->GetAddress(e.interface, 0).GetLocal());
    route->SetOutputDevice(m_ipv4->GetNetDevice(e.interface));
    return route;
}

ns3::Ptr<ns3::Ipv4Route>
FlowRouting::RouteOutput(ns3::Ptr<ns3::Packet>,
                         const ns3::Ipv4Header& header,
                         ns3::Ptr<ns3::NetDevice>,
                         ns3::Socket::SocketErrno& sockerr)
{
    // Traffic a node originates is keyed by the node itself as source.
    uint32_t dst = NodeAddressMap::Lookup(header.GetDestination());
    auto it = m_table.find(Key(m_node, dst));
    if (it == m_table.end() || !m_ipv4->IsUp(it->second.interface))
    {
        sockerr = ns3::Socket::ERROR_NOROUTETOHOST;
        return nullptr;
    }
    sockerr = ns3::Socket::ERROR_NOTERROR;
    return MakeRoute(it->second, header.GetDestination());
}

bool
FlowRouting::RouteInput(ns3::Ptr<const ns3::Packet> p,
                        const ns3::Ipv4Header& header,
                        ns3::Ptr<const ns3::NetDevice> idev,
                        const UnicastForwardCallback& ucb,
                        const MulticastForwardCallback&,
                        const LocalDeliverCallback& lcb,
                        const ErrorCallback& ecb)
{
    uint32_t iif = m_ipv4->GetInterfaceForDevice(idev);
    if (m_ipv4->IsDestinationAddress(header.GetDestination(), iif))
    {
        if (!lcb.IsNull())
        {
            lcb(p, header, iif);
            return true;
        }
        return false;
    }
    uint32_t src = NodeAddressMap::Lookup(header.GetSource());
    uint32_t dst = NodeAddressMap::Lookup(header.GetDestination());
    auto it = m_table.find(Key(src, dst));
    if (it == m_table.end() || !m_ipv4->IsUp(it->second.interface))
    {
        ++m_noRoute;
        return false; // Ipv4L3Protocol drops it with DROP_NO_ROUTE
    }
    if (m_faulty)
    {
        if (!ApplyFault(p, header, ecb))
        {
            return true; // dropped by the compromised relay (ecb reported it)
        }
        if (!m_delay.IsZero())
        {
            ++m_faultDelayed;
            ns3::Simulator::Schedule(m_delay, [ucb, route = MakeRoute(it->second, header.GetDestination()), p, header]() {
                ucb(route, p, header);
            });
            return true;
        }
    }
    ucb(MakeRoute(it->second, header.GetDestination()), p, header);
    return true;
}

void
FlowRouting::NotifyInterfaceUp(uint32_t)
{
}

void
FlowRouting::NotifyInterfaceDown(uint32_t)
{
}

void
FlowRouting::NotifyAddAddress(uint32_t, ns3::Ipv4InterfaceAddress)
{
}

void
FlowRouting::NotifyRemoveAddress(uint32_t, ns3::Ipv4InterfaceAddress)
{
}

void
FlowRouting::SetIpv4(ns3::Ptr<ns3::Ipv4> ipv4)
{
    m_ipv4 = ipv4;
}

void
FlowRouting::PrintRoutingTable(ns3::Ptr<ns3::OutputStreamWrapper> stream, ns3::Time::Unit) const
{
    std::ostream& os = *stream->GetStream();
    os << "cppsns3::FlowRouting node " << m_node << ", " << m_table.size() << " entries\n";
    for (const auto& [key, e] : m_table)
    {
        os << "  " << (key >> 32) << " -> " << (key & 0xffffffffu) << " via if " << e.interface << " gw "
           << e.gateway << "\n";
    }
}

void
FlowRouting::DoDispose()
{
    m_ipv4 = nullptr;
    m_table.clear();
    ns3::Ipv4RoutingProtocol::DoDispose();
}

ns3::Ptr<FlowRouting>
InstallFlowRouting(ns3::Ptr<ns3::Node> node, uint32_t index)
{
    auto ipv4 = node->GetObject<ns3::Ipv4>();
    auto routing = ns3::CreateObject<FlowRouting>();
    routing->SetNodeIndex(index);
    ipv4->SetRoutingProtocol(routing);
    return routing;
}

} // namespace cppsns3
