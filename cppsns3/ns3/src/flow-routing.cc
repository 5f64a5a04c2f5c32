#include "flow-routing.h"

#include "ns3/ipv4-route.h"
#include "ns3/log.h"
#include "ns3/output-stream-wrapper.h"

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
