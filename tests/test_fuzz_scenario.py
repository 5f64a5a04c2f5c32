"""Fuzzing the scenario loader and the planner: only ScenarioError / NoFeasiblePath escape.

Documents start from scenarios/ieee14.toml and are mutated: random and unknown
keys, wrong types, nested tables, huge / negative / NaN / inf numbers, unicode
strings, booleans where numbers go, empty arrays, terminals and faults arrays
with random content.  ``scenario_from_dict`` must load a document or raise
:class:`ScenarioError`; a loaded scenario is planned with ``plan``, which may
only raise ``ScenarioError`` or ``NoFeasiblePath``.  Derandomized (see
docs/fuzzing.md).
"""

import copy
import datetime
import math
from pathlib import Path

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from cppsns3.errors import CppsError, NoFeasiblePath, ScenarioError
from cppsns3.model.routing import plan
from cppsns3.model.scenario import scenario_from_dict

# extreme values overflow inside numpy on purpose; the property is about exceptions
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BASE = tomllib.loads((SCENARIOS / "ieee14.toml").read_text())

SETTINGS = settings(derandomize=True, max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])

TOP_KEYS = ["grid", "terminals", "seed", "queue_capacity", "delay_bound_ms", "hop_bound", "yen_k", "t_wait_s",
            "sampling_period_s", "algorithms", "faults", "mean_packet_bytes", "propagation_speed_m_per_s",
            "merge_transformers", "bandwidth", "datacheck"]
BUSES = list(range(1, 15))  # case14's bus labels (1-based, as in the scenario files)
#: some of case14's links, so a random link_down is often valid
LINKS = [(1, 2), (1, 5), (2, 3), (4, 7), (6, 13), (9, 14), (12, 13)]

# --------------------------------------------------------------------------- values

HUGE_INTS = [0, 1, -1, 2, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**64, 10**9, 10**30, 10**400]
ODD_FLOATS = [0.0, -0.0, 1e-300, 5e-324, -1e-300, 1e300, 1.7976931348623157e308, -1e308, math.inf, -math.inf,
              math.nan, 30.0, 30.000000001, 1e9, 0.5]
TEXT = st.one_of(st.sampled_from(["", " ", "case14", "case9", "2", " 6 ", "\u0663", "bus 2", "qtdr", "all",
                                  "link_down", "nan", "inf", "1e9", "\x00", "\u00e9\u00e8", "\U0001f600",
                                  "../nope.json", "nope.json", "/", "_private", "from_json",
                                  "create_empty_network", "pandapowerNet"]),
                 st.text(max_size=12))
SCALARS = st.one_of(
    st.booleans(),
    st.sampled_from(HUGE_INTS), st.integers(-5, 100), st.integers(),
    st.sampled_from(ODD_FLOATS), st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.just(None),
    st.sampled_from([datetime.date(2024, 1, 1), datetime.time(12, 0), datetime.datetime(2024, 1, 1, 12)]),
)
# any TOML-ish value, nested tables and arrays included
JUNK = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(TOP_KEYS + ["bus", "data_mb", "kind",
                                                                                    "at_s", "min_kv", "mbps"]),
                                                           st.text(max_size=6)), inner, max_size=4)),
    max_leaves=8)


def numbers(lo, hi, integer=False):
    """Numbers for a numeric key: mostly plausible, often extreme, sometimes junk."""
    plausible = st.integers(int(lo), int(hi)) if integer else st.floats(lo, hi)
    extreme = st.sampled_from(HUGE_INTS) if integer else st.one_of(st.sampled_from(ODD_FLOATS),
                                                                    st.sampled_from(HUGE_INTS))
    return st.one_of(plausible, plausible, extreme, SCALARS)


# per key: values that are often valid, so loading succeeds and planning is reached
VALUES = {
    "seed": numbers(1, 2**31 - 1, integer=True),
    # huge K (1e9 and above) must be planned in O(1) by model/queueing.py
    "queue_capacity": st.one_of(numbers(1, 200, integer=True), st.sampled_from([10**9, 10**9 + 7, 2**31 - 1])),
    "delay_bound_ms": numbers(1e-3, 1e4),
    "hop_bound": numbers(1, 20, integer=True),
    "yen_k": numbers(1, 20, integer=True),
    "t_wait_s": numbers(0.0, 10.0),
    "sampling_period_s": numbers(1e-3, 1e3),
    "mean_packet_bytes": numbers(31.0, 1e6),
    "propagation_speed_m_per_s": numbers(1.0, 3e8),
    "merge_transformers": st.one_of(st.booleans(), SCALARS),
    "algorithms": st.one_of(st.lists(st.sampled_from(["qtdr", "qos-r", "ra-dbmm"]), max_size=4),
                            st.sampled_from(["qtdr", "qos-r", "ra-dbmm"]), JUNK),
    "grid": st.one_of(st.just("case14"), st.just("case14"), TEXT, SCALARS),
}


