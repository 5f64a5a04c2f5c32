// The single-link M/M/1/K experiment of `cppsns3 mm1k` as a plain C++ program.
//
//   cppsns3-mm1k [--rho 0.9] [--capacity 10] [--packets 200000] [--seed 1]
//                [--rate-mbps 1000] [--mean-packet-bytes 5000]
//
// Same parameters and defaults as the command, same simulation (the
// library's cppsns3_single_link_run, src/single-link.cc: the network is built
// and run in C++ either way), and the same statistics computed in C++: loss
// and time in system W by batch means (20 batches in arrival order after a
// 2 % warm-up, Student-t half-widths), the loss interval floored by the
// Clopper-Pearson half-width (boost.math quantiles), and the exact M/M/1/K
// values.  Prints one JSON line: the figures, the counts and the timing
// (build, simulation, statistics, and the whole process since main()).
//
// It is the C++ side of scripts/bench_mm1k.py, which runs it and the command
// side by side; see docs/performance.md.

#include "single-link.h"

#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/students_t.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace
{

const auto kStart = std::chrono::steady_clock::now();

double
SinceStart()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - kStart).count();
}

// As cppsns3.ns3.links: IPv4 20 + UDP 8 + PPP 2 bytes; MTU 65000 B.
constexpr uint32_t kHeaderBytes = 30;
constexpr uint32_t kMtuBytes = 65000;
constexpr uint32_t kMaxPayloadBytes = kMtuBytes - 28;
constexpr double kDelayS = 1e-3;
constexpr double kWarmupFraction = 0.02;
constexpr unsigned kBatches = 20;
constexpr double kConfidence = 0.95;

double
TQuantile(double confidence, unsigned df)
{
    return boost::math::quantile(boost::math::students_t(df), 0.5 + confidence / 2.0);
}

double
Mean(const std::vector<double>& x)
{
    long double s = 0;
    for (double v : x)
    {
        s += v;
    }
    return x.empty() ? NAN : static_cast<double>(s / x.size());
}

// (mean, batch-means half-width), as cppsns3.model.stats.batch_means.
std::pair<double, double>
BatchMeans(const std::vector<double>& x, unsigned batches, double confidence)
{
    if (x.empty())
    {
        return {NAN, NAN};
    }
    const std::size_t nb = std::max<std::size_t>(2, std::min<std::size_t>(batches, x.size()));
    const std::size_t per = x.size() / nb;
    std::vector<double> means(nb);
    for (std::size_t b = 0; b < nb; ++b)
    {
        long double s = 0;
        for (std::size_t i = b * per; i < (b + 1) * per; ++i)
        {
            s += x[i];
        }
        means[b] = static_cast<double>(s / per);
    }
    const double m = Mean(means);
    long double ss = 0;
    for (double v : means)
    {
        ss += (v - m) * (v - m);
    }
    const double sd = std::sqrt(static_cast<double>(ss / (nb - 1)));
    return {Mean(x), TQuantile(confidence, nb - 1) * sd / std::sqrt(static_cast<double>(nb))};
}

double
BinomialHalfWidth(uint64_t k, uint64_t n, double confidence)
{
    if (n == 0)
    {
        return NAN;
    }
    const double alpha = 1 - confidence;
    const double p = static_cast<double>(k) / n;
    const double lo =
        k == 0 ? 0.0
               : boost::math::quantile(boost::math::beta_distribution<>(k, n - k + 1), alpha / 2);
    const double hi =
        k == n ? 1.0
               : boost::math::quantile(boost::math::beta_distribution<>(k + 1, n - k), 1 - alpha / 2);
    return std::max(p - lo, hi - p);
}

struct Analytic
{
    double loss, number, time;
};

// Exact M/M/1/K (Eq. 1), K = the most packets in the port incl. the one sent.
Analytic
Mm1k(double lambda, double mu, unsigned k)
{
    const long double rho = static_cast<long double>(lambda) / mu;
    long double p0, pk, l;
    if (std::fabs(static_cast<double>(rho - 1)) < 1e-12)
    {
        p0 = pk = 1.0L / (k + 1);
        l = k / 2.0L;
    }
    else
    {
        const long double rk1 = std::pow(rho, static_cast<long double>(k + 1));
        p0 = (1 - rho) / (1 - rk1);
        pk = p0 * std::pow(rho, static_cast<long double>(k));
        l = rho / (1 - rho) - (k + 1) * rk1 / (1 - rk1);
    }
    const double loss = static_cast<double>(pk);
    return {loss, static_cast<double>(l), static_cast<double>(l / (lambda * (1 - pk)))};
}

bool
Arg(int& i, int argc, char** argv, const char* name, double& value)
{
    if (std::strcmp(argv[i], name) != 0)
    {
        return false;
    }
    if (i + 1 >= argc)
    {
        std::fprintf(stderr, "error: %s needs a value\n", name);
        std::exit(2);
    }
    char* end = nullptr;
    value = std::strtod(argv[++i], &end);
    if (!end || *end)
    {
        std::fprintf(stderr, "error: %s: not a number: %s\n", name, argv[i]);
        std::exit(2);
    }
    return true;
}

} // namespace

