#include "cppsns3-common.h"

namespace cppsns3
{

ns3::TypeId
ProbeTag::GetTypeId()
{
    static ns3::TypeId tid =
        ns3::TypeId("cppsns3::ProbeTag").SetParent<ns3::Tag>().SetGroupName("Cppsns3").AddConstructor<ProbeTag>();
    return tid;
}

ns3::TypeId
ProbeTag::GetInstanceTypeId() const
{
    return GetTypeId();
}

uint32_t
ProbeTag::GetSerializedSize() const
{
    return 4 + 4 + 8;
}

void
ProbeTag::Serialize(ns3::TagBuffer i) const
{
    i.WriteU32(flowId);
    i.WriteU32(seq);
    i.WriteU64(static_cast<uint64_t>(sendTimeNs));
}

void
ProbeTag::Deserialize(ns3::TagBuffer i)
{
    flowId = i.ReadU32();
    seq = i.ReadU32();
    sendTimeNs = static_cast<int64_t>(i.ReadU64());
}

void
ProbeTag::Print(std::ostream& os) const
{
    os << "flow=" << flowId << " seq=" << seq << " sent_ns=" << sendTimeNs;
}

} // namespace cppsns3