def bus_values():
    return st.one_of(st.sampled_from(BUSES), st.sampled_from([str(b) for b in BUSES] + [" 3 ", "\u0663"]),
                     st.sampled_from([-1, 0, 15, 99, 2**63, 3.0, True]), SCALARS)


@st.composite
def terminal(draw):
    t = {"bus": draw(bus_values()), "data_mb": draw(numbers(1e-6, 1e3))}
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["drop", "extra", "junk"]))
        if op == "drop":
            t.pop(draw(st.sampled_from(["bus", "data_mb"])), None)
        elif op == "extra":
            t[draw(st.text(max_size=6))] = draw(JUNK)
        else:
            t[draw(st.sampled_from(["bus", "data_mb"]))] = draw(JUNK)
    return t if draw(st.integers(0, 9)) else draw(JUNK)


@st.composite
def fault(draw):
    kind = draw(st.one_of(st.sampled_from(["link_down", "tampered_block", "unregistered_key", "line_trip"]),
                          SCALARS))
    f = {"kind": kind}
    # case14's lines, so a link_down is often valid
    a, b = draw(st.sampled_from(LINKS + [(1, 14), (0, 1)]))
    for key, value in (("at_s", numbers(0.0, 10.0)), ("a_bus", st.one_of(st.just(a), bus_values())),
                       ("b_bus", st.one_of(st.just(b), bus_values())), ("bus", bus_values()),
                       ("line", st.one_of(st.integers(0, 25), st.sampled_from(HUGE_INTS), SCALARS)),
                       ("until_s", numbers(0.0, 20.0))):
        if draw(st.booleans()):
            f[key] = draw(value)
    if draw(st.integers(0, 5)) == 0:
        f[draw(st.text(max_size=6))] = draw(JUNK)
    return f if draw(st.integers(0, 9)) else draw(JUNK)


@st.composite
def bandwidth(draw):
    bw = {}
    if draw(st.booleans()):
        bw["default_mbps"] = draw(numbers(1e-3, 1e6))
    if draw(st.booleans()):
        bw["classes"] = draw(st.one_of(
            st.lists(st.fixed_dictionaries({"min_kv": numbers(0.0, 500.0), "mbps": numbers(1e-3, 1e6)}),
                     max_size=3),
            JUNK))
    if draw(st.integers(0, 5)) == 0:
        bw[draw(st.text(max_size=6))] = draw(JUNK)
    return bw if draw(st.integers(0, 9)) else draw(JUNK)


@st.composite
def datacheck(draw):
    dc = {}
    if draw(st.booleans()):
        dc["enabled"] = draw(st.one_of(st.booleans(), SCALARS))
    if draw(st.booleans()):
        dc["tolerance"] = draw(numbers(1e-6, 1.0))
    return dc if draw(st.integers(0, 9)) else draw(JUNK)


@st.composite
def documents(draw):
    """ieee14.toml's content with 1-6 random changes."""
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["set", "set", "set", "junk", "delete", "unknown", "terminals", "terminal",
                                   "faults", "bandwidth", "datacheck"]))
        if op == "set":
            key = draw(st.sampled_from(sorted(VALUES)))
            doc[key] = draw(VALUES[key])
        elif op == "junk":
            doc[draw(st.sampled_from(TOP_KEYS))] = draw(JUNK)
        elif op == "delete":
            doc.pop(draw(st.sampled_from(TOP_KEYS)), None)
        elif op == "unknown":
            doc[draw(st.text(max_size=10))] = draw(JUNK)
        elif op == "terminals":
            doc["terminals"] = draw(st.lists(terminal(), max_size=5))
        elif op == "terminal" and isinstance(doc.get("terminals"), list) and doc["terminals"]:
            i = draw(st.integers(0, len(doc["terminals"]) - 1))
            doc["terminals"][i] = draw(terminal())
        elif op == "faults":
            doc["faults"] = draw(st.lists(fault(), max_size=4))
        elif op == "bandwidth":
            doc["bandwidth"] = draw(bandwidth())
        elif op == "datacheck":
            doc["datacheck"] = draw(datacheck())
    return doc


