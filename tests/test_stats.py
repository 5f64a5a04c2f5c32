"""cppsns3.model.stats without scipy: the t and Clopper-Pearson quantiles against scipy (issue 16)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import special, stats

from cppsns3.model import stats as st


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_t_quantile_matches_scipy(confidence):
    for df in [*range(1, 41), 49, 50, 63, 64, 99, 100, 101, 250, 5000]:
        ours = st.t_quantile(confidence, df)
        ref = stats.t.ppf(0.5 + confidence / 2, df)
        assert ours == pytest.approx(ref, rel=2e-13), (confidence, df)


def test_t_quantile_closed_forms_and_errors():
    assert st.t_quantile(0.5, 1) == pytest.approx(1.0, rel=1e-15)  # tan(pi/4)
    assert st.t_quantile(0.5, 2) == pytest.approx(math.sqrt(2 / 3), rel=1e-15)
    assert st.t_quantile(0.999999, 1) == pytest.approx(special.stdtrit(1, 0.9999995), rel=1e-9)
    with pytest.raises(ValueError, match="confidence"):
        st.t_quantile(1.0, 5)
    with pytest.raises(ValueError, match="df"):
        st.t_quantile(0.95, 0)
    with pytest.raises(ValueError, match="df"):
        st.t_quantile(0.95, 2.5)


def _scipy_cp(k, n, confidence):
    a = 1 - confidence
    lo = 0.0 if k == 0 else stats.beta.ppf(a / 2, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(1 - a / 2, k + 1, n - k)
    return lo, hi


def _cases():
    rng = np.random.default_rng(16)
    out = [(0, 1), (1, 1), (0, 10), (1, 10), (5, 10), (9, 10), (10, 10), (3, 1000), (999, 1000),
           (7350, 60000), (74000, 588000), (1, 2**32 - 1), (0, 2**32 - 1), (12345, 2**31)]
    for hi in (60, 10**4, 10**6):
        for n in rng.integers(1, hi, 25):
            out.append((int(rng.integers(0, n + 1)), int(n)))
    return out


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_clopper_pearson_matches_scipy(confidence):
    for k, n in _cases():
        lo, hi = st.clopper_pearson(k, n, confidence)
        slo, shi = _scipy_cp(k, n, confidence)
        assert lo == pytest.approx(slo, rel=1e-12, abs=1e-300), (k, n)
        assert hi == pytest.approx(shi, rel=1e-12), (k, n)
        # The half-width is a difference: near p = 1 the last bits of the bounds
        # (spacing 1.1e-16 there) dominate, hence the absolute tolerance.
        hw = st.binomial_half_width(k, n, confidence)
        assert hw == pytest.approx(max(k / n - slo, shi - k / n), rel=1e-12, abs=1e-15), (k, n)


def test_clopper_pearson_errors_and_edges():
    assert st.binomial_half_width(0, 0) != st.binomial_half_width(0, 0)  # nan
    assert st.clopper_pearson(0, 7)[0] == 0.0 and st.clopper_pearson(7, 7)[1] == 1.0
    with pytest.raises(ValueError, match="successes"):
        st.clopper_pearson(8, 7)
    with pytest.raises(ValueError, match="confidence"):
        st.clopper_pearson(1, 7, 0.0)


def test_batch_means_half_width_is_the_t_interval():
    x = np.random.default_rng(3).normal(size=4000)
    mean, hw = st.batch_means(x, 20)
    means = x.reshape(20, -1).mean(axis=1)
    assert mean == x.mean()
    assert hw == pytest.approx(stats.t.ppf(0.975, 19) * means.std(ddof=1) / math.sqrt(20), rel=1e-14)


def test_importing_stats_and_the_mm1k_run_does_not_import_scipy():
    code = ("import sys\n"
            "import cppsns3.model.stats, cppsns3.sim.mm1k\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'pandas', 'matplotlib', "
            "'sklearn', 'dask', 'pandapower', 'cppyy')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
