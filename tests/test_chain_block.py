"""Data/generator block encoding: round trips, malformed input, every flipped bit."""

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cppsns3.chain import (
    BlockFormatError,
    DataBlock,
    GeneratorBlock,
    InvalidBlock,
    Measurement,
    Registry,
    Terminal,
)
from cppsns3.chain.block import DATA_MAGIC, SIGNATURE_BYTES

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

T7 = Terminal.from_seed("T7", 7, "test")
T8 = Terminal.from_seed("T8", 8, "test")


def small_block():
    ms = [Measurement("T7/vm_pu/bus7", 1.7e9, 1.02), Measurement("T7/p_mw/line3", 1.7e9 + 1, -3.5)]
    return T7.make_block(ms, bytes(range(32)), 1.7e9 + 2)


def fresh_registry():
    reg = Registry(buses=range(1, 15))
    reg.register("T7", 7, T7.public_key)
    return reg


def test_api_example():
    m = Measurement(id="T7/vm_pu/bus7", time_s=1.7e9, value=1.02)
    assert m == Measurement("T7/vm_pu/bus7", 1.7e9, 1.02)
    assert (m.terminal_id, m.quantity, m.element) == ("T7", "vm_pu", "bus7")
    t = Terminal.generate("T7", 7)
    assert isinstance(t.public_key, bytes) and len(t.public_key) == 32
    reg = Registry(buses=list(range(1, 15)))
    reg.register("T7", 7, t.public_key)
    b = t.make_block([m], bytes(32), 1.7e9)
    raw = b.to_bytes()
    assert DataBlock.from_bytes(raw) == b
    assert reg.verify(b) is None
    with pytest.raises(InvalidBlock) as ei:
        reg.verify(DataBlock.from_bytes(raw))
    assert ei.value.reason == "replay"


def test_layout_is_the_documented_one():
    b = small_block()
    raw = b.to_bytes()
    assert raw[:4] == DATA_MAGIC and raw[4] == 1
    assert raw[5:37] == bytes(range(32))
    assert struct.unpack(">d", raw[37:45])[0] == 1.7e9 + 2
    assert raw[45:77] == b.merkle_root
    assert raw[77:79] == b"\x00\x02" and raw[79:81] == b"T7"
    assert raw[81:85] == b"\x00\x00\x00\x02"
    assert b.header_bytes == raw[:85]
    rec = b"\x00\x0dT7/vm_pu/bus7" + struct.pack(">dd", 1.7e9, 1.02)
    assert raw[85:85 + len(rec)] == rec
    assert raw[-SIGNATURE_BYTES:] == b.signature
    assert len(raw) == 85 + 2 * (2 + 13 + 16) + 64
    # deterministic: same inputs, same bytes
    assert small_block().to_bytes() == raw


def _expected(raw: bytes, pos: int, flipped: bytes):
    """The right outcome of flipping bit ``pos``: 'format' or an InvalidBlock reason.

    Follows the documented layout, independently of the decoder.
    """
    byte = pos // 8
    n = len(raw)
    sig_start = n - SIGNATURE_BYTES
    if byte < 5:                      # magic, version
        return "format"
    if byte < 37:                     # prev_hash (signed header)
        return "bad signature"
    if byte < 45:                     # timestamp (signed header)
        ts = struct.unpack(">d", flipped[37:45])[0]
        return "bad signature" if math.isfinite(ts) else "format"
    if byte < 77:                     # Merkle root (signed header)
        return "bad signature"
    if byte < 79:                     # terminal-ID length
        return "format"
    if byte < 81:                     # terminal-ID bytes
        try:
            tid = flipped[79:81].decode("utf-8")
        except UnicodeDecodeError:
            return "format"
        return "format" if "/" in tid else "unknown signer"
    if byte < 85:                     # record count
        return "format"
    if byte >= sig_start:             # signature
        return "bad signature"
    # records
    o = 85
    while True:
        ln = struct.unpack(">H", raw[o:o + 2])[0]
        end = o + 2 + ln + 16
        if byte < end:
            break
        o = end
    if byte < o + 2:                  # record ID length
        return "format"
    if byte < o + 2 + ln:             # record ID bytes
        try:
            flipped[o + 2:o + 2 + ln].decode("utf-8")
        except UnicodeDecodeError:
            return "format"
        return "merkle mismatch"
    f = o + 2 + ln + (0 if byte < o + 2 + ln + 8 else 8)
    x = struct.unpack(">d", flipped[f:f + 8])[0]
    return "merkle mismatch" if math.isfinite(x) else "format"


