#include "port-trace.h"

#include "ns3/simulator.h"
#include "ns3/trace-helper.h"

namespace cppsns3
{

ns3::TypeId
PortTrace::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::PortTrace")
                                 .SetParent<ns3::Object>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<PortTrace>();
    return tid;
}

bool
PortTrace::AttachPcap(ns3::Ptr<ns3::NetDevice> device, const std::string& filename)
{
    if (!device || m_file)
    {
        return false;
    }
    ns3::PcapHelper helper;
    m_file = helper.CreateFile(filename, std::ios::out, ns3::PcapHelper::DLT_PPP);
    if (!m_file || m_file->Fail())
    {
        m_file = nullptr;
        return false;
    }
    return device->TraceConnectWithoutContext("PromiscSniffer",
                                              ns3::MakeCallback(&PortTrace::OnSniff, this));
}

void
PortTrace::OnSniff(ns3::Ptr<const ns3::Packet> p)
{
    if (m_file)
    {
        m_file->Write(ns3::Simulator::Now(), p);
        ++m_frames;
    }
}

void
PortTrace::Close()
{
    if (m_file)
    {
        m_file->Close();
        m_file = nullptr;
    }
}

uint64_t
PortTrace::GetFrames() const
{
    return m_frames;
}

void
PortTrace::DoDispose()
{
    Close();
    ns3::Object::DoDispose();
}

} // namespace cppsns3
