"""Generator blocks and full-chain validation naming the first bad block."""

import pytest

from cppsns3.chain import (
    GENESIS_HASH,
    BlockFormatError,
    Chain,
    ChainError,
    GeneratorBlock,
    InvalidBlock,
    Registry,
    Terminal,
    verify_generator_block,
)
from cppsns3.chain.merkle import leaf_hash, merkle_root_from_leaf_hashes

TERMS = [Terminal.from_seed(f"T{b}", b, "chain") for b in (1, 2, 3, 4)]
GEN = TERMS[0]
OUTSIDER = Terminal.from_seed("T9", 9, "chain")
T0 = 1.7e9


def registry():
    reg = Registry(buses=range(1, 15))
    for t in TERMS:
        reg.register_terminal(t)
    return reg


def data_blocks(prev, ts, terms=TERMS[1:]):
    return [t.make_block([(f"{t.terminal_id}/vm_pu/bus{t.bus}", ts - 10.0, 1.0 + 0.01 * t.bus)],
                         prev, ts) for t in terms]


def build(rounds=3):
    chain = Chain(registry(), tolerance_s=60.0)
    for k in range(rounds):
        ts = T0 + 900.0 * k
        chain.make_round(GEN, data_blocks(chain.tip_hash, ts), ts + 5.0)
    return chain


def resign_gen(gen, signer=GEN, **changes):
    """A generator block with changed fields, correctly signed by ``signer``."""
    f = dict(prev_hash=gen.prev_hash, height=gen.height, timestamp_s=gen.timestamp_s,
             merkle_root=gen.merkle_root, generator_id=signer.terminal_id,
             block_hashes=gen.block_hashes)
    f.update(changes)
    header = GeneratorBlock.header_for(f["prev_hash"], f["height"], f["timestamp_s"],
                                       f["merkle_root"], f["generator_id"], len(f["block_hashes"]))
    return GeneratorBlock(signature=signer.sign(header), **f)


def root_of(hashes):
    return merkle_root_from_leaf_hashes([leaf_hash(h) for h in sorted(hashes)])


def test_valid_chain():
    chain = build()
    assert len(chain) == 3 and chain.validate() is None and chain.first_error() is None
    g0 = chain.rounds[0][0]
    assert g0.prev_hash == GENESIS_HASH and chain.rounds[1][0].prev_hash == g0.hash()
    assert all(d.prev_hash == g0.hash() for d in chain.rounds[1][1])


def failure(chain):
    with pytest.raises(ChainError) as ei:
        chain.validate()
    e = ei.value
    return e.height, e.data_index, e.reason


def test_tampered_data_body_is_merkle_mismatch():
    chain = build()
    gen, data = chain.rounds[1]
    bad = data[2].replace(measurements=[(data[2].measurements[0][0], T0, 99.0)])
    chain.rounds[1] = (gen, data[:2] + (bad,))
    assert failure(chain) == (1, 2, "merkle mismatch")


def test_bad_signature_unknown_signer_and_first_bad_block_named():
    chain = build()
    gen1, data1 = chain.rounds[1]
    gen2, data2 = chain.rounds[2]
    # round 2: a block by an unregistered terminal; round 1: a header changed after signing
    chain.rounds[2] = (gen2, data2 + tuple(data_blocks(gen1.hash(), T0 + 1800, [OUTSIDER])))
    assert failure(chain) == (2, 3, "unknown signer")
    chain.rounds[1] = (gen1, (data1[0].replace(timestamp_s=data1[0].timestamp_s + 1),) + data1[1:])
    assert failure(chain) == (1, 0, "bad signature")


def test_generator_reasons():
    chain = build()
    gen1, data1 = chain.rounds[1]
    chain.rounds[1] = (resign_gen(gen1, prev_hash=b"\x07" * 32), data1)
    assert failure(chain) == (1, None, "wrong previous hash")
    chain.rounds[1] = (resign_gen(gen1, merkle_root=b"\x07" * 32), data1)
    assert failure(chain) == (1, None, "merkle mismatch")
    chain.rounds[1] = (resign_gen(gen1, signer=OUTSIDER), data1)
    assert failure(chain) == (1, None, "unknown signer")
    chain.rounds[1] = (gen1.replace(timestamp_s=gen1.timestamp_s + 1), data1)
    assert failure(chain) == (1, None, "bad signature")
    chain.rounds[1] = (resign_gen(gen1, height=5), data1)
    assert failure(chain) == (1, None, "wrong height")
    chain.rounds[1] = (resign_gen(gen1, timestamp_s=T0 - 1), data1)
    assert failure(chain) == (1, None, "timestamp out of order")
    chain.rounds[1] = (gen1, data1[:2])
    assert failure(chain) == (1, None, "missing block")


