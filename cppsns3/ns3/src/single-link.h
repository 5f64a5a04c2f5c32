#ifndef CPPSNS3_SINGLE_LINK_H
#define CPPSNS3_SINGLE_LINK_H

// The single-link M/M/1/K experiment (cppsns3 mm1k) as one C++ call.
//
// Node 0 sends Poisson packets with exponential sizes (cppsns3::PoissonSource)
// over one point-to-point link with an M/M/1/K port (cppsns3::ConfigurePort)
// to a cppsns3::DelaySink on node 1; a cppsns3::PortMonitor watches the port.
// The objects are created in the same order, with the same attributes and
// streams, as a Python script would create them one by one, so the run is
// the same simulation; it only spares the per-call cost of building it from
// Python (each first call of a C++ function through cppyy is compiled).
//
// A plain C interface, so that Python can call it through ctypes from the
// CMake-built library without starting the cppyy interpreter, and through
// cppyy when the sources are JIT-compiled.

#include <cstdint>

extern "C"
{
    /** Parameters of one run (all inputs; fixed-width fields for ctypes). */
    struct cppsns3_single_link_config
    {
        uint32_t seed;             ///< ns-3 RngSeedManager seed (>= 1)
        uint32_t run;              ///< ns-3 RngSeedManager run number
        uint64_t rate_bps;         ///< link DataRate, whole bit/s
        int64_t delay_ns;          ///< propagation delay, ns
        uint32_t capacity;         ///< K: most packets the port holds, incl. the one being sent
        uint32_t mtu_bytes;        ///< device MTU
        double arrival_rate_per_s; ///< Poisson rate of the source
        double mean_packet_bytes;  ///< mean size on the wire
        uint32_t header_bytes;     ///< IPv4 + UDP + PPP bytes
        uint32_t max_payload_bytes;
        uint64_t packets;          ///< packets the source sends
        double warmup_s;           ///< length of the warm-up phase (0: none)
        uint16_t port;             ///< UDP port of the sink
    };

    /** Counts and port statistics of one run. */
    struct cppsns3_single_link_result
    {
        uint64_t sent;
        uint64_t received;
        uint64_t dropped_in_warmup;    ///< queue drops before the end of the warm-up
        uint64_t dropped_after_warmup; ///< queue drops after it
        double mean_number_in_system;  ///< time average after the warm-up
        double busy_time_s;            ///< after the warm-up
        double observed_time_s;        ///< after the warm-up
        uint64_t events;               ///< ns-3 events executed
        double build_wall_s;           ///< wall time to build the network
        double sim_wall_s;             ///< wall time of Simulator::Run (warm-up + rest)
        double sim_cpu_s;              ///< CPU time of this process during it
    };

    /**
     * Build and run the experiment, then destroy the simulation.
     *
     * `seqs` and `delays` (room for `room` entries each; `packets` is always
     * enough) receive, in arrival order, the sequence number and the one-way
     * delay in seconds of every packet the sink received.
     *
     * Returns 0 on success; otherwise a nonzero code and a message in
     * `error` (at most `error_size` bytes, NUL-terminated).
     */
    int cppsns3_single_link_run(const cppsns3_single_link_config* cfg,
                                cppsns3_single_link_result* out,
                                uint32_t* seqs,
                                double* delays,
                                uint64_t room,
                                char* error,
                                uint64_t error_size);
}

#endif
