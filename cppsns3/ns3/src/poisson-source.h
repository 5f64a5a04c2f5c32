// Poisson packet source with exponential packet sizes (the M/M/1/K customers).
#ifndef CPPSNS3_POISSON_SOURCE_H
#define CPPSNS3_POISSON_SOURCE_H

#include "ns3/address.h"
#include "ns3/application.h"
#include "ns3/event-id.h"
#include "ns3/ptr.h"
#include "ns3/random-variable-stream.h"
#include "ns3/socket.h"

namespace cppsns3
{

/**
 * Sends UDP packets to one remote address at Poisson times.
 *
 * Each packet's size on the wire (IPv4 20 + UDP 8 + PPP 2 = 30 B of headers
 * plus the payload) is exponential with mean meanPacketBytes, rounded to
 * whole bytes, floored at the header bytes (an empty payload) and capped at
 * headerBytes + maxPayloadBytes.  Every packet carries a ProbeTag (flow, seq,
 * send time).
 */
class PoissonSource : public ns3::Application
{
  public:
    static ns3::TypeId GetTypeId();
    PoissonSource();
    ~PoissonSource() override;

    void Configure(const ns3::Address& remote,
                   double ratePerS,
                   double meanPacketBytes,
                   uint32_t headerBytes,
                   uint32_t maxPayloadBytes,
                   uint64_t maxPackets,
                   uint32_t flowId);
    int64_t AssignStreams(int64_t stream);
    uint64_t GetSent() const;
    uint64_t GetSentBytes() const;

  protected:
    void DoDispose() override;

  private:
    void StartApplication() override;
    void StopApplication() override;
    void ScheduleNext();
    void SendOne();

    ns3::Address m_remote;
    double m_ratePerS{1.0};
    double m_meanPacketBytes{1.0}; // mean total size, bytes
    uint32_t m_maxPayloadBytes{65000};
    uint64_t m_maxPackets{0};
    uint32_t m_flowId{0};
    uint64_t m_sent{0};
    uint64_t m_sentBytes{0};
    uint32_t m_headerBytes{30};
    ns3::Ptr<ns3::Socket> m_socket;
    ns3::Ptr<ns3::ExponentialRandomVariable> m_gap;
    ns3::Ptr<ns3::ExponentialRandomVariable> m_size;
    ns3::EventId m_event;
};

} // namespace cppsns3

#endif
