"""Chain files (.cpchain): write, read back, verify end to end, refuse every corruption.

A real chain of several rounds (Ed25519 terminals from seeds, signed data
blocks, signed generator blocks) is written with ``write_chain`` and with the
streaming ``ChainFileWriter``, read back, verified, and then damaged: a
flipped byte in a block, a truncation at every record boundary and between,
a replayed round, a tampered header.  ``verify_chain_file`` must name the
first bad height and the reason, and ``cppsns3 verify-chain`` must exit 0/1/2
with one ``error:`` line.  A derandomized property test mutates the file
bytes at random (flip, insert, delete, truncate): the verifier never raises
and accepts only the unchanged bytes, and the CLI never tracebacks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import struct
import subprocess
import sys

import pytest
import typer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cppsns3.chain import (
    BlockFormatError,
    Chain,
    ChainError,
    ChainFileError,
    ChainFileWriter,
    ChainReport,
    CppsError,
    Registry,
    Terminal,
    read_chain,
    verify_chain_file,
    write_chain,
)
from cppsns3.chain.chainfile import CHAIN_FILE_MAGIC
from cppsns3.cli.verify_chain import verify_chain_command

TERMS = [Terminal.from_seed(f"T{b}", b, "chainfile") for b in (1, 2, 3, 4)]
GEN = TERMS[0]
T0 = 1.7e9
ROUNDS = 4
TOLERANCE_S = 60.0
END_RECORD_BYTES = 1 + 8 + 32


def registry(one_per_bus=True):
    reg = Registry(buses=[*range(1, 15), "substation-A", "ß"], one_terminal_per_bus=one_per_bus)
    for t in TERMS:
        reg.register_terminal(t)
    return reg


def data_blocks(prev, ts, terms=TERMS[1:]):
    return [t.make_block([(f"{t.terminal_id}/vm_pu/bus{t.bus}", ts - 10.0, 1.0 + 0.01 * t.bus),
                          (f"{t.terminal_id}/va_degree/bus{t.bus}", ts - 5.0, -2.5 * t.bus)],
                         prev, ts) for t in terms]


def build(rounds=ROUNDS):
    chain = Chain(registry(), tolerance_s=TOLERANCE_S)
    for k in range(rounds):
        ts = T0 + 900.0 * k
        chain.make_round(GEN, data_blocks(chain.tip_hash, ts), ts + 5.0)
    return chain


CHAIN = build()


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    p = tmp_path_factory.mktemp("chain") / "chain.cpchain"
    write_chain(p, CHAIN)
    return p, p.read_bytes()


def write(path, raw: bytes):
    path.write_bytes(raw)
    return path


def flipped(raw: bytes, offset: int, mask: int = 0x01) -> bytes:
    b = bytearray(raw)
    b[offset] ^= mask
    return bytes(b)


def round_starts(raw: bytes, chain=CHAIN) -> list[int]:
    """File offset of each round record (tag byte): 5 bytes before its generator block."""
    return [raw.index(gen.to_bytes()) - 5 for gen, _ in chain.rounds]


def redigest(raw: bytes) -> bytes:
    """Recompute the header and file SHA-256 (a forger's edit that only signatures can catch)."""
    n = struct.unpack(">I", raw[5:9])[0]
    head = raw[:9 + n]
    raw = head + hashlib.sha256(head).digest() + raw[9 + n + 32:]
    return raw[:-32] + hashlib.sha256(raw[:-32]).digest()


def report(path) -> ChainReport:
    rep = verify_chain_file(path)
    assert isinstance(rep, ChainReport)
    assert list(rep.to_dict()) == ["valid", "height", "first_bad_height", "reason"]
    if rep.valid:
        assert rep.first_bad_height is None and rep.reason is None
    else:
        assert rep.height == rep.first_bad_height and isinstance(rep.reason, str) and rep.reason
    return rep


def bad(path) -> tuple[int, str]:
    rep = report(path)
    assert not rep.valid
    return rep.first_bad_height, rep.reason.split(":", 1)[0]


# ----------------------------------------------------------------------------- round trip

def test_write_read_round_trip(good):
    path, raw = good
    assert raw.startswith(CHAIN_FILE_MAGIC)
    back = read_chain(path)
    assert isinstance(back, Chain) and back.height == ROUNDS
    assert back.rounds == CHAIN.rounds            # blocks compare by their encodings
    assert back.tolerance_s == TOLERANCE_S
    assert back.registry.registrations() == CHAIN.registry.registrations()
    assert back.registry.buses == CHAIN.registry.buses
    assert back.registry.one_terminal_per_bus is True
    assert back.validate() is None and back.tip_hash == CHAIN.tip_hash
    # the read chain continues: a new round appends, a replayed data block is refused
    ts = T0 + 900.0 * ROUNDS
    back.make_round(GEN, data_blocks(back.tip_hash, ts), ts + 5.0)
    assert back.height == ROUNDS + 1
    with pytest.raises(ChainError) as ei:
        back.make_round(GEN, [*data_blocks(back.tip_hash, ts + 900.0), CHAIN.rounds[1][1][0]],
                        ts + 905.0)
    assert ei.value.reason == "replay" and back.height == ROUNDS + 1


def test_verify_valid(good):
    path, _ = good
    rep = report(path)
    assert rep == ChainReport(True, ROUNDS, None, None)
    assert rep.to_dict() == {"valid": True, "height": ROUNDS, "first_bad_height": None, "reason": None}
    with pytest.raises(dataclasses.FrozenInstanceError):
        rep.valid = False


def test_same_chain_same_bytes(good, tmp_path):
    _, raw = good
    assert write_chain(tmp_path / "again.cpchain", build()).read_bytes() == raw
    with ChainFileWriter(tmp_path / "stream.cpchain", registry(), TOLERANCE_S) as w:
        for gen, data in CHAIN.rounds:
            w.append(gen, list(data))
        assert w.height == ROUNDS
    assert (tmp_path / "stream.cpchain").read_bytes() == raw
    # the bus set is written sorted: the order buses were given in does not matter
    reg = Registry(buses=["ß", "substation-A", *range(14, 0, -1)])
    for t in TERMS:
        reg.register_terminal(t)
    other = Chain(reg, TOLERANCE_S)
    other.rounds = CHAIN.rounds
    assert write_chain(tmp_path / "sorted.cpchain", other).read_bytes() == raw


def test_empty_chain(tmp_path):
    p = write_chain(tmp_path / "empty.cpchain", Chain(registry(), 1.0))
    assert report(p) == ChainReport(True, 0, None, None)
    assert read_chain(p).height == 0


# ----------------------------------------------------------------------------- refusals

def test_flipped_byte_in_round_2_data_block(good, tmp_path):
    path, raw = good
    blk = CHAIN.rounds[2][1][1].to_bytes()
    at = raw.index(blk)
    p = tmp_path / "f.cpchain"
    # the middle of the block, whatever it hits, is refused at round 2
    h, reason = bad(write(p, flipped(raw, at + len(blk) // 2, 0x10)))
    assert h == 2 and reason in ("merkle mismatch", "bad signature", "format error")
    # the lowest byte of the last record's value: the body no longer matches the Merkle root
    assert bad(write(p, flipped(raw, at + len(blk) - 64 - 1))) == (2, "merkle mismatch")
    # the signature, and prev_hash in the signed header
    assert bad(write(p, flipped(raw, at + len(blk) - 10))) == (2, "bad signature")
    assert bad(write(p, flipped(raw, at + 10))) == (2, "bad signature")
    rep = report(p)
    assert "round 2 data block 1" in rep.reason and "T3" in rep.reason


def test_flipped_byte_in_a_generator_block(good, tmp_path):
    path, raw = good
    gen = CHAIN.rounds[1][0].to_bytes()
    at = raw.index(gen)
    p = tmp_path / "g.cpchain"
    assert bad(write(p, flipped(raw, at + 50))) == (1, "bad signature")      # its timestamp
    assert bad(write(p, flipped(raw, at + 40))) == (1, "wrong height")       # its height field


def test_truncation_everywhere(good, tmp_path):
    path, raw = good
    starts = round_starts(raw)
    end = len(raw) - END_RECORD_BYTES
    p = tmp_path / "t.cpchain"
    cuts = sorted({*range(0, len(raw), 37), *starts, *(s + 1 for s in starts), end, end + 1,
                   len(raw) - 32, len(raw) - 1})
    for cut in cuts:
        expect = sum(1 for s in [*starts[1:], end] if s <= cut)
        h, reason = bad(write(p, raw[:cut]))
        assert (h, reason) == (expect, "format error"), cut
    assert "truncated" in report(write(p, raw[:starts[3] + 20])).reason
    # trailing bytes after the end record
    assert bad(write(p, raw + b"\0")) == (ROUNDS, "format error")


def test_replayed_round_is_refused(tmp_path):
    p = tmp_path / "replay.cpchain"
    with ChainFileWriter(p, registry(), TOLERANCE_S) as w:
        for gen, data in CHAIN.rounds[:3]:
            w.append(gen, data)
        w.append(*CHAIN.rounds[1])                 # round 1 again, as round 3
    assert bad(p) == (3, "wrong height")
    # a data block of round 1 replayed under a new, validly signed generator block
    old = CHAIN.rounds[1][1][0]
    tip = CHAIN.rounds[2][0]
    ts = T0 + 900.0 * 3
    fresh = data_blocks(tip.hash(), ts, TERMS[2:])
    gen = GEN.make_generator_block([old, *fresh], tip.hash(), ts + 5.0, 3)
    with ChainFileWriter(p, registry(), TOLERANCE_S) as w:
        for g, data in CHAIN.rounds[:3]:
            w.append(g, data)
        w.append(gen, [old, *fresh])
    h, reason = bad(p)
    assert (h, reason) == (3, "replay")
    # a round left out: round 2 follows round 0
    with ChainFileWriter(p, registry(), TOLERANCE_S) as w:
        w.append(*CHAIN.rounds[0])
        w.append(*CHAIN.rounds[2])
    assert bad(p) == (1, "wrong height")


def test_header_is_covered(good, tmp_path):
    path, raw = good
    p = tmp_path / "h.cpchain"
    for off in (0, 4, 5, 9, 20, 60, 120):
        assert bad(write(p, flipped(raw, off))) == (0, "format error"), off
    assert "header SHA-256" in report(write(p, flipped(raw, 60))).reason
    # the file SHA-256 and the round count in the end record
    assert bad(write(p, flipped(raw, len(raw) - 1))) == (ROUNDS, "format error")
    assert bad(write(p, flipped(raw, len(raw) - 33))) == (ROUNDS, "format error")
    # a forger who recomputes both digests: the signatures and the contracts still catch it
    tol_at = 9 + 1                                  # header body: flags(1), then tolerance_s
    forged = raw[:tol_at] + struct.pack(">d", 1.0) + raw[tol_at + 8:]
    assert bad(write(p, redigest(forged))) == (0, "timestamp outside tolerance")
    key = TERMS[2].public_key
    forged = raw.replace(key, Terminal.from_seed("X", 1, "forger").public_key)
    assert bad(write(p, redigest(forged))) == (0, "bad signature")
    forged = raw.replace(key, TERMS[1].public_key)  # one key bound to two terminals
    assert bad(write(p, redigest(forged))) == (0, "format error")
    assert "duplicate key" in report(p).reason


def test_registration_contract_is_checked_on_read(tmp_path):
    reg = Registry(buses=range(1, 5), one_terminal_per_bus=False)
    a, b = Terminal.from_seed("A", 2, 0), Terminal.from_seed("B", 2, 0)
    reg.register_terminal(a)
    reg.register_terminal(b)
    p = write_chain(tmp_path / "bus.cpchain", Chain(reg, 1.0))
    assert report(p).valid and read_chain(p).registry.one_terminal_per_bus is False
    raw = p.read_bytes()
    assert raw[9] == 0                              # flags: several terminals per bus
    write(p, redigest(raw[:9] + b"\x01" + raw[10:]))
    h, reason = bad(p)
    assert (h, reason) == (0, "format error") and "location taken" in report(p).reason


def test_read_chain_errors(good, tmp_path):
    path, raw = good
    p = tmp_path / "bad.cpchain"
    with pytest.raises(ChainFileError) as ei:
        read_chain(write(p, raw[:round_starts(raw)[2] + 30]))
    e = ei.value
    assert isinstance(e, BlockFormatError) and isinstance(e, CppsError) and isinstance(e, ValueError)
    assert e.height == 2 and e.offset > round_starts(raw)[2] and str(p) in str(e)
    assert f"at offset {e.offset}" in str(e) and "round 2" in str(e)
    with pytest.raises(ChainFileError, match="magic"):
        read_chain(write(p, CHAIN.rounds[0][1][0].to_bytes()))
    with pytest.raises(ChainFileError, match="header SHA-256"):
        read_chain(write(p, flipped(raw, 30)))
    # a tampered block breaks the file SHA-256 ...
    blk = CHAIN.rounds[2][1][1].to_bytes()
    tampered = flipped(raw, raw.index(blk) + len(blk) - 65)
    with pytest.raises(ChainFileError, match="file SHA-256") as ei:
        read_chain(write(p, tampered))
    assert ei.value.height == ROUNDS and ei.value.where == "end record"
    # ... but read_chain decodes, it does not validate: with the digests redone it reads,
    # and validate() names the block
    chain = read_chain(write(p, redigest(tampered)))
    assert chain.first_error().height == 2 and chain.first_error().reason == "merkle mismatch"
    with pytest.raises(FileNotFoundError):
        read_chain(tmp_path / "missing.cpchain")
    with pytest.raises(FileNotFoundError):
        verify_chain_file(tmp_path / "missing.cpchain")
    with pytest.raises(IsADirectoryError):
        verify_chain_file(tmp_path)


# ----------------------------------------------------------------------------- the writer

def test_writer_is_atomic(tmp_path):
    p = tmp_path / "run" / "chain.cpchain"
    p.parent.mkdir()
    w = ChainFileWriter(p, registry(), TOLERANCE_S)
    w.append(*CHAIN.rounds[0])
    assert not p.exists() and w.temp_path.exists() and w.temp_path.parent == p.parent
    w.close()
    w.close()                                       # idempotent
    assert p.exists() and os.listdir(p.parent) == ["chain.cpchain"] and report(p).height == 1
    before = p.read_bytes()
    # an interrupted run: the previous file is untouched and no temporary file is left
    with pytest.raises(KeyboardInterrupt):
        with ChainFileWriter(p, registry(), TOLERANCE_S) as w2:
            for gen, data in CHAIN.rounds:
                w2.append(gen, data)
            raise KeyboardInterrupt
    assert w2.closed and p.read_bytes() == before and os.listdir(p.parent) == ["chain.cpchain"]
    w3 = ChainFileWriter(tmp_path / "aborted.cpchain", registry(), TOLERANCE_S)
    w3.abort()
    assert os.listdir(tmp_path) == ["run"]
    with pytest.raises(ValueError, match="closed"):
        w.append(*CHAIN.rounds[1])


def test_writer_refuses_bad_arguments(tmp_path):
    p = tmp_path / "c.cpchain"
    with pytest.raises(TypeError, match="Registry"):
        ChainFileWriter(p, [], TOLERANCE_S)
    for tol in (float("nan"), -1.0, "x"):
        with pytest.raises(ValueError, match="tolerance_s"):
            ChainFileWriter(p, registry(), tol)
    assert os.listdir(tmp_path) == []
    reg = registry()
    with ChainFileWriter(p, reg, TOLERANCE_S) as w:
        gen, data = CHAIN.rounds[0]
        with pytest.raises(TypeError, match="GeneratorBlock"):
            w.append(data[0], data)
        with pytest.raises(TypeError, match="data block 1: expected a DataBlock"):
            w.append(gen, [data[0], data[1].to_bytes()])
        w.append(gen, data)                         # the refused calls wrote nothing
        reg.register_terminal(Terminal.from_seed("T9", 9, 0))
        with pytest.raises(ValueError, match="registered after"):
            w.append(*CHAIN.rounds[1])
    assert report(p).height == 1
    # infinite tolerance is a tolerance (no timestamp check)
    assert report(write_chain(p, Chain(registry(), float("inf")))).valid


# ----------------------------------------------------------------------------- CLI

def one_error_line(err: str) -> str:
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def cli(good, tmp_path_factory):
    """``python -m cppsns3 verify-chain ...`` on each case, run concurrently: name -> (rc, out, err)."""
    path, raw = good
    d = tmp_path_factory.mktemp("cli")
    blk = CHAIN.rounds[2][1][1].to_bytes()
    tampered = write(d / "bad.cpchain", flipped(raw, raw.index(blk) + len(blk) - 65))
    cut = write(d / "cut.cpchain", raw[: len(raw) // 2])
    replayed = d / "replay.cpchain"
    with ChainFileWriter(replayed, registry(), TOLERANCE_S) as w:
        for gen, data in [*CHAIN.rounds[:3], CHAIN.rounds[1]]:
            w.append(gen, data)
    cases = {"valid": [path], "valid-json": [path, "--json"], "invalid": [tampered],
             "invalid-json": [tampered, "--json"], "cut": [cut], "replay": [replayed],
             "missing": [d / "missing.cpchain", "--json"], "folder": [d]}
    procs = {k: subprocess.Popen([sys.executable, "-m", "cppsns3", "verify-chain", *map(str, a)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, a in cases.items()}
    out = {}
    for k, p in procs.items():
        o, e = p.communicate(timeout=300)
        assert "Traceback" not in e, e
        out[k] = (p.returncode, o, e)
    out["paths"] = {"tampered": str(tampered)}
    return out


def test_cli_valid(cli):
    assert cli["valid"] == (0, f"{ROUNDS}\n", "")
    rc, out, err = cli["valid-json"]
    assert rc == 0 and err == "" and out.count("\n") == 1
    assert json.loads(out) == {"valid": True, "height": ROUNDS, "first_bad_height": None,
                               "reason": None}


def test_cli_invalid(cli):
    rc, out, err = cli["invalid"]
    assert rc == 1 and out == ""
    assert "height 2" in one_error_line(err) and "merkle mismatch" in err
    assert cli["paths"]["tampered"] in err
    rc, out, err = cli["invalid-json"]
    assert rc == 1 and out.count("\n") == 1
    obj = json.loads(out)
    assert list(obj) == ["valid", "height", "first_bad_height", "reason"]
    assert obj["valid"] is False and obj["height"] == 2 and obj["first_bad_height"] == 2
    assert obj["reason"].startswith("merkle mismatch: round 2 data block 1")
    one_error_line(err)
    rc, out, err = cli["cut"]
    assert rc == 1 and out == "" and "format error" in one_error_line(err)
    rc, out, err = cli["replay"]
    assert rc == 1 and out == "" and "height 3: wrong height" in one_error_line(err)


def test_cli_bad_input(cli):
    for case in ("missing", "folder"):
        rc, out, err = cli[case]
        assert rc == 2 and out == "" and "cannot read" in one_error_line(err)


# ----------------------------------------------------------------------------- property

def mutate(raw: bytes, ops) -> bytes:
    b = bytearray(raw)
    for op, pos, arg in ops:
        pos = min(pos, len(b))
        if op == "flip" and pos < len(b):
            b[pos] ^= arg
        elif op == "insert":
            b[pos:pos] = arg
        elif op == "delete":
            del b[pos:pos + arg]
        elif op == "truncate":
            del b[pos:]
    return bytes(b)


_N = 4000                                           # above the sample's size (about 3.6 kB)
_OPS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, _N), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, _N), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, _N), st.integers(1, 8)),
    st.tuples(st.just("truncate"), st.integers(0, _N), st.just(0)),
)


@settings(derandomize=True, max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_OPS, min_size=1, max_size=3))
@example(ops=[("flip", 0, 1), ("flip", 0, 1)])      # cancels out: still valid
@example(ops=[("truncate", 3000, 0)])
@example(ops=[("insert", 9, b"\0")])
def test_random_mutations_are_refused(good, ops):
    path, raw = good
    mutated = mutate(raw, ops)
    p = write(path.with_name("mutated.cpchain"), mutated)
    rep = report(p)                                 # never raises
    assert rep.valid == (mutated == raw)
    if not rep.valid:
        assert 0 <= rep.first_bad_height <= ROUNDS
    # the command itself (main() maps typer.Exit to the exit code): it raises nothing else
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            verify_chain_command(str(p), json_out=True)
            rc = 0
        except typer.Exit as exc:
            rc = exc.exit_code
    assert json.loads(out.getvalue()) == rep.to_dict()
    if rep.valid:
        assert rc == 0 and err.getvalue() == ""
    else:
        assert rc == 1 and "Traceback" not in err.getvalue()
        assert f"height {rep.first_bad_height}" in one_error_line(err.getvalue())
