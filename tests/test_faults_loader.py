"""[[faults]] tables of the network faults and attacks: loaded, validated, written back."""

import pytest

from cppsns3.errors import ScenarioError
from cppsns3.model.scenario import scenario_from_dict


def _base(*faults):
    return {"grid": "case14", "terminals": [{"bus": 2, "data_mb": 1.0}, {"bus": 9, "data_mb": 1.0}],
            "faults": list(faults)}


def test_new_kinds_load_with_their_keys():
    sc = scenario_from_dict(_base(
        {"kind": "node_down", "bus": 4, "at_s": 0.01, "until_s": 0.2},
        {"kind": "node_down", "bus": 5, "at_s": 0.0},
        {"kind": "link_flap", "a_bus": 1, "b_bus": 2, "at_s": 0.0, "period_s": 0.02, "count": 3},
        {"kind": "relay_drop", "bus": 4, "fraction": 0.25},
        {"kind": "relay_delay", "bus": 4, "delay_ms": 2.5},
        {"kind": "relay_tamper", "bus": 5},
        {"kind": "replay", "bus": 9},
    ))
    nd, nd2, flap, drop, delay, tamper, replay = sc.faults
    assert (nd.bus, nd.at_s, nd.until_s) == (4, 0.01, 0.2) and nd2.until_s is None
    assert nd.intervals() == ((0.01, 0.2),) and nd2.intervals() == ((0.0, None),)
    assert [t for iv in flap.intervals() for t in iv] == pytest.approx([0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
    assert drop.fraction == 0.25 and delay.delay_ms == 2.5
    assert tamper.fraction == 1.0  # default: every forwarded block segment
    assert replay.bus == 9
    # Written back with the keys each kind uses (summary.json "faults").
    assert flap.to_dict() == {"kind": "link_flap", "at_s": 0.0, "a_bus": 1, "b_bus": 2, "bus": None,
                              "period_s": 0.02, "count": 3}
    assert drop.to_dict()["fraction"] == 0.25 and "delay_ms" not in drop.to_dict()
    assert nd.to_dict()["until_s"] == 0.2


@pytest.mark.parametrize("fault, field, value", [
    ({"kind": "node_down", "bus": 99, "at_s": 0.0}, "faults[0].bus", "99"),
    ({"kind": "node_down", "bus": 4}, "faults[0].at_s", "missing"),
    ({"kind": "node_down", "bus": 4, "at_s": 0.5, "until_s": 0.5}, "faults[0].until_s", "0.5"),
    ({"kind": "node_down", "a_bus": 4, "bus": 4, "at_s": 0.5}, "faults[0].a_bus", "not used"),
    ({"kind": "link_flap", "a_bus": 1, "b_bus": 14, "at_s": 0, "period_s": 0.1, "count": 2},
     "faults[0].b_bus", "14"),
    ({"kind": "link_flap", "a_bus": 1, "b_bus": 2, "at_s": 0, "period_s": 0.1, "count": 0},
     "faults[0].count", "0"),
    ({"kind": "link_flap", "a_bus": 1, "b_bus": 2, "at_s": 0, "period_s": 0.1, "count": 1.5},
     "faults[0].count", "1.5"),
    ({"kind": "link_flap", "a_bus": 1, "b_bus": 2, "at_s": 0, "period_s": -1, "count": 2},
     "faults[0].period_s", "-1"),
    ({"kind": "link_flap", "a_bus": 1, "b_bus": 2, "at_s": 0, "count": 2}, "faults[0].period_s", "missing"),
    ({"kind": "relay_drop", "bus": 4, "fraction": 1.5}, "faults[0].fraction", "1.5"),
    ({"kind": "relay_drop", "bus": 4, "fraction": -0.1}, "faults[0].fraction", "-0.1"),
    ({"kind": "relay_drop", "bus": 4, "fraction": float("nan")}, "faults[0].fraction", "nan"),
    ({"kind": "relay_drop", "bus": 4}, "faults[0].fraction", "missing"),
    ({"kind": "relay_drop", "bus": 77, "fraction": 0.5}, "faults[0].bus", "77"),
    ({"kind": "relay_delay", "bus": 4, "delay_ms": 0}, "faults[0].delay_ms", "0"),
    ({"kind": "relay_delay", "bus": 4, "delay_ms": "slow"}, "faults[0].delay_ms", "slow"),
    ({"kind": "relay_delay", "bus": 4, "delay_ms": float("inf")}, "faults[0].delay_ms", "inf"),
    ({"kind": "relay_delay", "bus": 4, "delay_ms": 1.0, "at_s": 0.1}, "faults[0].at_s", "not used"),
    ({"kind": "relay_tamper", "bus": 4, "fraction": 2}, "faults[0].fraction", "2"),
    ({"kind": "relay_tamper", "bus": 4, "count": 2}, "faults[0].count", "not used"),
    ({"kind": "replay", "bus": 4}, "faults[0].bus", "4"),  # no demand terminal there
    ({"kind": "replay", "bus": 42}, "faults[0].bus", "42"),
    ({"kind": "replay"}, "faults[0].bus", "missing"),
])
def test_bad_fault_tables_name_field_and_value(fault, field, value):
    with pytest.raises(ScenarioError) as ei:
        scenario_from_dict(_base(fault))
    msg = str(ei.value)
    assert msg.startswith(field), msg
    assert value in msg, msg
    assert "\n" not in msg
