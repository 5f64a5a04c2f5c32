"""Round mode: the paper's block generation process, packet by packet in ns-3.

Phase 1: every demand terminal sends its signed data block (real bytes from
:mod:`cppsns3.chain`) to every other node over TCP along its planned paths.
Phase 2: when the generator (chosen by the analytic min-max rule of the plan)
holds every data block, it builds and signs its block over the accepted data
blocks' hashes and sends it to every other node the same way.  A node appends
when it holds the generator block and every data block it lists, and both
verify.  Generation time = time the last node appended.

Verification of received bytes: each node hashes the payload bytes it
receives (SHA-256, streamed in chunks, so no node holds whole blocks in
memory).  The verdict on a byte string (decode, signer registered, Ed25519
signature, Merkle root) is a function of the bytes alone, so it is computed
once per distinct byte string (parent process) and looked up by digest; each
node keeps its own replay memory.  Verification takes no simulated time.

With ``[datacheck] enabled = true`` in the scenario, every node also runs the
Eq. 5-8 feature check (:mod:`cppsns3.datacheck`) on each data block it
accepts; the blocks it flags are counted (``blocks_flagged``), not refused.

Loss is recovered by TCP (segments of 60000 B inside the 65000 B MTU), with
its minimum retransmission timeout and SYN retry time set to the scenario's
``t_wait_s``; a connection TCP gives up on is started again by the sender
after ``t_wait_s`` (a duplicate delivery is ignored by the receiver) (ns-3's WAN defaults of 1 s and 3 s would dominate a round on a
millisecond network).
"""

from __future__ import annotations

import hashlib
import time

import numpy as np

from cppsns3.sim.netbuild import NetworkRun

__all__ = ["prepare_round", "round_bodies", "round_keys", "round_prep", "run_round", "RoundRun", "BLOCK_PORT", "TCP_SEGMENT_BYTES"]

BLOCK_PORT = 7000
#: The generator block goes to its own port, so FlowMonitor keeps its flows apart.
GENERATOR_PORT = 7001
TCP_SEGMENT_BYTES = 60000
TCP_RETRIES = 12
TCP_BUFFER_BYTES = 1024 * 1024  # per socket; memory grows with transfers x buffer
KIND_DATA = 1
KIND_GENERATOR = 2
#: Days of history the data-validation model is trained on (scenario [datacheck]).
DATACHECK_TRAIN_DAYS = 9
#: Simulated-time limit of one round.
MAX_ROUND_S = 600.0
#: Payload slot of a block a node relays: RELAY_SLOT + its origin (0: own block, 1: generator, 2: replay).
RELAY_SLOT = 16
#: First ns-3 RNG stream of the compromised relays (node i uses RELAY_STREAM + i); the
#: validate-mode sources use 0 .. 2 x flows, so the two never share a stream.
RELAY_STREAM = 1 << 40


def _tamper(raw: bytes) -> bytes:
    """Flip one bit in the middle of the body (after signing)."""
    b = bytearray(raw)
    i = len(b) * 2 // 3
    b[i] ^= 0x01
    return bytes(b)