# well-typed documents: every value has the right type and is in range, but
# spans the extremes (so the loader accepts most and planning is exercised)
POS_FLOATS = st.one_of(st.floats(min_value=5e-324, max_value=1.7976931348623157e308),
                       st.sampled_from([5e-324, 1e-300, 1e-9, 1e-3, 1.0, 1e9, 1e300, 1.7976931348623157e308]))
POS_INTS = st.one_of(st.integers(1, 30), st.sampled_from([1, 2, 10**6, 10**9, 2**31 - 1, 2**53, 2**63 - 1]))
TYPED = {
    "seed": st.integers(1, 2**31 - 1),
    "queue_capacity": POS_INTS,
    "delay_bound_ms": POS_FLOATS,
    "hop_bound": st.one_of(st.integers(1, 20), st.sampled_from([1, 13, 14, 30, 10**6, 2**63 - 1])),
    "yen_k": st.one_of(st.integers(1, 8), st.sampled_from([50, 200, 1001, 2**62])),
    "t_wait_s": st.one_of(st.just(0.0), POS_FLOATS),
    "sampling_period_s": POS_FLOATS,
    "mean_packet_bytes": st.one_of(st.floats(min_value=30.000001, max_value=1.7e308),
                                   st.sampled_from([30.000001, 40.0, 1500.0, 1e9, 1e300])),
    "propagation_speed_m_per_s": POS_FLOATS,
    "merge_transformers": st.booleans(),
    "algorithms": st.lists(st.sampled_from(["qtdr", "qos-r", "ra-dbmm"]), min_size=1, max_size=3, unique=True),
    "terminals": st.lists(st.sampled_from(BUSES), min_size=1, max_size=4, unique=True).flatmap(
        lambda buses: st.tuples(*[st.fixed_dictionaries({"bus": st.just(b), "data_mb": POS_FLOATS})
                                  for b in buses]).map(list)),
    "bandwidth": st.fixed_dictionaries({}, optional={
        "default_mbps": POS_FLOATS,
        "classes": st.lists(st.fixed_dictionaries({"min_kv": st.one_of(st.just(0.0), POS_FLOATS),
                                                   "mbps": POS_FLOATS}), max_size=3)}),
    "datacheck": st.fixed_dictionaries({}, optional={"enabled": st.booleans(), "tolerance": POS_FLOATS}),
    "faults": st.lists(st.one_of(
        st.fixed_dictionaries({"kind": st.just("link_down"), "at_s": st.one_of(st.just(0.0), POS_FLOATS),
                               "ab": st.sampled_from(LINKS)}).map(
            lambda f: {"kind": f["kind"], "at_s": f["at_s"], "a_bus": f["ab"][0], "b_bus": f["ab"][1]}),
        st.fixed_dictionaries({"kind": st.just("line_trip"), "at_s": st.one_of(st.just(0.0), POS_FLOATS),
                               "line": st.integers(0, 19)}, optional={"until_s": POS_FLOATS}),
        st.fixed_dictionaries({"kind": st.sampled_from(["tampered_block", "unregistered_key"]),
                               "bus": st.sampled_from(BUSES)},
                              optional={"at_s": st.one_of(st.just(0.0), POS_FLOATS)})), max_size=3),
}


@st.composite
def typed_documents(draw):
    """ieee14.toml with 1-6 keys set to well-typed, in-range, often extreme values."""
    doc = copy.deepcopy(BASE)
    for key in draw(st.lists(st.sampled_from(sorted(TYPED)), min_size=1, max_size=6, unique=True)):
        doc[key] = draw(TYPED[key])
    return doc


# --------------------------------------------------------------------------- found and fixed

