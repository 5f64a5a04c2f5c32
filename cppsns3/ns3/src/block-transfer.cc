#include "block-transfer.h"

#include "ns3/inet-socket-address.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/tcp-socket-factory.h"

#include <algorithm>
#include <cstring>

namespace cppsns3
{

namespace
{
void
PutU32(std::vector<uint8_t>& b, uint32_t v)
{
    for (int i = 3; i >= 0; --i)
    {
        b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
}

uint64_t
GetBE(const uint8_t* p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; ++i)
    {
        v = (v << 8) | p[i];
    }
    return v;
}
} // namespace

// ---------------------------------------------------------------- server

ns3::TypeId
BlockServer::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::BlockServer")
                                 .SetParent<ns3::Application>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<BlockServer>();
    return tid;
}

BlockServer::BlockServer() = default;
BlockServer::~BlockServer() = default;

void
BlockServer::SetPort(uint16_t port)
{
    m_port = port;
}

void
BlockServer::SetFlushBytes(uint32_t bytes)
{
    m_flush = bytes;
}

void
BlockServer::SetNodeIndex(uint32_t index)
{
    m_node = index;
}

void
BlockServer::SetCallback(std::function<void(uint32_t, uint32_t, uint32_t)> cb)
{
    m_cb = std::move(cb);
}

uint32_t
BlockServer::GetNConnections() const
{
    return static_cast<uint32_t>(m_conns.size());
}

uint32_t
BlockServer::GetOrigin(uint32_t c) const
{
    return m_conns.at(c).origin;
}

uint32_t
BlockServer::GetVia(uint32_t c) const
{
    return m_conns.at(c).via;
}

uint32_t
BlockServer::GetKind(uint32_t c) const
{
    return m_conns.at(c).kind;
}

uint64_t
BlockServer::GetLength(uint32_t c) const
{
    return m_conns.at(c).length;
}

uint64_t
BlockServer::GetReceived(uint32_t c) const
{
    return m_conns.at(c).received;
}

const std::vector<uint8_t>&
BlockServer::GetChunk(uint32_t c) const
{
    return m_conns.at(c).chunk;
}

void
BlockServer::ClearChunk(uint32_t c)
{
    m_conns.at(c).chunk.clear();
}

uint64_t
BlockServer::GetBadHeaders() const
{
    return m_badHeaders;
}

void
BlockServer::DoDispose()
{
    m_listen = nullptr;
    m_ids.clear();
    m_sockets.clear();
    m_cb = nullptr;
    ns3::Application::DoDispose();
}

void
BlockServer::StartApplication()
{
    if (m_listen)
    {
        return;
    }
    m_listen = ns3::Socket::CreateSocket(GetNode(), ns3::TcpSocketFactory::GetTypeId());
    m_listen->Bind(ns3::InetSocketAddress(ns3::Ipv4Address::GetAny(), m_port));
    m_listen->Listen();
    m_listen->SetAcceptCallback(ns3::MakeCallback(&BlockServer::OnConnectionRequest, this),
                                ns3::MakeCallback(&BlockServer::OnAccept, this));
}

void
BlockServer::StopApplication()
{
    if (m_listen)
    {
        m_listen->Close();
    }
}

bool
BlockServer::OnConnectionRequest(ns3::Ptr<ns3::Socket>, const ns3::Address&)
{
    return true;
}

void
BlockServer::OnAccept(ns3::Ptr<ns3::Socket> s, const ns3::Address&)
{
    uint32_t id = static_cast<uint32_t>(m_conns.size());
    m_conns.emplace_back();
    m_ids[s] = id;
    m_sockets.push_back(s);
    s->SetRecvCallback(ns3::MakeCallback(&BlockServer::OnRead, this));
    s->SetCloseCallbacks(ns3::MakeCallback(&BlockServer::OnClose, this),
                         ns3::MakeCallback(&BlockServer::OnClose, this));
}

void
BlockServer::OnClose(ns3::Ptr<ns3::Socket>)
{
}