def prepare_round(scenario, network, *, seed: int, data_scale: float, progress=None, reported=None,
                  frame=None, prev_hash: bytes | None = None, timestamp_s: float | None = None,
                  period_s: float = 900.0, bodies: dict | None = None):
    """Keys, registry and the terminals' signed data blocks (parent process, pure).

    The measurements come from power flows of ``scenario.net`` (the net
    object the scenario was built from; never reloaded by name).

    Parameters
    ----------
    reported : dict, optional
        Terminal bus -> ``f(frame) -> frame``: what a compromised sensor
        reports instead of the power flow (false data with a valid
        signature: the terminal signs what it is given).  The Eq. 5-8 check
        (``[datacheck] enabled``) is what can catch it.
    frame : pandas.DataFrame, optional
        The measurements to package (rows as :func:`power_flow_series`;
        the first row starts the sampling period), instead of the first step
        of a day of power flows of ``scenario.net`` (the co-simulation passes
        each step's own power flow).
    prev_hash : bytes, optional
        The chain tip the terminals point their blocks at (default genesis).
    timestamp_s : float, optional
        The blocks' timestamp (default: the end of the sampling period).
    period_s : float
        Length of the sampling period.
    bodies : dict, optional
        Node -> :class:`~cppsns3.chain.sized.BlockBody` made beforehand by
        :func:`round_bodies` (records and Merkle roots of ``frame``); only
        the headers are signed here.

    Returns
    -------
    RoundPrep
        ``terminals`` {node: Terminal}, ``registry``, ``payloads`` {node: bytes}
        (what each demand terminal sends, tampered where a fault says so),
        ``verdicts`` {sha256 digest: (ok, reason)}, ``block_bytes`` {node: int},
        ``blocks`` {digest: DataBlock} of the payloads that verify.

    Raises
    ------
    ScenarioError
        If ``data_scale`` is not positive.
    """
    from cppsns3.chain.measurements import power_flow_series
    from cppsns3.errors import ScenarioError

    if not (data_scale > 0 and np.isfinite(data_scale)):
        raise ScenarioError(f"--data-scale must be > 0, got {data_scale!r}")
    tampered = {f.bus for f in scenario.faults if f.kind == "tampered_block"}
    replaying = {f.bus for f in scenario.faults if f.kind == "replay"}
    terminals, registry = round_keys(scenario, network, seed)
    grid = scenario.net if scenario.net is not None else scenario.grid
    model = None
    if scenario.datacheck.enabled:
        # Train on DATACHECK_TRAIN_DAYS days; the round's blocks come from the
        # next (held-out) day, so a node forecasts them from history only.
        from cppsns3.datacheck import train_model
        from cppsns3.datacheck.evaluate import split_holdout

        full = power_flow_series(grid, days=DATACHECK_TRAIN_DAYS + 1, seed=seed)
        history, held_out = split_holdout(full, 1)
        frame = held_out if frame is None else frame
        model = train_model(history, grid=grid, seed=seed, tolerance=scenario.datacheck.tolerance)
    elif frame is None:
        frame = power_flow_series(grid, days=1, seed=seed)
    if bodies is None:
        bodies = round_bodies(scenario, network, terminals, frame, seed=seed, data_scale=data_scale,
                              period_s=period_s, reported=reported, progress=progress)
    payloads, blocks, replays = {}, {}, {}
    for term in scenario.terminals:
        site = network.site_of(term.bus)
        node = network.index[site]
        blk = bodies[node].seal(bytes(32) if prev_hash is None else prev_hash, timestamp_s)
        raw = blk.to_bytes()
        if site in tampered or term.bus in tampered:
            raw = _tamper(raw)
        else:
            blocks[node] = blk
        payloads[node] = raw
        if site in replaying or term.bus in replaying:
            # The terminal's block of the period before: validly signed, and on
            # the chain already (the registry accepted it then), so a replay.
            end = bodies[node].end_s if timestamp_s is None else timestamp_s
            old = bodies[node].seal(bytes(32), end - period_s)
            registry.verify(old)
            replays[node] = old.to_bytes()
    return round_prep(terminals, registry, payloads, model=model, blocks=blocks, replays=replays)


def round_bodies(scenario, network, terminals: dict, frame, *, seed: int, data_scale: float,
                 period_s: float = 900.0, reported=None, progress=None) -> dict:
    """The unsigned bodies (records, Merkle roots) of the terminals' data blocks of ``frame``.

    The part of :func:`prepare_round` that does not depend on the chain:
    the co-simulation makes the next step's bodies while the current
    step's network runs.

    Parameters
    ----------
    terminals : dict
        Node -> Terminal (:func:`round_keys`).
    frame : pandas.DataFrame
        The measurements (rows as :func:`power_flow_series`).
    reported, progress
        As :func:`prepare_round`.

    Returns
    -------
    dict
        Node of a demand terminal -> :class:`~cppsns3.chain.sized.BlockBody`.
    """
    from cppsns3.chain.sized import block_body

    bodies = {}
    for term in scenario.terminals:
        node = network.index[network.site_of(term.bus)]
        seen = frame
        if reported and term.bus in reported:
            seen = reported[term.bus](frame.copy())
            seen.attrs = dict(frame.attrs)
        bodies[node] = block_body(terminals[node], term.data_mb * data_scale, seen, grid=frame.attrs["grid"],
                                  bus=term.bus, seed=seed, period_s=period_s)
        if progress:
            progress()
    return bodies


def round_keys(scenario, network, seed: int):
    """Every node's terminal keys (seeded) and the registry (``unregistered_key`` faults left out).

    Returns
    -------
    (dict, Registry)
        Node index -> Terminal, and the registration contract.
    """
    from cppsns3.chain import Registry, Terminal

    labels = list(network.nodes)
    unregistered = {network.site_of(f.bus) for f in scenario.faults if f.kind == "unregistered_key"}
    registry = Registry(buses=labels)
    terminals = {}
    for i, label in enumerate(labels):
        t = Terminal.from_seed(f"T{label}", label, seed)
        terminals[i] = t
        if label not in unregistered:
            registry.register(t.terminal_id, label, t.public_key)
    return terminals, registry


def data_verdict(raw: bytes, registry) -> tuple:
    """``(ok, reason)`` of received data-block bytes: decode, signer, signature, Merkle root, replay.

    The registry is not changed (a copy's replay memory is used).
    """
    from cppsns3.chain import BlockFormatError, InvalidBlock

    try:
        registry.copy().verify_bytes(raw)
    except (BlockFormatError, InvalidBlock) as exc:
        return False, getattr(exc, "reason", None) or "format error"
    return True, ""