#: Loader and planner failures these fuzz tests found, now fixed:
#: ``(id, changes to ieee14.toml, field the ScenarioError names or None if it must plan, what was wrong)``.
FIXED_BUGS = [
    ("L1-int-too-large-data_mb", {"terminals": [{"bus": 2, "data_mb": 10**400}]}, "terminals[0].data_mb",
     "math.isfinite() of an int beyond float range (TOML integers are unbounded) raised OverflowError"),
    ("L1-int-too-large-delay_bound", {"delay_bound_ms": 10**400}, "delay_bound_ms", "same, any numeric key"),
    ("L1-int-too-large-negative", {"t_wait_s": -(10**400)}, "t_wait_s", "same, negative"),
    ("L3-hop-bound-huge", {"hop_bound": 2**63 - 1}, None,
     "hop_bound was an array dimension of the k-shortest pass (2**63-1: ValueError); a loopless path "
     "has at most n-1 links, so the routing now uses min(hop_bound, n-1)"),
    ("L4-yen-k-huge", {"yen_k": 2**62}, "yen_k", "yen_k is an array dimension (1e6: MemoryError)"),
    ("L5-bandwidth-1e300", {"bandwidth": {"default_mbps": 1e300}}, "bandwidth.default_mbps",
     "Load_B's squares overflowed (OverflowError)"),
    ("L5-bandwidth-class-1e300", {"bandwidth": {"default_mbps": 100.0,
                                                "classes": [{"min_kv": 0.0, "mbps": 1e300}]}},
     "bandwidth.classes[0].mbps", "same through a voltage class"),
    ("L5-bandwidth-float-max", {"bandwidth": {"default_mbps": 1.7e308}}, "bandwidth.default_mbps",
     "service rate overflowed to inf (ValueError in queueing)"),
    ("L7-service-rate-underflow", {"mean_packet_bytes": 1.7e308, "algorithms": ["qos-r"]}, "mean_packet_bytes",
     "8 * mean_packet_bytes overflowed: service rate 0, ValueError when summarising a QoS-R plan"),
    ("L7-tiny-bandwidth", {"bandwidth": {"default_mbps": 5e-324}, "mean_packet_bytes": 1e4,
                           "algorithms": ["qos-r"]}, "bandwidth.default_mbps", "same, from a denormal bandwidth"),
    ("L6-grid-Point", {"grid": "Point"}, "grid",
     "grid named any callable of pandapower.networks: Point() (shapely) is not a net (AttributeError)"),
    ("L6-grid-pp_elements", {"grid": "pp_elements"}, "grid", "pp_elements() returns a set (AttributeError)"),
]


@pytest.mark.parametrize("changes, field", [pytest.param(c, f, id=i) for i, c, f, _ in FIXED_BUGS])
def test_fixed_loader_bugs(changes, field):
    """Each input of FIXED_BUGS is refused with a ScenarioError naming its field, or plans."""
    doc = {**copy.deepcopy(BASE), **changes}
    if field is None:
        assert load_and_plan(doc) == "planned"
        return
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(doc, base_dir=SCENARIOS)
    assert str(exc.value).startswith(f"{field}: ")
    assert "\n" not in str(exc.value)


def test_huge_hop_bound_is_the_loopless_bound():
    """hop_bound beyond n-1 plans exactly as hop_bound = n-1 (a loopless path has at most n-1 links)."""
    n = scenario_from_dict(copy.deepcopy(BASE), base_dir=SCENARIOS).network.n_nodes
    a = plan(scenario_from_dict({**copy.deepcopy(BASE), "hop_bound": 10**12}, base_dir=SCENARIOS))
    b = plan(scenario_from_dict({**copy.deepcopy(BASE), "hop_bound": n - 1}, base_dir=SCENARIOS))
    for alg in a.algorithms:
        assert a.algorithms[alg].load_balance == b.algorithms[alg].load_balance
        assert a.algorithms[alg].paths == b.algorithms[alg].paths


# --------------------------------------------------------------------------- the property


def load_and_plan(doc):
    """Load ``doc`` and plan it; returns what happened. Only the contract's errors may escape."""
    try:
        sc = scenario_from_dict(doc, base_dir=SCENARIOS)
    except ScenarioError as exc:
        assert str(exc), "a ScenarioError must say what is wrong"
        return "rejected"
    try:
        p = plan(sc)
    except NoFeasiblePath as exc:
        assert isinstance(exc, CppsError)
        return "infeasible"
    except ScenarioError:
        return "plan rejected"
    assert set(p.algorithms) == set(sc.algorithms)
    return "planned"


@settings(SETTINGS, max_examples=150)
@given(doc=documents())
@example(doc=BASE)
@example(doc={**BASE, "queue_capacity": 10**9})  # planned in O(1) since queueing's closed forms
@example(doc={**BASE, "queue_capacity": 2**53 + 1})  # was a ValueError from queueing; now rejected at load
def test_fuzz_scenario_documents(doc):
    event(load_and_plan(doc))


@settings(SETTINGS, max_examples=120)
@given(doc=typed_documents())
def test_fuzz_scenario_extreme_values(doc):
    """Right types, extreme values: mostly loaded, so the planner is fuzzed too."""
    event(load_and_plan(doc))


@SETTINGS
@given(doc=st.one_of(JUNK, st.dictionaries(st.sampled_from(TOP_KEYS), JUNK, max_size=6)))
def test_fuzz_scenario_random_tables(doc):
    """Documents that are not ieee14 at all (and may not even be tables)."""
    event(load_and_plan(doc))


def test_base_document_plans():
    assert load_and_plan(copy.deepcopy(BASE)) == "planned"