void
BlockServer::OnRead(ns3::Ptr<ns3::Socket> s)
{
    auto it = m_ids.find(s);
    if (it == m_ids.end())
    {
        return;
    }
    uint32_t id = it->second;
    ns3::Ptr<ns3::Packet> p;
    std::vector<uint8_t> buf;
    while ((p = s->Recv()))
    {
        uint32_t n = p->GetSize();
        if (n == 0)
        {
            continue;
        }
        buf.resize(n);
        p->CopyData(buf.data(), n);
        const uint8_t* data = buf.data();
        Conn& c = m_conns[id];
        if (c.done)
        {
            continue;
        }
        if (!c.haveHeader)
        {
            uint32_t take = std::min<uint32_t>(n, kBlockHeaderBytes - c.header.size());
            c.header.insert(c.header.end(), data, data + take);
            data += take;
            n -= take;
            if (c.header.size() < kBlockHeaderBytes)
            {
                continue;
            }
            if (GetBE(c.header.data(), 4) != kBlockMagic)
            {
                ++m_badHeaders;
                c.done = true;
                s->Close();
                continue;
            }
            c.kind = static_cast<uint32_t>(GetBE(c.header.data() + 4, 4));
            c.origin = static_cast<uint32_t>(GetBE(c.header.data() + 8, 4));
            c.via = static_cast<uint32_t>(GetBE(c.header.data() + 12, 4));
            c.length = GetBE(c.header.data() + 16, 8);
            c.haveHeader = true;
            c.chunk.reserve(std::min<uint64_t>(c.length, m_flush + 70000));
        }
        uint64_t room = c.length - c.received;
        uint32_t take = static_cast<uint32_t>(std::min<uint64_t>(n, room));
        c.chunk.insert(c.chunk.end(), data, data + take);
        c.received += take;
        if (c.received == c.length)
        {
            c.done = true;
            if (m_cb)
            {
                m_cb(m_node, id, COMPLETE);
            }
            c.chunk.clear();
            c.chunk.shrink_to_fit();
            s->Close();
        }
        else if (c.chunk.size() >= m_flush)
        {
            if (m_cb)
            {
                m_cb(m_node, id, CHUNK);
            }
            c.chunk.clear();
        }
    }
}

// ---------------------------------------------------------------- sender

ns3::TypeId
BlockSender::GetTypeId()
{
    static ns3::TypeId tid = ns3::TypeId("cppsns3::BlockSender")
                                 .SetParent<ns3::Application>()
                                 .SetGroupName("Cppsns3")
                                 .AddConstructor<BlockSender>();
    return tid;
}

BlockSender::BlockSender() = default;
BlockSender::~BlockSender() = default;

void
BlockSender::SetPayload(uint32_t id, const uint8_t* data, uint64_t n)
{
    m_payloads[id] = std::make_shared<const std::vector<uint8_t>>(data, data + n);
}

void
BlockSender::Send(uint32_t id, ns3::Ipv4Address remote, uint16_t port, uint32_t kind, uint32_t origin)
{
    Forward(id, remote, port, kind, origin, origin);
}

void
BlockSender::DropPayload(uint32_t id)
{
    m_payloads.erase(id);
}

void
BlockSender::Forward(uint32_t id, ns3::Ipv4Address remote, uint16_t port, uint32_t kind, uint32_t origin,
                     uint32_t via)
{
    Transfer t;
    t.payload = m_payloads.at(id);
    PutU32(t.header, kBlockMagic);
    PutU32(t.header, kind);
    PutU32(t.header, origin);
    PutU32(t.header, via);
    uint64_t len = t.payload->size();
    PutU32(t.header, static_cast<uint32_t>(len >> 32));
    PutU32(t.header, static_cast<uint32_t>(len & 0xffffffffu));
    t.remote = remote;
    t.port = port;
    uint32_t index = static_cast<uint32_t>(m_transfers.size());
    m_transfers.push_back(std::move(t));
    ns3::Simulator::ScheduleNow(&BlockSender::Begin, this, index, remote, port);
}

void
BlockSender::SetRetryDelay(double seconds)
{
    m_retryDelay = ns3::Seconds(seconds);
}

uint32_t
BlockSender::GetNRetries() const
{
    return m_retries;
}

uint32_t
BlockSender::GetNStarted() const
{
    return static_cast<uint32_t>(m_transfers.size());
}

uint32_t
BlockSender::GetNFinished() const
{
    return m_finished;
}

uint32_t
BlockSender::GetNFailed() const
{
    return m_failed;
}

uint32_t
BlockSender::GetNRetriesTo(ns3::Ipv4Address remote) const
{
    uint32_t n = 0;
    for (const auto& t : m_transfers)
    {
        if (t.remote == remote)
        {
            n += t.retries;
        }
    }
    return n;
}

