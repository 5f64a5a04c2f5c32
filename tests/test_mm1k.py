"""The single-link ns-3 experiment against Eq. 1 (issue 3).

Every comparison is seeded.  Nine (rho, K) cases are checked on two figures
each, so each interval is widened to a family-wise 95 % level (Bonferroni over
the 18 checks): a correct simulator fails this test with probability <= 5 %
for a random seed, not 1 - 0.95**18 = 60 %.
"""

import json
import math
import subprocess
import sys

import pytest
from scipy import stats

from cppsns3.model.queueing import mm1k_loss_probability
from cppsns3.sim.mm1k import MM1KConfig, run_mm1k

RHOS = (0.5, 0.9, 1.3)
CAPACITIES = (1, 5, 20)
PACKETS = 200_000
SEED = 7
N_CHECKS = 2 * len(RHOS) * len(CAPACITIES)
#: Scale from a 95 % half-width to a family-wise 95 % (Bonferroni) half-width.
FAMILY_SCALE = stats.norm.ppf(1 - 0.05 / (2 * N_CHECKS)) / stats.norm.ppf(0.975)
#: Little's law on the same run: time-average L vs lambda_eff * W.
LITTLE_REL_TOL = 0.03


@pytest.fixture(scope="module")
def runs():
    # A seed per case: with one seed the cases share their random numbers and
    # their errors move together, so the 18 checks would not be independent.
    cases = [(rho, k) for rho in RHOS for k in CAPACITIES]
    return {
        case: run_mm1k(MM1KConfig(rho=case[0], capacity=case[1], packets=PACKETS, seed=SEED + i))
        for i, case in enumerate(cases)
    }


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("k", CAPACITIES)
def test_theory_inside_ci(runs, rho, k):
    r = runs[(rho, k)]
    a, m = r["analytic"], r["measured"]
    assert abs(m["loss_probability"] - a["loss_probability"]) <= FAMILY_SCALE * m["loss_probability_ci95"]
    assert abs(m["mean_time_in_system_s"] - a["mean_time_in_system_s"]) <= (
        FAMILY_SCALE * m["mean_time_in_system_ci95_s"]
    )
    # The intervals are informative, not vacuous.
    assert m["mean_time_in_system_ci95_s"] < 0.05 * a["mean_time_in_system_s"]


def test_most_plain_95_intervals_cover(runs):
    covered = 0
    for r in runs.values():
        a, m = r["analytic"], r["measured"]
        covered += abs(m["loss_probability"] - a["loss_probability"]) <= m["loss_probability_ci95"]
        covered += abs(m["mean_time_in_system_s"] - a["mean_time_in_system_s"]) <= m["mean_time_in_system_ci95_s"]
    # Binomial(18, 0.95): P(covered < 14) < 1 %.
    assert covered >= 14


def test_sent_equals_received_plus_dropped(runs):
    for r in runs.values():
        c = r["counts"]
        assert c["sent"] == PACKETS
        assert c["sent"] == c["received"] + c["dropped"]


def test_littles_law(runs):
    for r in runs.values():
        m = r["measured"]
        lam_eff = r["arrival_rate_per_s"] * (1 - m["loss_probability"])
        assert m["mean_number_in_system"] == pytest.approx(lam_eff * m["mean_time_in_system_s"], rel=LITTLE_REL_TOL)


def test_capacity_mapping_is_k_not_k_plus_or_minus_one(runs):
    # The measured loss at K=5 must single out K=5 among K=4, 5, 6.
    for rho in RHOS:
        m = runs[(rho, 5)]["measured"]
        for other in (4, 6):
            assert abs(m["loss_probability"] - mm1k_loss_probability(rho, other)) > 3 * m["loss_probability_ci95"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "cppsns3", *args], capture_output=True, text=True, timeout=300)


def test_cli_json_reproducible_and_seed_sensitive():
    base = ["mm1k", "--rho", "0.9", "--capacity", "10", "--packets", "20000", "--json"]
    a = _cli(*base, "--seed", "3")
    b = _cli(*base, "--seed", "3")
    c = _cli(*base, "--seed", "4")
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    obj = json.loads(a.stdout)
    for key in ("rho", "capacity", "packets", "seed", "analytic", "measured"):
        assert key in obj
    for key in ("loss_probability", "loss_probability_ci95", "mean_time_in_system_s", "mean_time_in_system_ci95_s"):
        assert math.isfinite(obj["measured"][key])
    assert json.loads(c.stdout)["measured"] != obj["measured"]


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--rho", "-1"], "rho"),
        (["--capacity", "0"], "capacity"),
        (["--packets", "10"], "packets"),
        (["--seed", "0"], "seed"),
        (["--capacity", "x"], "--capacity"),
    ],
)
def test_cli_bad_arguments(args, fragment):
    p = _cli("mm1k", *args)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert p.stdout == ""
