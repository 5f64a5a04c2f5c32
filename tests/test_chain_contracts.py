"""Registration and data-acquisition contracts refuse what they must."""

import pytest

from cppsns3.chain import (
    ContractViolation,
    DataAcquisitionContract,
    InvalidBlock,
    Measurement,
    Registry,
    RegistrationError,
    Terminal,
    power_flow_series,
)

T1 = Terminal.from_seed("T1", 1, "c")
T2 = Terminal.from_seed("T2", 2, "c")
T7 = Terminal.from_seed("T7", 7, "c")


def test_registration_binds_id_location_key():
    reg = Registry(buses=range(1, 15))
    r = reg.register("T7", 7, T7.public_key)
    assert (r.terminal_id, r.bus, r.public_key) == ("T7", 7, T7.public_key)
    assert len(r.identity) == 40 and reg.lookup("T7") == r and "T7" in reg and len(reg) == 1


@pytest.mark.parametrize("args, reason", [
    (("T7", 7, T2.public_key), "duplicate id"),
    (("T9", 15, T2.public_key), "not a bus"),
    (("T9", "x", T2.public_key), "not a bus"),
    (("T9", 7, T2.public_key), "location taken"),
    (("T9", 9, T7.public_key), "duplicate key"),
    (("T9", 9, b"short"), "bad key"),
    (("T9", 9, "not bytes"), "bad key"),
    (("", 9, T2.public_key), "bad id"),
    (("T/9", 9, T2.public_key), "bad id"),
    ((9, 9, T2.public_key), "bad id"),
])
def test_registration_refusals(args, reason):
    reg = Registry(buses=range(1, 15))
    reg.register("T7", 7, T7.public_key)
    with pytest.raises(RegistrationError) as ei:
        reg.register(*args)
    assert ei.value.reason == reason
    assert isinstance(ei.value, ValueError)
    assert len(reg) == 1  # nothing half-registered


def test_several_terminals_per_bus_when_allowed():
    reg = Registry(buses=[1], one_terminal_per_bus=False)
    reg.register("T1", 1, T1.public_key)
    reg.register("T2", 1, T2.public_key)
    assert len(reg) == 2


def test_registry_for_grid_uses_bus_names():
    reg = Registry.for_grid("case14")
    assert reg.buses == frozenset(range(1, 15))
    reg.register("T14", 14, T7.public_key)
    with pytest.raises(RegistrationError):
        reg.register("T0", 0, T1.public_key)


def _verify_reason(reg, blk, **kw):
    try:
        reg.verify(blk, **kw)
    except InvalidBlock as exc:
        return exc.reason
    return None


def test_registry_verify_reasons():
    reg = Registry(buses=range(1, 15))
    reg.register_terminal(T1)
    ms = [Measurement("T1/vm_pu/bus1", 100.0, 1.0)]
    good = T1.make_block(ms, bytes(32), 100.0)
    # unknown signer
    assert _verify_reason(reg, T2.make_block([("T2/vm_pu/bus2", 1.0, 1.0)], bytes(32), 1.0)) == "unknown signer"
    # signed by someone else under T1's name
    forged = T2.make_block([("T1/vm_pu/bus1", 100.0, 1.0)], bytes(32), 100.0).replace(terminal_id="T1")
    assert _verify_reason(reg, forged) == "bad signature"
    # header changed after signing
    assert _verify_reason(reg, good.replace(timestamp_s=101.0)) == "bad signature"
    # body changed after signing
    assert _verify_reason(reg, good.replace(measurements=[("T1/vm_pu/bus1", 100.0, 1.1)])) == "merkle mismatch"
    assert _verify_reason(reg, good, remember=False) is None
    assert _verify_reason(reg, good) is None
    assert _verify_reason(reg, good) == "replay"
    # a copy of the registry has its own replay memory
    other = reg.copy()
    other.seen.clear()
    assert _verify_reason(other, good) is None


def contract(**kw):
    base = dict(terminal_id="T1", trigger="time", period_s=900.0, tolerance_s=2.0, sensor_count=2,
                data_types={"vm_pu", "p_mw"}, time_scale_s=900.0, start_time_s=0.0)
    base.update(kw)
    return DataAcquisitionContract(**base)


GOOD = [Measurement("T1/vm_pu/bus1", 9000.0, 1.0), Measurement("T1/p_mw/line0", 8500.0, 12.0)]


