#!/usr/bin/env python
"""Coverage-guided fuzzing of the block decoders (issue 18).

Targets, chosen by the first input byte (the rest is the block's bytes):

0. ``DataBlock.from_bytes``, then everything a decoded block offers
   (``measurements``, ``computed_merkle_root``, ``hash``, ``repr``) and two
   properties: decoding its encoding gives it back, and re-encoding it with
   ``replace()`` gives the same bytes;
1. ``GeneratorBlock.from_bytes``, with the same checks;
2. ``Registry.verify_bytes`` (with no contract, a time-driven one, or an
   event-driven one);
3. ``verify_generator_block`` on the bytes;
4. / 5. the same as 2 / 3 after the decoded header is re-signed with the
   registered key, so the checks past the signature (Merkle root, replay,
   coverage, contracts) are reached with fuzzed content.

Only :class:`~cppsns3.errors.BlockFormatError` and
:class:`~cppsns3.errors.InvalidBlock` are expected; any other exception (or a
broken property) is a crash: it is counted once per (type, file, line), its
input and traceback are written to ``--crash-dir``, and fuzzing goes on.

Engines: atheris (libFuzzer, coverage-guided; ``pip install atheris`` or
``pip install -e '.[fuzz]'``) when importable, else a hypothesis-based random
mutator with the same interface (``--engine`` chooses).  The corpus is seeded
with valid blocks made by ``Terminal.generate`` / ``make_block`` /
``make_generator_block``.  At the end it prints the engine, executions, the
crashes found and coverage: libFuzzer's ``cov``/``ft`` counters (atheris) and
the lines of ``cppsns3/chain/{block,contracts,chain}.py`` run by a replay of
the final corpus.

Usage::

    python scripts/fuzz_block_decoder.py --seconds 60
    python scripts/fuzz_block_decoder.py --runs 20000 --engine hypothesis
    python scripts/fuzz_block_decoder.py --replay CRASH_FILE   # re-run one input, show the traceback

Exit status: 0 if no crash was found, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

N_TARGETS = 6
#: Mutations per hypothesis example (amortises hypothesis' own cost per example).
BATCH = 16
#: Most parents the hypothesis engine keeps.
POOL_MAX = 2000
TARGET_NAMES = ("DataBlock.from_bytes", "GeneratorBlock.from_bytes", "Registry.verify_bytes",
                "verify_generator_block", "verify_bytes (re-signed)", "verify_generator_block (re-signed)")
#: Chain modules whose lines the coverage replay counts.
COVERED_MODULES = ("block.py", "contracts.py", "chain.py")


# --------------------------------------------------------------------------- the target


class Harness:
    """Keys, registry, contracts and the seed blocks; :meth:`run` is the fuzz target."""

    def __init__(self, seed: int = 1, random_keys: bool = False):
        # imported here so that atheris can instrument cppsns3.chain on import
        from cppsns3.chain import (DataAcquisitionContract, DataBlock, GeneratorBlock, Measurement,
                                   Registry, Terminal)
        from cppsns3.chain.chain import GENESIS_HASH, verify_generator_block
        from cppsns3.errors import BlockFormatError, InvalidBlock

        self.DataBlock, self.GeneratorBlock = DataBlock, GeneratorBlock
        self.verify_generator_block = verify_generator_block
        self.expected = (BlockFormatError, InvalidBlock)
        if random_keys:
            self.terminal, self.generator = Terminal.generate("T7", 7), Terminal.generate("G1", 1)
        else:  # keys derived from the seed: a saved crash input replays exactly
            self.terminal = Terminal.from_seed("T7", 7, f"fuzz-{seed}")
            self.generator = Terminal.from_seed("G1", 1, f"fuzz-{seed}")
        self.registry = Registry(buses=range(1, 15))
        self.registry.register("T7", 7, self.terminal.public_key)
        self.registry.register("G1", 1, self.generator.public_key)
        self.contracts = (
            None,
            DataAcquisitionContract("T7", trigger="time", period_s=900.0, tolerance_s=1.0, time_scale_s=900.0),
            DataAcquisitionContract("T7", trigger="both", sensor_count=2),
        )
        ts = 900.0 * 1_888_889  # a scheduled time of the time-driven contract
        m = Measurement
        bodies = [
            [],
            [m("T7/vm_pu/bus7", ts - 10.0, 1.02)],
            [m("T7/vm_pu/bus7", ts - 900.0, 1.02), m("T7/p_mw/line3", ts, -3.5), m("T7/vm_pu/bus7", ts, 0.98)],
            [m("T7/q_mvar/bus\u00e9\U0001f600", ts - 1.0, 5e-324), m("T7/i_ka/line0", ts + 1.0, -1.7e308)],
            [m("T7/" + "x" * 300, ts, 0.0)],
        ]
        self.data_blocks = [self.terminal.make_block(b, bytes(range(32)), ts) for b in bodies]
        self.data_blocks.append(self.terminal.make_block(bodies[1], b"\xff" * 32, 1.7e308))
        hashes = [b.hash() for b in self.data_blocks]
        self.generator_blocks = [
            self.generator.make_generator_block([], GENESIS_HASH, ts, 0),
            self.generator.make_generator_block(hashes[:1], GENESIS_HASH, ts, 1),
            self.generator.make_generator_block(hashes, b"\x01" * 32, ts, 2**64 - 1),
        ]

    def seeds(self) -> list[bytes]:
        """One input per (target, valid block) pair: the corpus the fuzzing starts from."""
        out = []
        for sel in range(N_TARGETS):
            blocks = self.generator_blocks if sel in (1, 3, 5) else self.data_blocks
            for i, b in enumerate(blocks):
                contract = (i % 3) << 4  # the high nibble picks the contract of targets 2 and 4
                out.append(bytes([sel | contract]) + b.to_bytes())
        return out

    # -- the target ----------------------------------------------------------
    def run(self, data: bytes) -> str:
        """Feed one input; raises only if the decoders broke their contract.

        Returns the outcome: the target and ``ok`` or the expected error's type and message.
        """
        if not data:
            return "empty"
        sel, raw = data[0] % N_TARGETS, data[1:]
        contract = self.contracts[(data[0] >> 4) % 3]
        try:
            if sel == 0:
                self._data_properties(self.DataBlock.from_bytes(raw), raw)
            elif sel == 1:
                self._generator_properties(self.GeneratorBlock.from_bytes(raw), raw)
            elif sel == 2:
                self.registry.verify_bytes(raw, contract=contract, remember=False)
            elif sel == 3:
                held = self._held_hashes(raw)
                self.verify_generator_block(raw, held, self.registry)
            elif sel == 4:
                self.registry.verify_bytes(self._resign_data(raw), contract=contract, remember=False)
            else:
                resigned = self._resign_generator(raw)
                held = self._held_hashes(resigned)
                self.verify_generator_block(resigned, held[: len(held) - (data[0] >> 7)], self.registry,
                                            remember=bool(data[0] & 0x40))
        except self.expected as exc:
            return f"{sel} {type(exc).__name__}: {exc}"
        return f"{sel} ok"

    def _held_hashes(self, raw):
        # what the receiver holds: the hashes the block lists when it decodes (else none)
        try:
            return list(self.GeneratorBlock.from_bytes(raw).block_hashes)
        except self.expected:
            return []

    def _resign_data(self, raw):
        blk = self.DataBlock.from_bytes(raw)  # BlockFormatError: nothing to re-sign
        return raw[: len(raw) - 64] + self.terminal.sign(blk.header_bytes)

    def _resign_generator(self, raw):
        blk = self.GeneratorBlock.from_bytes(raw)
        return raw[: len(raw) - 64] + self.generator.sign(blk.header_bytes)

    def _data_properties(self, blk, raw):
        ms = blk.measurements
        assert len(ms) == blk.record_count == len(blk), "record count differs from the decoded records"
        blk.computed_merkle_root()
        repr(blk)
        assert blk.to_bytes() == bytes(raw) and len(blk.hash()) == 32
        again = self.DataBlock.from_bytes(blk.to_bytes())
        assert again == blk and again.measurements == ms, "decode(encode(block)) != block"
        assert blk.replace().to_bytes() == bytes(raw), "re-encoding a decoded data block changed its bytes"
        assert again.computed_merkle_root() == blk.computed_merkle_root()

    def _generator_properties(self, blk, raw):
        blk.computed_merkle_root()
        repr(blk)
        assert blk.to_bytes() == bytes(raw) and len(blk.hash()) == 32
        assert self.GeneratorBlock.from_bytes(blk.to_bytes()) == blk, "decode(encode(block)) != block"
        assert blk.replace().to_bytes() == bytes(raw), "re-encoding a decoded generator block changed its bytes"


# --------------------------------------------------------------------------- bookkeeping


class Recorder:
    """Counts executions and distinct crashes; writes crash inputs and periodic stats."""

    def __init__(self, harness: Harness, crash_dir: Path | None, stats_file: Path | None):
        self.harness = harness
        self.crash_dir = crash_dir
        self.stats_file = stats_file
        self.execs = 0
        self.last_outcome = None
        self.crash_inputs = 0
        self.crashes: dict[str, dict] = {}
        self.started = time.monotonic()
        self._next_dump = self.started + 1.0

    def __call__(self, data: bytes) -> None:
        self.execs += 1
        self.last_outcome = None
        try:
            self.last_outcome = self.harness.run(data)
        except Exception as exc:  # noqa: BLE001 - anything but the expected errors is a finding
            self._crash(data, exc)
        if self.stats_file is not None and (self.execs & 255) == 0 and time.monotonic() >= self._next_dump:
            self.dump()
            self._next_dump = time.monotonic() + 1.0

    def _crash(self, data, exc):
        self.crash_inputs += 1
        tb = traceback.extract_tb(exc.__traceback__)
        last = tb[-1] if tb else None
        where = f"{Path(last.filename).name}:{last.lineno}" if last else "?"
        key = f"{type(exc).__name__} at {where}"
        if key in self.crashes:
            self.crashes[key]["count"] += 1
            return
        name = None
        if self.crash_dir is not None:
            self.crash_dir.mkdir(parents=True, exist_ok=True)
            name = f"crash-{hashlib.sha1(data).hexdigest()[:16]}"
            (self.crash_dir / name).write_bytes(data)
            (self.crash_dir / (name + ".txt")).write_text(
                f"target: {TARGET_NAMES[data[0] % N_TARGETS]}\ninput: {data[:200].hex()}\n\n"
                + "".join(traceback.format_exception(exc)))
        self.crashes[key] = {"count": 1, "target": TARGET_NAMES[data[0] % N_TARGETS],
                             "message": str(exc)[:200], "input": name}
        print(f"\n*** crash: {key} in {TARGET_NAMES[data[0] % N_TARGETS]}: {str(exc)[:160]}", file=sys.stderr,
              flush=True)
        if self.stats_file is not None:
            self.dump()

    def summary(self) -> dict:
        return {"execs": self.execs, "crash_inputs": self.crash_inputs, "crashes": self.crashes,
                "seconds": round(time.monotonic() - self.started, 2)}

    def dump(self) -> None:
        tmp = self.stats_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.summary()))
        os.replace(tmp, self.stats_file)


# --------------------------------------------------------------------------- coverage by replay


def _chain_files():
    import cppsns3.chain as chain

    base = Path(chain.__file__).resolve().parent
    return {str(base / m) for m in COVERED_MODULES}


def _executable_lines(path: str) -> set[int]:
    """Lines of the function bodies of a module (module and class bodies run at import: left out)."""
    import inspect

    code = compile(Path(path).read_text(), path, "exec")
    lines, todo = set(), [code]
    while todo:
        c = todo.pop()
        if c.co_flags & inspect.CO_NEWLOCALS:
            lines.update(ln for _, _, ln in c.co_lines() if ln is not None and ln != c.co_firstlineno)
        todo.extend(k for k in c.co_consts if hasattr(k, "co_lines"))
    return lines


def replay_coverage(inputs, harness: Harness) -> dict:
    """Lines of the chain modules run when ``inputs`` are fed again (a sys.settrace tracer)."""
    files = _chain_files()
    hit: dict[str, set] = {f: set() for f in files}

    def local(frame, event, arg):
        if event == "line":
            hit[frame.f_code.co_filename].add(frame.f_lineno)
        return local

    def glob_trace(frame, event, arg):
        return local if frame.f_code.co_filename in files else None

    sys.settrace(glob_trace)
    try:
        for data in inputs:
            try:
                harness.run(data)
            except Exception:  # noqa: BLE001 - crashes were counted already
                pass
    finally:
        sys.settrace(None)
    out = {}
    for f in sorted(files):
        total = _executable_lines(f)
        out[Path(f).name] = (len(hit[f] & total), len(total))
    return out


# --------------------------------------------------------------------------- engines


def run_atheris(args, seeds, corpus: Path, crash_dir: Path) -> tuple[dict, str]:
    """Fuzz in a child process (libFuzzer exits the process when done); return its stats and last status."""
    stats = Path(tempfile.mkstemp(prefix="fuzz-stats-", suffix=".json")[1])
    cmd = [sys.executable, os.path.abspath(__file__), "--_child", "--stats", str(stats),
           "--crash-dir", str(crash_dir), "--seed", str(args.seed)] + (["--random-keys"] if args.random_keys else [])
    cmd += ["--", str(corpus), f"-max_total_time={args.seconds}",
           f"-seed={args.seed}", "-rss_limit_mb=2048", "-timeout=10", "-max_len=4096",
           "-print_final_stats=1"]
    if args.runs:
        cmd.append(f"-runs={args.runs}")
    status, runs = "", None
    t0 = time.monotonic()
    with subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, errors="replace") as proc:
        for line in proc.stderr:
            if not args.quiet:
                sys.stderr.write(line)
            if " cov: " in line:
                status = line.strip()
            m = re.match(r"Done (\d+) runs in", line)
            if m:
                runs = int(m.group(1))
    try:
        result = json.loads(stats.read_text())
    except (OSError, ValueError):
        result = {"execs": 0, "crash_inputs": 0, "crashes": {}, "seconds": 0.0}
    finally:
        stats.unlink(missing_ok=True)
    if runs is not None:  # libFuzzer's own count is exact; the stats file is at most 1 s old
        result["execs"] = runs
    result["seconds"] = round(time.monotonic() - t0, 2)  # the child's whole run, start-up included
    if proc.returncode not in (0,) and not result["crashes"]:
        result["crashes"][f"libFuzzer exit {proc.returncode} (timeout, out of memory or a native crash)"] = {
            "count": 1, "target": "?", "message": status, "input": None}
    return result, status


def child_main(args, libfuzzer_args):
    import importlib

    import atheris

    # heavy dependencies first, uninstrumented; then cppsns3.chain under instrumentation
    for mod in ("numpy", "pandas", "cryptography.hazmat.primitives.asymmetric.ed25519"):
        importlib.import_module(mod)
    assert "cppsns3.chain" not in sys.modules, "cppsns3.chain must be imported under atheris"
    with atheris.instrument_imports(include=["cppsns3.chain"]):
        importlib.import_module("cppsns3.chain")
    harness = Harness(args.seed, args.random_keys)
    rec = Recorder(harness, Path(args.crash_dir), Path(args.stats))
    rec.dump()
    atheris.Setup([sys.argv[0], *libfuzzer_args], rec)
    atheris.Fuzz()


def run_hypothesis(args, harness: Harness, crash_dir: Path, keep: list):
    """Random mutation of the seeds driven by hypothesis (no coverage feedback)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    seeds = harness.seeds()
    rec = Recorder(harness, crash_dir, None)
    deadline = time.monotonic() + args.seconds
    rng = random.Random(args.seed)

    class TimeUp(BaseException):
        pass

    pool = list(seeds)  # parents: the seeds, and inputs that gave an outcome not seen before
    outcomes: set = set()
    digits = re.compile(r"[0-9a-f]{8,}|\d+")  # hashes and numbers do not make an outcome new

    def mutate(r: random.Random) -> bytes:
        if r.random() < 0.05:
            return r.randbytes(r.randrange(0, 300))
        data = bytearray(r.choice(pool))
        for _ in range(r.randint(1, 5)):
            n = len(data)
            pos = r.randrange(n) if n else 0
            op = r.choice(("flip", "byte", "insert", "delete", "truncate", "splice", "int", "sel"))
            if op == "flip" and n:
                data[pos] ^= 1 << r.randrange(8)
            elif op == "byte" and n:
                data[pos] = r.choice((0, 1, 0x7F, 0x80, 0xFF, r.randrange(256)))
            elif op == "insert":
                data[pos:pos] = r.randbytes(r.randint(1, 16))
            elif op == "delete":
                del data[pos:pos + r.randint(1, 40)]
            elif op == "truncate":
                del data[pos:]
            elif op == "splice":
                other = r.choice(pool)
                a = r.randrange(len(other) + 1)
                data[pos:pos] = other[a:a + r.randint(1, 80)]
            elif op == "int" and n >= 2:
                width = r.choice((2, 4, 8))
                value = r.choice((0, 1, 2**(8 * width) - 1, 2**(8 * width - 1), r.getrandbits(8 * width)))
                if width == 8 and r.random() < 0.3:
                    value = 0x7FF0 << 48  # +inf as a big-endian float64
                data[pos:pos + width] = value.to_bytes(width, "big")
            elif op == "sel" and n:
                data[0] = r.randrange(256)
        return bytes(data)

    def feed(data):
        rec(data)
        outcome = rec.last_outcome
        key = digits.sub("N", outcome)[:120] if outcome else None
        if key is not None and key not in outcomes:
            outcomes.add(key)
            if len(pool) < POOL_MAX:
                pool.append(data)

    limit = 10**9  # stopped by time or --runs inside

    @settings(max_examples=limit, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(seed=st.integers(0, 2**63))
    def fuzz(seed):
        # hypothesis draws the seed of a batch of mutations; the mutations are plain random
        r = random.Random(seed)
        for _ in range(BATCH):
            if time.monotonic() > deadline or (args.runs and rec.execs >= args.runs):
                raise TimeUp
            data = mutate(r)
            feed(data)
            if len(keep) < 4000:
                keep.append(data)
            elif rng.random() < 0.05:
                keep[rng.randrange(len(keep))] = data

    import hypothesis

    # one hypothesis seed per --seed, so a run can be repeated
    fuzz = hypothesis.seed(args.seed)(fuzz)
    try:
        fuzz()
    except TimeUp:
        pass
    for s in seeds:  # the seeds always run (and count) once
        rec(s)
    keep.extend(pool[len(seeds):])  # the inputs with new outcomes are replayed for coverage too
    result = rec.summary()
    result["distinct_outcomes"] = len(outcomes)
    return result


# --------------------------------------------------------------------------- main


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    libfuzzer_args = []
    if "--" in argv:
        i = argv.index("--")
        argv, libfuzzer_args = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to fuzz (default 60)")
    ap.add_argument("--runs", type=int, default=0, help="stop after this many executions (0: no limit)")
    ap.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    ap.add_argument("--seed", type=int, default=1, help="random seed of the engine and of the terminals' keys")
    ap.add_argument("--random-keys", action="store_true",
                    help="fresh Terminal.generate keys (saved crash inputs then need the same run to replay)")
    ap.add_argument("--corpus", help="corpus folder (kept; default a temporary one)")
    ap.add_argument("--crash-dir", default="fuzz-crashes", help="where crashing inputs go (default ./fuzz-crashes)")
    ap.add_argument("--replay", nargs="+", metavar="FILE", help="run these inputs once and show any traceback")
    ap.add_argument("--quiet", action="store_true", help="do not echo libFuzzer's progress lines")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stats", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.seconds <= 0 or args.runs < 0:
        ap.error("--seconds must be > 0 and --runs >= 0")
    if args._child:
        child_main(args, libfuzzer_args)
        return 0

    if args.replay:
        harness = Harness(args.seed, args.random_keys)
        bad = 0
        for f in args.replay:
            data = Path(f).read_bytes()
            try:
                harness.run(data)
                print(f"{f}: ok ({TARGET_NAMES[data[0] % N_TARGETS] if data else 'empty'})")
            except Exception:  # noqa: BLE001
                bad += 1
                print(f"{f}: CRASH in {TARGET_NAMES[data[0] % N_TARGETS]}")
                traceback.print_exc()
        return 1 if bad else 0

    engine = args.engine
    if engine == "auto":
        import importlib.util

        engine = "atheris" if importlib.util.find_spec("atheris") is not None else "hypothesis"
    crash_dir = Path(args.crash_dir)
    harness = Harness(args.seed, args.random_keys)
    seeds = harness.seeds()
    lib_status = ""
    tmp_corpus = None
    if engine == "atheris":
        if args.corpus:
            corpus = Path(args.corpus)
            corpus.mkdir(parents=True, exist_ok=True)
        else:
            tmp_corpus = tempfile.TemporaryDirectory(prefix="fuzz-corpus-")
            corpus = Path(tmp_corpus.name)
        for s in seeds:
            (corpus / f"seed-{hashlib.sha1(s).hexdigest()[:16]}").write_bytes(s)
        result, lib_status = run_atheris(args, seeds, corpus, crash_dir)
        replay = [Path(p).read_bytes() for p in sorted(glob.glob(str(corpus / "*")))]
    else:
        keep: list[bytes] = []
        result = run_hypothesis(args, harness, crash_dir, keep)
        replay = seeds + keep
    cov = replay_coverage(replay, Harness(args.seed, args.random_keys))
    if tmp_corpus is not None:
        tmp_corpus.cleanup()

    summary = {"engine": engine, **result, "corpus_replayed": len(replay),
               "coverage_lines": {k: {"hit": h, "total": t} for k, (h, t) in cov.items()}}
    if lib_status:
        summary["libfuzzer"] = lib_status
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"engine: {engine}")
        print(f"executions: {result['execs']} in {result['seconds']} s")
        print(f"crashes found: {len(result['crashes'])} distinct ({result['crash_inputs']} crashing inputs)")
        for key, c in result["crashes"].items():
            where = f", input {crash_dir / c['input']}" if c.get("input") else ""
            print(f"  - {key} in {c['target']} (x{c['count']}): {c['message']}{where}")
        if lib_status:
            print(f"libFuzzer: {lib_status}")
        print(f"line coverage (function bodies) on replay of {len(replay)} corpus inputs:")
        for name, (h, t) in cov.items():
            print(f"  cppsns3/chain/{name}: {h}/{t} lines ({100.0 * h / t:.1f} %)")
    return 1 if result["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