def test_every_flipped_bit_is_refused_with_the_right_reason():
    raw = small_block().to_bytes()
    reg = fresh_registry()
    reg.verify(DataBlock.from_bytes(raw), remember=False)   # the original is fine
    counts = {}
    for pos in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[pos // 8] ^= 1 << (pos % 8)
        flipped = bytes(flipped)
        want = _expected(raw, pos, flipped)
        try:
            blk = DataBlock.from_bytes(flipped)
        except BlockFormatError as exc:
            got = "format"
            assert "offset" in str(exc)
        else:
            try:
                reg.verify(blk, remember=False)
            except InvalidBlock as exc:
                got = exc.reason
            else:
                got = "accepted"
        assert got == want, f"bit {pos} (byte {pos // 8}): got {got!r}, want {want!r}"
        counts[got] = counts.get(got, 0) + 1
    assert set(counts) == {"format", "bad signature", "unknown signer", "merkle mismatch"}


def test_every_truncation_and_extension_is_a_format_error():
    raw = small_block().to_bytes()
    for k in range(len(raw)):
        with pytest.raises(BlockFormatError, match="offset"):
            DataBlock.from_bytes(raw[:k])
    with pytest.raises(BlockFormatError, match="trailing|signature"):
        DataBlock.from_bytes(raw + b"\x00")


def test_malformed_messages_name_offset_and_expectation():
    raw = small_block().to_bytes()
    with pytest.raises(BlockFormatError, match=r"offset 4 .*format version 1, got 9"):
        DataBlock.from_bytes(raw[:4] + b"\x09" + raw[5:])
    with pytest.raises(BlockFormatError, match=r"offset 0 .*magic"):
        DataBlock.from_bytes(b"XXXX" + raw[4:])
    huge = raw[:81] + b"\xff\xff\xff\xff" + raw[85:]
    with pytest.raises(BlockFormatError, match=r"offset 81 .*record count"):
        DataBlock.from_bytes(huge)
    for bad in (None, 3, "CPDB", [1, 2]):
        with pytest.raises(BlockFormatError):
            DataBlock.from_bytes(bad)


def test_constructor_refuses_bad_fields():
    with pytest.raises(ValueError):
        T7.make_block([("T7/vm_pu/bus7", 1.0, float("nan"))], bytes(32), 1.0)
    with pytest.raises(ValueError):
        T7.make_block([("", 1.0, 1.0)], bytes(32), 1.0)
    with pytest.raises(ValueError):
        T7.make_block([("T7/x/y", 1.0, 1.0)], bytes(31), 1.0)
    with pytest.raises(ValueError):
        T7.make_block([("T7/x/y", 1.0, 1.0)], bytes(32), float("inf"))
    with pytest.raises(ValueError):
        Terminal.generate("a/b", 1)


ids = st.text(min_size=1, max_size=24)
finite = st.floats(allow_nan=False, allow_infinity=False)
measurements = st.lists(st.builds(Measurement, ids, finite, finite), max_size=12)
terminal_ids = st.text(min_size=1, max_size=12).filter(lambda s: "/" not in s)


@SETTINGS
@given(tid=terminal_ids, ms=measurements, prev=st.binary(min_size=32, max_size=32),
       ts=finite, root=st.binary(min_size=32, max_size=32),
       sig=st.binary(min_size=64, max_size=64))
def test_roundtrip_any_block(tid, ms, prev, ts, root, sig):
    b = DataBlock(prev, ts, root, tid, ms, sig)
    c = DataBlock.from_bytes(b.to_bytes())
    assert c == b
    assert c.to_bytes() == b.to_bytes()
    assert c.measurements == b.measurements
    assert (c.terminal_id, c.prev_hash, c.merkle_root, c.signature) == (tid, prev, root, sig)
    assert struct.pack(">d", c.timestamp_s) == struct.pack(">d", ts)


@SETTINGS
@given(ms=measurements, ts=finite)
def test_roundtrip_signed_block_verifies(ms, ts):
    b = T8.make_block(ms, bytes(32), ts)
    c = DataBlock.from_bytes(b.to_bytes())
    assert c == b and c.computed_merkle_root() == c.merkle_root
    reg = Registry(buses=[8])
    reg.register("T8", 8, T8.public_key)
    reg.verify(c)


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_block_format_error(raw):
    for cls in (DataBlock, GeneratorBlock):
        try:
            cls.from_bytes(raw)
        except BlockFormatError:
            pass


_VALID = small_block().to_bytes()
_GVALID = T7.make_generator_block([small_block(), bytes(32), b"\xff" * 32], bytes(32), 5.0, 3).to_bytes()


@SETTINGS
@given(data=st.data())
def test_mutated_encodings_only_raise_block_format_error(data):
    for valid, cls in ((_VALID, DataBlock), (_GVALID, GeneratorBlock)):
        raw = bytearray(valid)
        for _ in range(data.draw(st.integers(1, 4))):
            op = data.draw(st.sampled_from(["set", "insert", "delete"]))
            i = data.draw(st.integers(0, max(len(raw) - 1, 0)))
            if op == "set" and raw:
                raw[i] = data.draw(st.integers(0, 255))
            elif op == "insert":
                raw[i:i] = data.draw(st.binary(min_size=1, max_size=8))
            elif raw:
                del raw[i:i + data.draw(st.integers(1, 8))]
        try:
            cls.from_bytes(bytes(raw))
        except BlockFormatError:
            pass


def test_generator_block_roundtrip_and_layout():
    hashes = [b"\x01" * 32, b"\x00" * 32, b"\x02" * 32]
    g = T7.make_generator_block(hashes, b"\x09" * 32, 1.7e9, 4)
    assert g.block_hashes == tuple(sorted(hashes))
    raw = g.to_bytes()
    assert raw[:5] == b"CPGB\x01" and raw[5:37] == b"\x09" * 32
    assert struct.unpack(">Q", raw[37:45])[0] == 4
    assert GeneratorBlock.from_bytes(raw) == g
    # hashes out of order are malformed
    body = raw[:g.size_bytes - 64 - 96]
    swapped = body + hashes[0] + hashes[1] + hashes[2] + raw[-64:]
    with pytest.raises(BlockFormatError, match="strictly increasing"):
        GeneratorBlock.from_bytes(swapped)
    with pytest.raises(BlockFormatError, match="magic"):
        GeneratorBlock.from_bytes(small_block().to_bytes())
    with pytest.raises(BlockFormatError, match="magic"):
        DataBlock.from_bytes(raw)