def test_data_block_reasons():
    chain = build()
    gen0 = chain.rounds[0][0]
    gen1, data1 = chain.rounds[1]
    gen2, data2 = chain.rounds[2]
    # replay: a round-0 data block listed again in round 2
    old = chain.rounds[0][1][0]
    hashes = list(gen2.block_hashes) + [old.hash()]
    chain.rounds[2] = (resign_gen(gen2, block_hashes=sorted(hashes), merkle_root=root_of(hashes)),
                       data2 + (old,))
    assert failure(chain) == (2, 3, "replay")
    chain.rounds[2] = (gen2, data2)
    # wrong previous hash: a data block of round 1 pointing at genesis
    stale = data_blocks(GENESIS_HASH, T0 + 900, TERMS[1:2])[0]
    hashes = [stale.hash()] + [d.hash() for d in data1[1:]]
    chain.rounds[1] = (resign_gen(gen1, block_hashes=sorted(hashes), merkle_root=root_of(hashes)),
                       (stale,) + data1[1:])
    assert failure(chain) == (1, 0, "wrong previous hash")
    # timestamp outside Δt (60 s) of the generator block
    late = data_blocks(gen0.hash(), T0 + 900 + 120, TERMS[1:2])[0]
    hashes = [late.hash()] + [d.hash() for d in data1[1:]]
    chain.rounds[1] = (resign_gen(gen1, block_hashes=sorted(hashes), merkle_root=root_of(hashes)),
                       (late,) + data1[1:])
    assert failure(chain) == (1, 0, "timestamp outside tolerance")
    # a valid data block the generator did not list
    extra = data_blocks(gen0.hash(), T0 + 900, TERMS[:1])[0]
    chain.rounds[1] = (gen1, data1 + (extra,))
    assert failure(chain) == (1, 3, "not covered")


def test_append_refuses_and_leaves_chain_unchanged():
    chain = build(1)
    blocks = data_blocks(GENESIS_HASH, T0 + 900)   # wrong prev: should point at round 0
    with pytest.raises(ChainError) as ei:
        chain.make_round(GEN, blocks, T0 + 905)
    assert (ei.value.height, ei.value.data_index, ei.value.reason) == (1, 0, "wrong previous hash")
    assert len(chain) == 1
    ok = data_blocks(chain.tip_hash, T0 + 900)
    chain.make_round(GEN, ok, T0 + 905)
    with pytest.raises(ChainError) as ei:        # the same data blocks again
        chain.append(GEN.make_generator_block(ok, chain.tip_hash, T0 + 1000, 2), ok)
    assert ei.value.reason == "replay"
    assert isinstance(ei.value, InvalidBlock)


def test_verify_received_generator_block_bytes():
    reg = registry()
    blocks = data_blocks(GENESIS_HASH, T0)
    hashes = [b.hash() for b in blocks]
    gen = GEN.make_generator_block(blocks, GENESIS_HASH, T0 + 5, 0)
    raw = gen.to_bytes()
    got = verify_generator_block(raw, reversed(hashes), reg, prev_hash=GENESIS_HASH, height=0)
    assert got == gen

    def reason(*a, **k):
        try:
            verify_generator_block(*a, **k)
        except InvalidBlock as exc:
            return exc.reason
        return None

    assert reason(raw, hashes[:2], reg) == "missing block"
    assert reason(raw, hashes + [bytes(32)], reg) == "not covered"
    assert reason(raw, hashes, reg, prev_hash=b"\x01" * 32) == "wrong previous hash"
    assert reason(raw, hashes, reg, height=1) == "wrong height"
    flipped = bytearray(raw)
    flipped[50] ^= 1
    assert reason(bytes(flipped), hashes, reg) == "bad signature"
    assert reason(resign_gen(gen, merkle_root=bytes(32)), hashes, reg) == "merkle mismatch"
    assert reason(resign_gen(gen, signer=OUTSIDER), hashes, reg) == "unknown signer"
    assert reason(raw, hashes, reg, remember=True) is None
    assert reason(raw, hashes, reg, remember=True) == "replay"
    with pytest.raises(BlockFormatError):
        verify_generator_block(raw[:-1], hashes, reg)
