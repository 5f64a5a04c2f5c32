// Shared pieces of the cppsns3 ns-3 extensions: the per-packet probe tag.
//
// Everything here is plain ns-3 C++: it is JIT-compiled by cppyy at first use
// and can be built into a shared library with the project's CMake presets.
#ifndef CPPSNS3_COMMON_H
#define CPPSNS3_COMMON_H

#include "ns3/nstime.h"
#include "ns3/tag.h"

#include <cstdint>
#include <ostream>

namespace cppsns3
{

/**
 * Probe carried by every packet a cppsns3 source sends: flow id, sequence
 * number and send time.  A packet tag adds no bytes on the wire, so the
 * queueing model sees exactly the sizes the source drew.
 */
class ProbeTag : public ns3::Tag
{
  public:
    static ns3::TypeId GetTypeId();
    ns3::TypeId GetInstanceTypeId() const override;
    uint32_t GetSerializedSize() const override;
    void Serialize(ns3::TagBuffer i) const override;
    void Deserialize(ns3::TagBuffer i) override;
    void Print(std::ostream& os) const override;

    uint32_t flowId{0};
    uint32_t seq{0};
    int64_t sendTimeNs{0};
};

} // namespace cppsns3

#endif