def round_prep(terminals: dict, registry, payloads: dict, model=None, blocks: dict | None = None,
               replays: dict | None = None):
    """The :class:`RoundPrep` of given payloads: verdicts (and data-check flags) once per byte string.

    Parameters
    ----------
    terminals : dict
        Node index -> Terminal (every node's keys).
    registry : Registry
    payloads : dict
        Node index of a demand terminal -> the bytes it sends.
    model : optional
        A trained data-check model (``[datacheck] enabled``).
    blocks : dict, optional
        Node -> the DataBlock whose encoding that node's payload is (the
        sender's own object): verified as it is instead of decoding the
        bytes again (same verdict: the object's encoding *is* the payload,
        checked byte for byte here).  Payloads without one are decoded.
    replays : dict, optional
        Node -> an older block it sends again (``replay`` faults).
    """
    from cppsns3.chain import BlockFormatError, DataBlock, InvalidBlock
    from cppsns3.datacheck import check_block
    from cppsns3.sim.spec import RoundPrep

    blocks = blocks or {}
    verdicts, flagged, valid = {}, {}, {}
    for node, raw in payloads.items():
        digest = hashlib.sha256(raw).digest()
        own = blocks.get(node)
        try:
            if own is not None and own.to_bytes() == raw:
                blk = own
                registry.copy().verify(blk)
            else:
                blk = DataBlock.from_bytes(raw)
                registry.copy().verify(blk)
            verdicts[digest] = (True, "")
            valid[digest] = blk
        except (BlockFormatError, InvalidBlock) as exc:
            verdicts[digest] = (False, getattr(exc, "reason", None) or "format error")
            continue
        if model is not None:
            # Eq. 8 check of the block's records; deterministic without history
            # updates, so computed once per distinct block like the verdict.
            flagged[digest] = len(check_block(blk, model.fork(), update=False))
    replays = dict(replays or {})
    for raw in replays.values():
        verdicts[hashlib.sha256(raw).digest()] = data_verdict(raw, registry)
    return RoundPrep(terminals=terminals, registry=registry, payloads=payloads, verdicts=verdicts,
                     flagged_records=flagged, block_bytes={n: len(r) for n, r in payloads.items()},
                     blocks=valid, replays=replays)