void
BlockSender::Quiesce()
{
    m_quiet = true;
}

void
BlockSender::DoDispose()
{
    m_transfers.clear();
    m_ids.clear();
    m_payloads.clear();
    ns3::Application::DoDispose();
}

void
BlockSender::StartApplication()
{
}

void
BlockSender::StopApplication()
{
}

void
BlockSender::Begin(uint32_t index, ns3::Ipv4Address remote, uint16_t port)
{
    auto s = ns3::Socket::CreateSocket(GetNode(), ns3::TcpSocketFactory::GetTypeId());
    m_transfers[index].socket = s;
    m_ids[s] = index;
    s->Bind();
    s->SetConnectCallback(ns3::MakeCallback(&BlockSender::OnConnected, this),
                          ns3::MakeCallback(&BlockSender::OnConnectFailed, this));
    s->SetSendCallback(ns3::MakeCallback(&BlockSender::OnSendSpace, this));
    s->SetCloseCallbacks(ns3::MakeCallback(&BlockSender::OnNormalClose, this),
                         ns3::MakeCallback(&BlockSender::OnErrorClose, this));
    if (s->Connect(ns3::InetSocketAddress(remote, port)) < 0)
    {
        // No route right now (e.g. just after a link failure): no callback
        // will come, so count the failure and try again later.
        ++m_failed;
        ns3::Simulator::Schedule(m_retryDelay, &BlockSender::Retry, this, index);
    }
}

void
BlockSender::OnNormalClose(ns3::Ptr<ns3::Socket> s)
{
    auto it = m_ids.find(s);
    if (it != m_ids.end())
    {
        m_transfers[it->second].peerClosed = true;
        s->Close(); // the receiver has everything: finish our half too
    }
}

void
BlockSender::OnErrorClose(ns3::Ptr<ns3::Socket> s)
{
    auto it = m_ids.find(s);
    if (it == m_ids.end())
    {
        return;
    }
    Transfer& t = m_transfers[it->second];
    if (t.peerClosed)
    {
        return;
    }
    ++m_failed;
    ns3::Simulator::Schedule(m_retryDelay, &BlockSender::Retry, this, it->second);
}

void
BlockSender::Retry(uint32_t index)
{
    if (m_quiet)
    {
        return;
    }
    Transfer& t = m_transfers[index];
    m_ids.erase(t.socket);
    if (t.closed && t.offset > 0)
    {
        --m_finished;
    }
    t.socket = nullptr;
    t.offset = 0;
    t.closed = false;
    t.peerClosed = false;
    ++m_retries;
    ++t.retries;
    Begin(index, t.remote, t.port);
}

void
BlockSender::OnConnected(ns3::Ptr<ns3::Socket> s)
{
    Pump(m_ids.at(s));
}

void
BlockSender::OnConnectFailed(ns3::Ptr<ns3::Socket> s)
{
    ++m_failed;
    ns3::Simulator::Schedule(m_retryDelay, &BlockSender::Retry, this, m_ids.at(s));
}

void
BlockSender::OnSendSpace(ns3::Ptr<ns3::Socket> s, uint32_t)
{
    auto it = m_ids.find(s);
    if (it != m_ids.end())
    {
        Pump(it->second);
    }
}

void
BlockSender::Pump(uint32_t index)
{
    Transfer& t = m_transfers[index];
    if (t.closed)
    {
        return;
    }
    const uint64_t total = kBlockHeaderBytes + t.payload->size();
    while (t.offset < total)
    {
        uint32_t avail = t.socket->GetTxAvailable();
        if (avail == 0)
        {
            return;
        }
        const uint8_t* src;
        uint64_t left;
        if (t.offset < kBlockHeaderBytes)
        {
            src = t.header.data() + t.offset;
            left = kBlockHeaderBytes - t.offset;
        }
        else
        {
            src = t.payload->data() + (t.offset - kBlockHeaderBytes);
            left = total - t.offset;
        }
        uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(left, avail));
        int sent = t.socket->Send(src, n, 0);
        if (sent <= 0)
        {
            return;
        }
        t.offset += static_cast<uint64_t>(sent);
    }
    t.closed = true;
    ++m_finished; // all bytes handed to TCP; the server closes after reading them
}

} // namespace cppsns3
