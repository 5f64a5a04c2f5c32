#!/usr/bin/env python3
"""Benchmark of the CPPS data-block layer (issue 5).

Figures (best of ``--repeat`` runs, one core):

* ``sign_blocks_per_s_1mb``: 1 MB blocks made per second by
  ``Terminal.make_block`` (validate + encode records, Merkle root, Ed25519
  signature of the header);
* ``verify_blocks_per_s_1mb``: received 1 MB blocks checked per second
  (``DataBlock.from_bytes`` — which hashes the Merkle leaves as it parses —
  then ``Registry.verify``: signer, signature, Merkle root, replay);
* ``ed25519_sign_per_s`` / ``ed25519_verify_per_s``: the signature alone;
* ``merkle_root_1e5_records_s``: Merkle root of 10**5 encoded records;
* ``encode_mb_per_s`` / ``decode_mb_per_s``: encoding throughput of
  ``encode_records`` + join, and of ``DataBlock.from_bytes``;
* ``block_of_size_8mb_s``: building a signed 8 MB block of real measurements.

Usage: ``python scripts/bench_chain.py [--json] [--repeat N] [--grid case39]``.
With ``--json`` exactly one JSON object goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    ap.add_argument("--grid", default="case39", help="pandapower grid of the measurements")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        print(f"error: --repeat must be >= 1, got {args.repeat}", file=sys.stderr)
        return 2

    from cppsns3.chain import DataBlock, Registry, Terminal, block_of_size, power_flow_series
    from cppsns3.chain.block import encode_records
    from cppsns3.chain.merkle import merkle_root

    t_pf = time.perf_counter()
    frame = power_flow_series(args.grid, days=1)
    pf_s = time.perf_counter() - t_pf
    terminal = Terminal.from_seed("T16", 16, "bench")
    registry = Registry.for_grid(args.grid)
    registry.register_terminal(terminal)

    one = block_of_size(terminal, 1.0, frame, step=20)
    ms = one.measurements
    size = one.size_bytes
    raw = one.to_bytes()

    sign_s = best(lambda: terminal.make_block(ms, bytes(32), one.timestamp_s), args.repeat)

    def verify():
        registry.verify(DataBlock.from_bytes(raw), remember=False)

    verify_s = best(verify, args.repeat)

    header = one.header_bytes
    n_sig = 500
    sig_s = best(lambda: [terminal.sign(header) for _ in range(n_sig)], args.repeat) / n_sig
    key = registry._keys["T16"]
    sig = one.signature
    ver_s = best(lambda: [key.verify(sig, header) for _ in range(n_sig)], args.repeat) / n_sig

    recs = [f"T16/p_mw/line{i % 50}".encode() + i.to_bytes(16, "big") for i in range(100_000)]
    merkle_s = best(lambda: merkle_root(recs), args.repeat)

    enc_s = best(lambda: b"".join(encode_records(ms)[1]), args.repeat)
    dec_s = best(lambda: DataBlock.from_bytes(raw), args.repeat)

    t0 = time.perf_counter()
    eight = block_of_size(terminal, 8.0, frame, step=30)
    eight_s = time.perf_counter() - t0

    out = {
        "grid": args.grid,
        "block_size_bytes": size,
        "records_per_1mb_block": len(ms),
        "power_flow_day_s": round(pf_s, 3),
        "sign_blocks_per_s_1mb": round(1.0 / sign_s, 2),
        "verify_blocks_per_s_1mb": round(1.0 / verify_s, 2),
        "ed25519_sign_per_s": round(1.0 / sig_s, 1),
        "ed25519_verify_per_s": round(1.0 / ver_s, 1),
        "merkle_root_1e5_records_s": round(merkle_s, 4),
        "encode_mb_per_s": round(size / 1e6 / enc_s, 2),
        "decode_mb_per_s": round(size / 1e6 / dec_s, 2),
        "block_of_size_8mb_s": round(eight_s, 3),
        "block_8mb_size_bytes": eight.size_bytes,
    }
    if args.json:
        print(json.dumps(out))
    else:
        width = max(map(len, out))
        for k, v in out.items():
            print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