class _Round:
    """Node-side protocol state, driven by the BlockServer callbacks.

    Parameters
    ----------
    keep : callable, optional
        ``keep(origin, node)``: whether ``node`` keeps the bytes it receives
        from ``origin`` (their path crosses a relay that may change them), so
        that bytes nobody sent are verified as received, for the real reason.
    """

    def __init__(self, spec, topo, servers, senders, prep, generator, keep=None):
        from cppsns3.ns3 import ns

        self.ns = ns
        self.spec = spec
        self.topo = topo
        self.servers = servers
        self.senders = senders
        self.prep = prep
        self.generator = generator
        self.keep = keep
        n = len(spec.labels)
        self.n = n
        # broadcast = "relay": a node passes each block it verified on to its neighbours
        # (all but the one it came from); otherwise the sender unicasts to every node.
        self.relay = spec.round.broadcast == "relay"
        self.neighbours = [[] for _ in range(n)]
        for lk in spec.links:
            self.neighbours[lk.a].append(lk.b)
            self.neighbours[lk.b].append(lk.a)
        self.neighbours = [sorted(set(x)) for x in self.neighbours]
        self.sources = sorted(prep.payloads)
        self.hashers = {}
        self.kept = {}  # (server, conn) -> bytearray of a transfer whose bytes are kept
        self.data_done = [set() for _ in range(n)]  # origins whose block arrived (any verdict but replay)
        self.accepted = [dict() for _ in range(n)]  # origin -> block hash
        self.rejected = [0] * n
        self.node_reasons = [dict() for _ in range(n)]
        self.late = [0] * n
        self.flagged = [0] * n
        self.seen = [set() for _ in range(n)]
        self.duplicates = 0
        self.reasons = {}
        self.arrival_s = {}  # (origin, node) -> completion time of the data block
        self.gen_raw = None
        self.gen_listed = set()
        self.gen_built_s = None
        self.gen_sent = set()
        self.excluded = set()  # terminals cut off from the generator when it built the block: not in this round
        self.gen_received = [None] * n
        self.appended_s = [None] * n
        self.finished = [False] * n  # appended, or can never append this round
        self.append_errors = {}
        self.reachable = set(range(n))
        self.own_digest = {}
        for node, raw in prep.payloads.items():
            d = hashlib.sha256(raw).digest()
            self.own_digest[node] = d
            ok, _ = prep.verdicts[d]
            self.data_done[node].add(node)
            if ok:
                self.accepted[node][node] = d

    # -- callbacks ---------------------------------------------------------
    def on_event(self, index, conn, event):
        # Servers 0..n-1 take data blocks, n..2n-1 generator blocks.
        server = self.servers[index]
        node = index % self.n
        chunk = server.GetChunk(conn)
        key = (index, conn)
        h = self.hashers.get(key)
        if h is None:
            h = self.hashers[key] = hashlib.sha256()
            if self.keep is not None and self.keep(int(server.GetOrigin(conn)), node):
                self.kept[key] = bytearray()
        size = int(chunk.size())
        if size:
            view = np.frombuffer(chunk.data(), dtype=np.uint8, count=size)
            h.update(view)
            buf = self.kept.get(key)
            if buf is not None:
                buf += view.tobytes()
        if event == 0:
            return
        del self.hashers[key]
        raw = self.kept.pop(key, None)
        digest = h.digest()
        kind, origin = int(server.GetKind(conn)), int(server.GetOrigin(conn))
        via = int(server.GetVia(conn))
        now = self.ns.Simulator.Now().GetSeconds()
        if kind == KIND_DATA:
            self.on_data(node, origin, digest, now, None if raw is None else bytes(raw), via=via)
        elif kind == KIND_GENERATOR:
            if self.gen_received[node] is not None:
                self.duplicates += 1
                return
            self.gen_received[node] = (digest, now, None if raw is None else bytes(raw))
            if self.relay and self.gen_raw is not None and digest == hashlib.sha256(self.gen_raw).digest():
                self.forward(node, 1, self.gen_raw, GENERATOR_PORT, KIND_GENERATOR, self.generator, via)
            self.try_append(node, now)

    def refuse(self, node, reason):
        self.rejected[node] += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self.node_reasons[node][reason] = self.node_reasons[node].get(reason, 0) + 1

    def forward(self, node, slot, payload, port, kind, origin, via):
        """Relay mode: ``node`` passes ``payload`` on to its neighbours but ``via`` and ``origin``."""
        dsts = [w for w in self.neighbours[node] if w not in (via, origin)]
        if not dsts:
            return
        sender = self.senders[node]
        sender.SetPayload(slot, np.frombuffer(payload, dtype=np.uint8), len(payload))
        for w in dsts:
            sender.Forward(slot, self.topo.primary[w], port, kind, origin, node)

    def on_data(self, node, origin, digest, now, raw=None, via=None):
        from cppsns3.chain.reasons import REPLAY

        if (origin, digest) in self.seen[node]:
            self.duplicates += 1  # a retried transfer delivered the same bytes again
            return
        self.seen[node].add((origin, digest))
        verdict = self.prep.verdicts.get(digest)
        if verdict is None:
            # Bytes nobody sent (changed on the way): verified as received.
            verdict = data_verdict(raw, self.prep.registry) if raw is not None else (False, "unknown bytes")
        ok, reason = verdict
        if ok and digest in self.accepted[node].values():
            ok, reason = False, REPLAY
        if not ok and reason == REPLAY:
            # An older block sent again: refused; this round's block of the origin is still awaited.
            self.refuse(node, reason)
            return
        self.arrival_s.setdefault((origin, node), now)
        self.data_done[node].add(origin)
        if ok:
            self.accepted[node][origin] = digest
            if self.relay:  # the bytes it verified, and only those, go on
                payload = self.prep.payloads[origin] if digest == self.own_digest.get(origin) else raw
                if payload is not None:
                    self.forward(node, RELAY_SLOT + origin, payload, BLOCK_PORT, KIND_DATA, origin, via)
            if self.gen_raw is not None and digest not in self.gen_listed:
                self.late[node] += 1  # reached the generator after it built the round's block
            if self.prep.flagged_records.get(digest, 0):
                self.flagged[node] += 1
        else:
            self.refuse(node, reason)
        if node == self.generator and self.can_build():
            self.build_generator_block(now)
        self.try_append(node, now)
        self.maybe_stop()

    def has_all_data(self, node):
        """Every reachable demand terminal's block has arrived (whatever its verdict)."""
        return all(s in self.data_done[node] for s in self.sources if s != node and s in self.reachable)

    def can_build(self) -> bool:
        """The generator holds every reachable terminal's block and is not cut off from every node."""
        g = self.generator
        return self.gen_raw is None and self.has_all_data(g) and (len(self.reachable) > 1 or self.n == 1)

    def after_replan(self, now, reachable=None):
        """Re-check the round after the reachable set changed (links went down or came back).

        Nodes that became reachable again after the generator block was sent get it now.
        """
        if reachable is not None:
            newly = set(reachable) - self.reachable
            self.reachable = set(reachable)
            if self.gen_raw is not None and not self.relay:  # relay: the neighbours' transfers retry
                self.send_generator_block(sorted(newly))
        if self.can_build():
            self.build_generator_block(now)
        for node in sorted(self.reachable):
            self.try_append(node, now)
        self.maybe_stop()

    # -- protocol ----------------------------------------------------------
    def start_phase1(self):
        for node, raw in self.prep.payloads.items():
            sender = self.senders[node]
            sender.SetPayload(0, np.frombuffer(raw, dtype=np.uint8), len(raw))
            old = self.prep.replays.get(node)
            if old is not None:  # the replayed block goes out first, beside the real one
                sender.SetPayload(2, np.frombuffer(old, dtype=np.uint8), len(old))
            for dst in (self.neighbours[node] if self.relay else range(self.n)):
                if dst != node:
                    if old is not None:
                        sender.Send(2, self.topo.primary[dst], BLOCK_PORT, KIND_DATA, node)
                    sender.Send(0, self.topo.primary[dst], BLOCK_PORT, KIND_DATA, node)
        if self.can_build():
            self.build_generator_block(0.0)

    def build_generator_block(self, now):
        from cppsns3.chain import make_generator_block

        g = self.generator
        hashes = sorted(self.accepted[g].values())
        term = self.prep.terminals[g]
        ri = self.spec.round
        blk = make_generator_block(term, hashes, ri.prev_hash, float(ri.timestamp_s) + now, ri.height)
        raw = blk.to_bytes()
        self.gen_raw = raw
        self.gen_listed = set(hashes)
        self.excluded = {s for s in self.sources if s not in self.reachable}
        self.gen_built_s = now
        self.gen_received[g] = (hashlib.sha256(raw).digest(), now, None)
        self.senders[g].SetPayload(1, np.frombuffer(raw, dtype=np.uint8), len(raw))
        self.send_generator_block(self.neighbours[g] if self.relay else sorted(self.reachable))
        self.try_append(g, now)

    def send_generator_block(self, dsts):
        g = self.generator
        for dst in dsts:
            if dst != g and dst not in self.gen_sent:
                self.gen_sent.add(dst)
                self.senders[g].Send(1, self.topo.primary[dst], GENERATOR_PORT, KIND_GENERATOR, g)

    def fail(self, node, reason):
        """``node`` cannot append this round's block: record why, and stop waiting for it."""
        self.append_errors[node] = reason
        self.finished[node] = True
        self.maybe_stop()

    def try_append(self, node, now):
        from cppsns3.chain import BlockFormatError, InvalidBlock, verify_generator_block
        from cppsns3.chain.reasons import MISSING_BLOCK

        if self.finished[node] or self.gen_received[node] is None:
            return
        digest, _, got = self.gen_received[node]
        # Wait for every data block the generator block lists; blocks from
        # terminals cut off from the generator (now, or when it built the
        # block) are not part of this round.
        held = {h for origin, h in self.accepted[node].items()
                if origin in self.reachable and origin not in self.excluded}
        if self.gen_raw is None or digest != hashlib.sha256(self.gen_raw).digest():
            reason = "unknown generator bytes"
            if got is not None:  # verified as received
                try:
                    verify_generator_block(got, held, self.prep.registry)
                except (BlockFormatError, InvalidBlock) as exc:
                    reason = getattr(exc, "reason", None) or str(exc)
            self.fail(node, reason)
            return
        if not self.gen_listed <= held:
            if self.has_all_data(node):  # a block it lists was refused here: it never comes
                self.fail(node, MISSING_BLOCK)
            return
        try:
            verify_generator_block(self.gen_raw, held, self.prep.registry)
        except (BlockFormatError, InvalidBlock) as exc:
            self.fail(node, getattr(exc, "reason", str(exc)))
            return
        self.appended_s[node] = now
        self.finished[node] = True
        self.append_errors.pop(node, None)
        self.maybe_stop()

    def done(self) -> bool:
        """Every reachable node appended (or cannot) and every data block
        (refused ones too, so every refusal is counted) has arrived."""
        return all(self.finished[i] for i in self.reachable) and all(
            self.has_all_data(i) for i in self.reachable
        )

    def maybe_stop(self):
        if self.done():
            self.ns.Simulator.Stop()