@pytest.mark.parametrize("terminal, ms, ts, event, kw, reason", [
    (T2, GOOD, 9000.0, False, {}, "wrong terminal"),
    (T1, GOOD, 9003.0, False, {}, "timestamp outside tolerance"),
    (T1, GOOD, 8550.0, False, {}, "timestamp outside tolerance"),
    (T1, GOOD, 9000.0, True, {}, "not event-driven"),
    (T1, GOOD + [Measurement("T2/vm_pu/bus2", 9000.0, 1.0)], 9000.0, False, {"sensor_count": 3}, "foreign data"),
    (T1, GOOD + [Measurement("T1/i_ka/line0", 9000.0, 0.1)], 9000.0, False, {"sensor_count": 3}, "data type"),
    (T1, [GOOD[0], Measurement("T1/p_mw/line0", 8097.0, 1.0)], 9000.0, False, {}, "outside time scale"),
    (T1, [GOOD[0], Measurement("T1/p_mw/line0", 9002.5, 1.0)], 9000.0, False, {}, "outside time scale"),
    (T1, GOOD[:1], 9000.0, False, {}, "sensor count"),
    (T1, GOOD + [Measurement("T1/vm_pu/bus1", 8990.0, 1.0)], 9000.0, False, {"sensor_count": 3}, "sensor count"),
    (T1, [], 9000.0, False, {"sensor_count": None}, "sensor count"),
])
def test_acquisition_contract_refusals(terminal, ms, ts, event, kw, reason):
    c = contract(**kw)
    with pytest.raises(ContractViolation) as ei:
        c.make_block(terminal, ms, bytes(32), ts, event=event)
    assert ei.value.reason == reason


def test_acquisition_contract_accepts_and_checks_received_blocks():
    c = contract()
    b = c.make_block(T1, GOOD, bytes(32), 9001.5)                 # within Δt of 9000
    c.check_block(b)
    # the edges of the window are inside
    c.make_block(T1, [Measurement("T1/vm_pu/bus1", 8098.0, 1.0), GOOD[1]], bytes(32), 9000.0)
    ev = contract(trigger="event")
    eb = ev.make_block(T1, [Measurement("T1/vm_pu/bus1", 1234.0, 1.0),
                            Measurement("T1/p_mw/line0", 1234.0, 1.0)], bytes(32), 1234.0, event=True)
    ev.check_block(eb)
    with pytest.raises(ContractViolation):
        c.check_block(eb)              # not due under the time-driven contract
    reg = Registry(buses=[1])
    reg.register_terminal(T1)
    with pytest.raises(InvalidBlock) as ei:
        reg.verify(eb, contract=c)
    assert ei.value.reason == "timestamp outside tolerance"
    assert eb.hash() not in reg.seen
    reg.verify(b, contract=c)


@pytest.mark.parametrize("kw", [dict(trigger="sometimes"), dict(period_s=0), dict(tolerance_s=-1),
                                dict(sensor_count=0), dict(time_scale_s=float("inf")),
                                dict(data_types="vm_pu")])
def test_contract_parameters_checked(kw):
    with pytest.raises(ValueError):
        contract(**kw)


def test_blocks_from_series_follow_the_contract():
    frame = power_flow_series("case14", days=1).iloc[:8]
    t = Terminal.from_seed("T4", 4, "c")
    quantities = {"vm_pu", "va_degree", "p_mw", "q_mvar", "i_ka"}
    n = sum(1 for c, b in frame.attrs["column_bus"].items() if b == 4)
    c = DataAcquisitionContract("T4", period_s=900.0, tolerance_s=1.0, sensor_count=n,
                                data_types=quantities, time_scale_s=900.0)
    blocks = c.blocks_from_series(t, frame)
    assert len(blocks) == 8
    for prev, b in zip(blocks, blocks[1:]):
        assert b.prev_hash == prev.hash()
        assert b.timestamp_s - prev.timestamp_s == 900.0
    reg = Registry.for_grid("case14")
    reg.register_terminal(t)
    for b in blocks:
        assert len(b) == n
        reg.verify(b, contract=c)
    with pytest.raises(ContractViolation) as ei:
        DataAcquisitionContract("T4", sensor_count=n + 1).blocks_from_series(t, frame)
    assert ei.value.reason == "sensor count"
