// Whole-block transfers over TCP for the blockchain generation round.
#ifndef CPPSNS3_BLOCK_TRANSFER_H
#define CPPSNS3_BLOCK_TRANSFER_H

#include "ns3/address.h"
#include "ns3/application.h"
#include "ns3/ipv4-address.h"
#include "ns3/ptr.h"
#include "ns3/socket.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace cppsns3
{

/** Bytes in front of every block on a connection: magic, kind, origin, via (the sending node), length. */
constexpr uint32_t kBlockHeaderBytes = 24;
constexpr uint32_t kBlockMagic = 0x43504231; // "CPB1"

/**
 * Receives blocks on one TCP port; one connection carries one block.
 *
 * Received payload bytes are handed out in chunks (at least FlushBytes, and
 * the rest at the end) through a callback with the node index, the
 * connection id and the event; the caller reads the chunk (GetChunk) and
 * clears it (ClearChunk), so a node never holds whole blocks in memory.  One
 * callback object can serve every server of a simulation (from Python, each
 * new callable costs a cppyy wrapper compilation, ~70 ms).
 */
class BlockServer : public ns3::Application
{
  public:
    enum Event : uint32_t
    {
        CHUNK = 0,
        COMPLETE = 1,
    };

    static ns3::TypeId GetTypeId();
    BlockServer();
    ~BlockServer() override;

    void SetPort(uint16_t port);
    void SetFlushBytes(uint32_t bytes);
    void SetNodeIndex(uint32_t index);
    void SetCallback(std::function<void(uint32_t, uint32_t, uint32_t)> cb);

    uint32_t GetNConnections() const;
    uint32_t GetOrigin(uint32_t conn) const;
    /** The node that sent this copy (the origin, or the relay that forwarded it). */
    uint32_t GetVia(uint32_t conn) const;
    uint32_t GetKind(uint32_t conn) const;
    uint64_t GetLength(uint32_t conn) const;
    uint64_t GetReceived(uint32_t conn) const;
    const std::vector<uint8_t>& GetChunk(uint32_t conn) const;
    void ClearChunk(uint32_t conn);
    uint64_t GetBadHeaders() const;

  protected:
    void DoDispose() override;

  private:
    struct Conn
    {
        std::vector<uint8_t> header;
        std::vector<uint8_t> chunk;
        uint32_t origin{0};
        uint32_t via{0};
        uint32_t kind{0};
        uint64_t length{0};
        uint64_t received{0};
        bool haveHeader{false};
        bool done{false};
    };

    void StartApplication() override;
    void StopApplication() override;
    bool OnConnectionRequest(ns3::Ptr<ns3::Socket>, const ns3::Address&);
    void OnAccept(ns3::Ptr<ns3::Socket> s, const ns3::Address& from);
    void OnRead(ns3::Ptr<ns3::Socket> s);
    void OnClose(ns3::Ptr<ns3::Socket> s);

    uint16_t m_port{7000};
    uint32_t m_flush{1u << 20};
    uint64_t m_badHeaders{0};
    ns3::Ptr<ns3::Socket> m_listen;
    std::map<ns3::Ptr<ns3::Socket>, uint32_t> m_ids;
    std::vector<Conn> m_conns;
    std::vector<ns3::Ptr<ns3::Socket>> m_sockets;
    std::function<void(uint32_t, uint32_t, uint32_t)> m_cb;
    uint32_t m_node{0};
};

/**
 * Sends whole blocks over TCP, one connection per (block, destination).
 * Payloads are registered once and shared by all transfers that carry them.
 *
 * A transfer whose connection fails (SYN retries exhausted, or closed with
 * an error before the receiver closed it) is started again from the first
 * byte on a new connection after the retry delay (the scenario's t_wait).
 */
class BlockSender : public ns3::Application
{
  public:
    static ns3::TypeId GetTypeId();
    BlockSender();
    ~BlockSender() override;

    /** Copy `n` bytes into a payload slot `id` (replacing what was there). */
    void SetPayload(uint32_t id, const uint8_t* data, uint64_t n);
    /** Start sending payload `id` to `remote`:`port` now (or when the app starts). */
    void Send(uint32_t id, ns3::Ipv4Address remote, uint16_t port, uint32_t kind, uint32_t origin);
    /** As Send, for a copy this node forwards: `via` is this node (the receiver learns who sent it). */
    void Forward(uint32_t id, ns3::Ipv4Address remote, uint16_t port, uint32_t kind, uint32_t origin, uint32_t via);
    /** Forget payload `id` once its transfers are done with it (their shared copy stays alive). */
    void DropPayload(uint32_t id);
    void SetRetryDelay(double seconds);
    uint32_t GetNStarted() const;
    uint32_t GetNRetries() const;
    uint32_t GetNFinished() const;
    uint32_t GetNFailed() const;
    /** Transfers to `remote` started again (after a failed connection). */
    uint32_t GetNRetriesTo(ns3::Ipv4Address remote) const;
    /** Start nothing new from now on (no retries): the round is over. */
    void Quiesce();

  protected:
    void DoDispose() override;

  private:
    struct Transfer
    {
        ns3::Ptr<ns3::Socket> socket;
        std::shared_ptr<const std::vector<uint8_t>> payload;
        std::vector<uint8_t> header;
        uint64_t offset{0}; // bytes of header + payload handed to TCP
        bool closed{false};
        bool peerClosed{false};
        ns3::Ipv4Address remote;
        uint16_t port{0};
        uint32_t retries{0};
    };

    void StartApplication() override;
    void StopApplication() override;
    void Begin(uint32_t t, ns3::Ipv4Address remote, uint16_t port);
    void OnConnected(ns3::Ptr<ns3::Socket> s);
    void OnConnectFailed(ns3::Ptr<ns3::Socket> s);
    void OnSendSpace(ns3::Ptr<ns3::Socket> s, uint32_t available);
    void OnNormalClose(ns3::Ptr<ns3::Socket> s);
    void OnErrorClose(ns3::Ptr<ns3::Socket> s);
    void Retry(uint32_t t);
    void Pump(uint32_t t);

    std::map<uint32_t, std::shared_ptr<const std::vector<uint8_t>>> m_payloads;
    std::vector<Transfer> m_transfers;
    std::map<ns3::Ptr<ns3::Socket>, uint32_t> m_ids;
    uint32_t m_finished{0};
    uint32_t m_failed{0};
    uint32_t m_retries{0};
    bool m_quiet{false};
    ns3::Time m_retryDelay{ns3::MilliSeconds(10)};
};

} // namespace cppsns3

#endif