def _replan_without(spec, down_edges):
    """Minimum-delay paths on the graph without the failed links."""
    from cppsns3.sim.spec import delay_graph

    return delay_graph(spec.links, len(spec.labels), down_edges)


def run_round(spec) -> dict:
    """Run one generation round (:class:`RoundRun`); return times, counts and per-flow stats.

    Raises
    ------
    SimulationError
        If a socket or trace cannot be set up.
    """
    return RoundRun(spec).run()


class RoundRun(NetworkRun):
    """Round mode on one spec: block servers and senders on every node, port monitors,
    FlowMonitor; ``spec.round`` carries the blocks, the generator and the timed link
    failures."""

    mode = "round"

    def _configure(self):
        from cppsns3.ns3 import ns

        spec = self.spec
        if spec.round is None:
            raise ValueError("round: a round-mode spec needs its RoundInputs (blocks, generator)")
        ns.Config.SetDefault("ns3::TcpSocket::SegmentSize", ns.UintegerValue(TCP_SEGMENT_BYTES))
        ns.Config.SetDefault("ns3::TcpSocket::SndBufSize", ns.UintegerValue(TCP_BUFFER_BYTES))
        ns.Config.SetDefault("ns3::TcpSocket::RcvBufSize", ns.UintegerValue(TCP_BUFFER_BYTES))
        # ns-3's defaults (MinRto 1 s, SYN retry after 3 s) are WAN values; on
        # this network a lost segment or SYN is sent again after t_wait.
        rto = ns.Seconds(max(spec.t_wait_s, 1e-3))
        ns.Config.SetDefault("ns3::TcpSocketBase::MinRto", ns.TimeValue(rto))
        ns.Config.SetDefault("ns3::TcpSocket::ConnTimeout", ns.TimeValue(rto))
        # ns-3 acknowledges a lone segment only after DelAckTimeout (200 ms): with
        # MinRto = t_wait the sender would time out first on every block's last
        # segment and back off.  Acknowledge well inside the RTO instead.
        ns.Config.SetDefault("ns3::TcpSocket::DelAckTimeout", ns.TimeValue(ns.Seconds(max(spec.t_wait_s, 1e-3) / 10)))
        # Give up on a connection late; the sender then starts it again anyway.
        ns.Config.SetDefault("ns3::TcpSocket::ConnCount", ns.UintegerValue(TCP_RETRIES))
        ns.Config.SetDefault("ns3::TcpSocket::DataRetries", ns.UintegerValue(TCP_RETRIES))

    def _install(self):
        from cppsns3.ns3 import cpp, ns, std_function
        from cppsns3.sim.netbuild import attach_port_monitors

        spec, topo = self.spec, self.topo
        # The routes change when a link goes down: work on this run's own copy.
        self.routes = dict(spec.routes)
        n = len(spec.labels)
        servers, gen_servers, senders = [], [], []
        for i in range(n):
            srv = ns.CreateObject[cpp.BlockServer]()
            srv.SetPort(BLOCK_PORT)
            topo.node(i).AddApplication(srv)
            gsrv = ns.CreateObject[cpp.BlockServer]()
            gsrv.SetPort(GENERATOR_PORT)
            topo.node(i).AddApplication(gsrv)
            snd = ns.CreateObject[cpp.BlockSender]()
            snd.SetRetryDelay(max(spec.t_wait_s, 1e-3))
            topo.node(i).AddApplication(snd)
            servers.append(srv)
            gen_servers.append(gsrv)
            senders.append(snd)
        self.senders = senders
        # Compromised relays (relay_drop / relay_delay / relay_tamper): in the forwarding itself.
        tamperers = set()
        for rf in spec.round.relay_faults:
            topo.routing[rf.node].SetRelayFault(float(rf.drop_fraction), float(rf.delay_s),
                                                float(rf.tamper_fraction), RELAY_STREAM + int(rf.node),
                                                int(cpp.kBlockHeaderBytes))
            if rf.tamper_fraction > 0:
                tamperers.add(int(rf.node))
        self.tamperers = tamperers
        keep = None
        if tamperers:
            def keep(origin, node):
                path = self.routes.get((origin, node), ())
                return any(v in tamperers for v in path[1:-1])
        self.state = _Round(spec, topo, servers + gen_servers, senders, spec.round.prep, spec.round.generator,
                            keep=keep)
        # One C++ std::function for all servers: cppyy compiles a wrapper per
        # Python callable converted (~70 ms each), not per copy.
        self._handler = self.state.on_event  # a bound method object: keep it alive for cppyy
        self._callback = std_function("void(uint32_t, uint32_t, uint32_t)", self._handler)
        for i, srv in enumerate(servers + gen_servers):
            srv.SetNodeIndex(i)
            srv.SetCallback(self._callback)
        self.monitors = attach_port_monitors(spec, topo)
        self._install_flowmon(1e-5)

    def _reroute(self, down) -> int:
        """Forwarding after the links ``down`` changed: the planned path where it is up,
        else the minimum-delay path around the failures, else none.

        Returns
        -------
        (int, networkx.Graph)
            The pairs whose forwarding changed, and the graph of links up.
        """
        import networkx as nx

        spec, topo = self.spec, self.topo
        g = _replan_without(spec, down)
        changed = 0
        cache = {}
        for (s, d), planned in spec.routes.items():
            cur = self.routes.get((s, d))
            planned_up = not any(self.link_of[(u, v)] in down for u, v in zip(planned[:-1], planned[1:]))
            if planned_up:
                want = tuple(planned)
            elif self.state.relay:
                want = None  # one hop to a neighbour: no detour, the transfer waits for the link
            elif cur is not None and not any(self.link_of[(u, v)] in down for u, v in zip(cur[:-1], cur[1:])):
                want = cur  # the detour still works
            else:
                if s not in cache:
                    cache[s] = nx.single_source_dijkstra_path(g, s, weight="weight")
                p = cache[s].get(d)
                want = None if p is None else tuple(p)
            if want == cur:
                continue
            if cur is not None:
                for u in cur[:-1]:
                    topo.routing[u].RemoveRoute(s, d)
            if want is None:
                self.routes.pop((s, d), None)
            else:
                topo.install_paths({(s, d): want})
                self.routes[(s, d)] = want
            changed += 1
        return changed, g

    def _run_until(self, t_s: float) -> None:
        """Advance the simulation to ``t_s`` (the round may stop it earlier; go on to ``t_s``)."""
        ns = self.ns
        target = int(ns.Seconds(t_s).GetTimeStep())  # compared in ns-3's time steps, so no step is too small
        while (left := target - int(ns.Simulator.Now().GetTimeStep())) > 0:
            ev = ns.Simulator.Stop(ns.TimeStep(left))
            ns.Simulator.Run()
            ns.Simulator.Cancel(ev)  # the round stopped it earlier: no stale stop for a later Run

    def _simulate(self) -> dict:
        import networkx as nx

        from cppsns3.ns3 import ns
        from cppsns3.sim.netbuild import port_snapshot

        self.ns = ns
        spec, topo, state = self.spec, self.topo, self.state
        generator = int(spec.round.generator)
        n = len(spec.labels)
        t_start = time.perf_counter()
        state.start_phase1()
        build_s = time.perf_counter() - t_start

        t_sim = time.perf_counter()
        # Link failures and repairs (link_down, link_flap, node_down), in time order.
        events = sorted([(t, 1, e) for t, e in spec.round.link_down] + [(t, 0, e) for t, e in spec.round.link_up])
        self.link_of = link_of = {}
        for e, lk in enumerate(spec.links):
            link_of[(lk.a, lk.b)] = link_of[(lk.b, lk.a)] = e
        down_count = {}
        replanned = 0
        cut_off = set()
        i = 0
        while i < len(events):
            at_s = events[i][0]
            self._run_until(at_s)
            if state.done() and not any(is_down == 0 for _, is_down, _ in events[i:]):
                break  # the round is over and no link comes back: nothing left to change it
            while i < len(events) and events[i][0] == at_s:
                _, is_down, e = events[i]
                i += 1
                was_down = down_count.get(e, 0) > 0
                down_count[e] = down_count.get(e, 0) + (1 if is_down else -1)
                now_down = down_count[e] > 0
                if now_down and not was_down:
                    topo.set_link_down(e)
                elif was_down and not now_down:
                    topo.set_link_up(e)
            down = {e for e, c in down_count.items() if c > 0}
            changed, g = self._reroute(down)
            replanned += changed
            comp = nx.node_connected_component(g, generator)
            cut_off = set(range(n)) - comp
            state.after_replan(ns.Simulator.Now().GetSeconds(), comp)
        isolated = n > 1 and len(state.reachable) == 1
        if not state.done() and not isolated:
            now = ns.Simulator.Now().GetSeconds()
            ev = ns.Simulator.Stop(ns.Seconds(MAX_ROUND_S - now))
            ns.Simulator.Run()  # until the round is done (it stops the simulator) or the time limit
            ns.Simulator.Cancel(ev)
        sim_s = time.perf_counter() - t_sim
        end_s = ns.Simulator.Now().GetSeconds()
        # The ports as the round ends (their window is the round's).
        ports = {(u, v): port_snapshot(m) for (u, v), m in self.monitors.items()}
        # Let the packets in flight land (no transfer starts again), so every
        # packet sent is either received or dropped with its reason.
        for snd in self.senders:
            snd.Quiesce()
        self._run_until(end_s + self._drain_s())
        drained = {(u, v): port_snapshot(m) for (u, v), m in self.monitors.items()}
        events_n = int(ns.Simulator.GetEventCount())
        fmrec = self._flowmon_results()
        packets = _packet_totals(self.fm, drained, topo, self.tamperers, spec.round.relay_faults)
        flows = []
        for f in spec.flows:
            rec = fmrec.get((f.src, f.dst, 6, BLOCK_PORT), {})
            rx = rec.get("rx_packets", 0)
            flows.append({
                "index": f.index,
                "block_arrival_s": state.arrival_s.get((f.src, f.dst)),
                "sent_packets": rec.get("tx_packets", 0),
                "received_packets": rx,
                "dropped_packets": rec.get("dropped_packets", 0),
                "lost_packets": rec.get("lost_packets", 0),
                "measured_delay_s": rec["delay_sum_s"] / rx if rx else float("nan"),
            })
        appended = [t for t in state.appended_s if t is not None]
        # The forwarding table as installed at the end (after any re-routing).
        installed_routes = dict(self.routes)
        senders = self.senders
        resent = [int(sum(s.GetNRetriesTo(topo.primary[d]) for s in senders)) for d in range(n)]
        ns.Simulator.Destroy()
        failed_transfers = int(sum(s.GetNFailed() for s in senders))
        retried_transfers = int(sum(s.GetNRetries() for s in senders))
        nodes = [{
            "accepted": len([o for o in state.accepted[v] if o != v]),
            "rejected": state.rejected[v],
            "reject_reasons": dict(sorted(state.node_reasons[v].items())),
            "resent": resent[v],
            "late": state.late[v],
            "cut_off": v in cut_off,
            "appended": state.appended_s[v] is not None,
        } for v in range(n)]
        return {
            "generation_time_s": (max(state.appended_s[i] for i in state.reachable)
                                  if all(state.appended_s[i] is not None for i in state.reachable) else None),
            "generator_built_s": state.gen_built_s,
            "appended_s": state.appended_s,
            "nodes_appended": len(appended),
            "nodes_total": n,
            "nodes": nodes,
            "packets": packets,
            "blocks_rejected": int(sum(state.rejected)),
            "rejected_by_node": state.rejected,
            "blocks_flagged": int(sum(state.flagged)),
            "flagged_by_node": state.flagged,
            "reject_reasons": state.reasons,
            "append_errors": {spec.labels[k]: v for k, v in state.append_errors.items()},
            "listed_blocks": sorted(state.gen_listed),
            "cut_off": sorted(cut_off),
            "replanned_pairs": replanned,
            "routes": installed_routes,
            "arrival_s": dict(state.arrival_s),
            "flows": flows,
            "ports": ports,
            "events": events_n,
            "end_s": end_s,
            "build_wall_s": build_s,
            "sim_wall_s": sim_s,
            "generator_block": state.gen_raw,
            "failed_transfers": failed_transfers,
            "retried_transfers": retried_transfers,
            "duplicate_deliveries": state.duplicates,
        }

    def _drain_s(self) -> float:
        """Long enough for the packets in flight to land: ten times the slowest route's
        propagation with a full queue at every hop and the relays' added delay (a TCP
        close takes a few of those, with delayed ACKs), plus one retransmission timeout."""
        spec = self.spec
        hold = sum(rf.delay_s for rf in spec.round.relay_faults)
        worst = 0.0
        for path in self.routes.values():
            t = 0.0
            for u, v in zip(path[:-1], path[1:]):
                lk = spec.links[self.link_of[(u, v)]]
                t += lk.delay_s + spec.capacity * (TCP_SEGMENT_BYTES + 100) * 8 / lk.rate_bps
            worst = max(worst, t)
        return 10 * (worst + hold) + max(spec.t_wait_s, 1e-3)