int
main(int argc, char** argv)
{
    double rho = 0.9, capacity = 10, packets = 200000, seed = 1, rateMbps = 1000, meanBytes = 5000;
    for (int i = 1; i < argc; ++i)
    {
        if (!(Arg(i, argc, argv, "--rho", rho) || Arg(i, argc, argv, "--capacity", capacity) ||
              Arg(i, argc, argv, "--packets", packets) || Arg(i, argc, argv, "--seed", seed) ||
              Arg(i, argc, argv, "--rate-mbps", rateMbps) ||
              Arg(i, argc, argv, "--mean-packet-bytes", meanBytes)))
        {
            std::fprintf(stderr, "error: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!(rho > 0) || capacity < 1 || packets < 1000 || seed < 1)
    {
        std::fprintf(stderr, "error: need rho > 0, capacity >= 1, packets >= 1000, seed >= 1\n");
        return 2;
    }
    const double rateBps = rateMbps * 1e6;
    const double serviceRate = rateBps / (8.0 * meanBytes);
    const double arrivalRate = rho * serviceRate;
    const auto nPackets = static_cast<uint64_t>(packets);

    cppsns3_single_link_config cfg{};
    cfg.seed = static_cast<uint32_t>(seed);
    cfg.run = 1;
    cfg.rate_bps = static_cast<uint64_t>(std::llround(rateBps));
    cfg.delay_ns = std::llround(kDelayS * 1e9);
    cfg.capacity = static_cast<uint32_t>(capacity);
    cfg.mtu_bytes = kMtuBytes;
    cfg.arrival_rate_per_s = arrivalRate;
    cfg.mean_packet_bytes = meanBytes;
    cfg.header_bytes = kHeaderBytes;
    cfg.max_payload_bytes = kMaxPayloadBytes;
    cfg.packets = nPackets;
    cfg.warmup_s = static_cast<double>(static_cast<uint64_t>(kWarmupFraction * nPackets)) / arrivalRate;
    cfg.port = 9;

    std::vector<uint32_t> seqs(nPackets);
    std::vector<double> delays(nPackets);
    cppsns3_single_link_result r{};
    char error[512] = {0};
    if (cppsns3_single_link_run(&cfg, &r, seqs.data(), delays.data(), nPackets, error, sizeof(error)) != 0)
    {
        std::fprintf(stderr, "error: %s\n", error);
        return 1;
    }
    const uint64_t dropped = r.dropped_in_warmup + r.dropped_after_warmup;
    if (r.sent != r.received + dropped)
    {
        std::fprintf(stderr, "error: sent %llu != received %llu + dropped %llu\n",
                     (unsigned long long)r.sent, (unsigned long long)r.received,
                     (unsigned long long)dropped);
        return 1;
    }

    // Statistics, as cppsns3.sim.mm1k: per arrival in send order, lost or W.
    const auto tStats = std::chrono::steady_clock::now();
    std::vector<char> lost(r.sent, 1);
    std::vector<double> tis(r.sent, NAN);
    for (uint64_t i = 0; i < r.received; ++i)
    {
        lost[seqs[i]] = 0;
        tis[seqs[i]] = delays[i] - kDelayS;
    }
    const auto start = static_cast<uint64_t>(kWarmupFraction * r.sent);
    std::vector<double> lossValues, w;
    lossValues.reserve(r.sent - start);
    w.reserve(r.received);
    uint64_t lostCount = 0;
    for (uint64_t i = start; i < r.sent; ++i)
    {
        lossValues.push_back(lost[i] ? 1.0 : 0.0);
        lostCount += lost[i] ? 1 : 0;
        if (!lost[i])
        {
            w.push_back(tis[i]);
        }
    }
    auto [loss, lossHw] = BatchMeans(lossValues, kBatches, kConfidence);
    lossHw = std::max(lossHw, BinomialHalfWidth(lostCount, lossValues.size(), kConfidence));
    const auto [wMean, wHw] = BatchMeans(w, kBatches, kConfidence);
    const Analytic a = Mm1k(arrivalRate, serviceRate, cfg.capacity);
    const double statsWall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - tStats).count();

    std::printf("{\"rho\": %.17g, \"capacity\": %u, \"packets\": %llu, \"seed\": %u, "
                "\"arrival_rate_per_s\": %.17g, \"service_rate_per_s\": %.17g, "
                "\"analytic\": {\"loss_probability\": %.17g, \"mean_number_in_system\": %.17g, "
                "\"mean_time_in_system_s\": %.17g}, "
                "\"measured\": {\"loss_probability\": %.17g, \"loss_probability_ci95\": %.17g, "
                "\"mean_time_in_system_s\": %.17g, \"mean_time_in_system_ci95_s\": %.17g, "
                "\"mean_number_in_system\": %.17g, \"utilisation\": %.17g}, "
                "\"counts\": {\"sent\": %llu, \"received\": %llu, \"dropped\": %llu, "
                "\"warmup_packets\": %llu}, "
                "\"timing\": {\"events\": %llu, \"build_wall_s\": %.9g, \"sim_wall_s\": %.9g, "
                "\"sim_cpu_s\": %.9g, "
                "\"stats_wall_s\": %.9g, \"process_wall_s\": %.9g}}\n",
                rho, cfg.capacity, (unsigned long long)nPackets, cfg.seed, arrivalRate, serviceRate,
                a.loss, a.number, a.time, loss, lossHw, wMean, wHw, r.mean_number_in_system,
                r.observed_time_s > 0 ? r.busy_time_s / r.observed_time_s : NAN,
                (unsigned long long)r.sent, (unsigned long long)r.received,
                (unsigned long long)dropped, (unsigned long long)start,
                (unsigned long long)r.events, r.build_wall_s, r.sim_wall_s, r.sim_cpu_s, statsWall,
                SinceStart());
    return 0;
}
