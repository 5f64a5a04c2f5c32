// A pcap trace of one point-to-point port whose file the caller can close.
#ifndef CPPSNS3_PORT_TRACE_H
#define CPPSNS3_PORT_TRACE_H

#include "ns3/net-device.h"
#include "ns3/object.h"
#include "ns3/packet.h"
#include "ns3/pcap-file-wrapper.h"
#include "ns3/ptr.h"

#include <cstdint>
#include <string>

namespace cppsns3
{

/**
 * Writes every frame a PointToPointNetDevice puts on the wire or takes off
 * it (its "PromiscSniffer" trace, PPP header included, DLT_PPP) to a pcap
 * file, as PointToPointHelper::EnablePcap does, but keeps the file so that
 * Close() flushes it at the end of a run (ns-3's helper leaves it open until
 * the device is freed).
 */
class PortTrace : public ns3::Object
{
  public:
    static ns3::TypeId GetTypeId();

    /** Open `filename` and connect to the device; false if either fails. */
    bool AttachPcap(ns3::Ptr<ns3::NetDevice> device, const std::string& filename);
    /** Flush and close the file (idempotent). */
    void Close();
    uint64_t GetFrames() const;

  protected:
    void DoDispose() override;

  private:
    void OnSniff(ns3::Ptr<const ns3::Packet> p);

    ns3::Ptr<ns3::PcapFileWrapper> m_file;
    uint64_t m_frames{0};
};

} // namespace cppsns3

#endif