def _packet_totals(monitor, ports, topo, tamperers, relay_faults) -> dict:
    """Every packet of the round (all flows, both directions): sent, received, dropped, in flight.

    ``sent``, ``received`` and ``dropped`` are FlowMonitor's own counts of
    individual packets; ``in_flight`` is what is left (neither received nor
    dropped after the drain): 0 when sent = received + dropped holds.

    ``dropped_by_reason`` is FlowMonitor's own count per drop reason; the
    queues' (port monitors) and compromised relays' counts are beside it, so
    a test can check that FlowMonitor missed none.
    """
    names = {0: "no_route", 1: "ttl_expired", 2: "bad_checksum", 3: "queue", 4: "queue_disc",
             5: "interface_down", 6: "route_error", 7: "fragment_timeout"}
    sent = received = in_flight = 0
    by_reason = {}
    for kv in monitor.GetFlowStats():
        st = kv.second
        sent += int(st.txPackets)
        received += int(st.rxPackets)
        for r, c in enumerate(st.packetsDropped):
            if int(c):
                k = names.get(r, str(r))
                by_reason[k] = by_reason.get(k, 0) + int(c)
    dropped = sum(by_reason.values())
    in_flight = sent - received - dropped
    return {
        "sent": sent,
        "received": received,
        "dropped": dropped,
        "in_flight": in_flight,
        "dropped_by_reason": dict(sorted(by_reason.items())),
        "queue_drops": int(sum(p["dropped_packets"] for p in ports.values())),
        "bytes_on_wire": int(sum(p["transmitted_bytes"] for p in ports.values())),
        "relay_drops": int(sum(topo.routing[rf.node].GetFaultDrops() for rf in relay_faults)),
        "relay_delayed": int(sum(topo.routing[rf.node].GetFaultDelayed() for rf in relay_faults)),
        "relay_tampered": int(sum(topo.routing[rf.node].GetFaultTampered() for rf in relay_faults)),
    }
