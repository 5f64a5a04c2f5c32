// UDP sink that records, per received packet, its flow, sequence and delay.
#ifndef CPPSNS3_DELAY_SINK_H
#define CPPSNS3_DELAY_SINK_H

#include "ns3/application.h"
#include "ns3/ptr.h"
#include "ns3/socket.h"

#include <cstdint>
#include <vector>

namespace cppsns3
{

/**
 * Listens on one UDP port and records every packet that carries a ProbeTag.
 *
 * The records are kept in arrival order in three parallel vectors, read from
 * Python as buffers after the run (no per-packet Python call).
 */
class DelaySink : public ns3::Application
{
  public:
    static ns3::TypeId GetTypeId();
    DelaySink();
    ~DelaySink() override;

    void SetPort(uint16_t port);
    void Reserve(std::size_t n);
    std::size_t GetCount() const;
    const std::vector<uint32_t>& GetFlowIds() const;
    const std::vector<uint32_t>& GetSeqs() const;
    const std::vector<double>& GetDelays() const;
    const std::vector<double>& GetArrivalTimes() const;

  protected:
    void DoDispose() override;

  private:
    void StartApplication() override;
    void StopApplication() override;
    void HandleRead(ns3::Ptr<ns3::Socket> socket);

    uint16_t m_port{9};
    ns3::Ptr<ns3::Socket> m_socket;
    std::vector<uint32_t> m_flow;
    std::vector<uint32_t> m_seq;
    std::vector<double> m_delay;
    std::vector<double> m_arrival;
};

} // namespace cppsns3

#endif
