"""Sweep files: TOML, loaded and validated up front; the run plan and its seeds.

A sweep file names a base scenario, the parameters held fixed, the parameters
to vary and the number of replications::

    scenario = "single-link"        # built-in, or a scenario TOML path (relative to this file)
    replications = 5                # runs per parameter point, >= 1
    seed = 1                        # base seed, int >= 0

    [fixed]                         # optional: parameters of every run
    packets = 20000

    [vary]                          # lists, or ranges {start, stop, step} / {start, stop, num}
    rho = [0.5, 0.7, 0.9]
    queue_capacity = [5, 10, 50]

The runs are the Cartesian product of the ``[vary]`` lists (in file order)
times the replications.  Each run's seed is derived from the base seed, the
scenario, the full parameters of the run and the replication index (SHA-256 of
their canonical JSON), so it does not depend on the order, the worker count or
the machine that runs it.

Every error is a :class:`~cppsns3.errors.ScenarioError` naming the field and
the value.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

from cppsns3.errors import ScenarioError

__all__ = [
    "SweepSpec",
    "RunTask",
    "load_sweep",
    "sweep_from_dict",
    "plan_runs",
    "derive_seed",
    "run_key",
    "canonical_json",
    "MAX_RUNS",
]

#: Largest number of runs one sweep file may describe (guards against typos in ranges).
MAX_RUNS = 1_000_000
#: Seeds are drawn in [1, SEED_LIMIT) (ns-3 wants a seed >= 1 below 2**32).
SEED_LIMIT = 2**31 - 1

_TOP_KEYS = ("scenario", "replications", "seed", "fixed", "vary")


def canonical_json(obj) -> str:
    """Canonical JSON text of ``obj``: sorted keys, no spaces, exact float repr.

    Integral floats stay floats (``1.0`` and ``1`` give different text), so a
    parameter written as ``0.5`` or ``5`` keeps its identity.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def derive_seed(base_seed: int, scenario: str, params: dict, replication: int) -> int:
    """Seed of one run, in ``[1, 2**31 - 1)``.

    Parameters
    ----------
    base_seed : int
        The sweep file's ``seed``.
    scenario : str
        Scenario identity (``"single-link"`` or the scenario file's name).
    params : dict
        Every parameter of the run (fixed and varied).
    replication : int
        Replication index, from 0.

    Returns
    -------
    int
        ``1 + (first 8 bytes of SHA-256 of the canonical JSON) mod (2**31 - 2)``.
    """
    text = canonical_json({"base_seed": int(base_seed), "scenario": scenario,
                           "params": params, "replication": int(replication)})
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % (SEED_LIMIT - 1)


def run_key(params: dict, seed: int) -> str:
    """Resume key of a run: 16 hex digits of SHA-256 over its parameters and seed."""
    text = canonical_json({"params": params, "seed": int(seed)})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RunTask:
    """One run: what a worker needs to execute it (picklable, no ns-3 objects).

    Attributes
    ----------
    key : str
        Resume key (:func:`run_key`).
    index : int
        Position in the plan (rows are written in this order).
    scenario : str
        ``"single-link"`` or the absolute path of the scenario TOML.
    params : dict
        Every parameter of the run (defaults, ``[fixed]`` and ``[vary]`` merged).
    varied : tuple of str
        Names of the varied parameters.
    replication : int
        Replication index, from 0.
    seed : int
        ns-3 seed of the run.
    """

    key: str
    index: int
    scenario: str
    params: dict
    varied: tuple
    replication: int
    seed: int

    @property
    def label(self) -> str:
        """Short text naming the run in messages."""
        pts = " ".join(f"{k}={self.params[k]}" for k in self.varied)
        return f"run {self.index} ({pts} replication={self.replication} seed={self.seed})"


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file (see the module docstring).

    Attributes
    ----------
    scenario : str
        ``"single-link"`` or the absolute path of a scenario TOML.
    scenario_name : str
        ``"single-link"`` or the scenario file's name (enters the seeds, so a
        sweep gives the same seeds wherever its folder lives).
    replications : int
    seed : int
    fixed : dict
        Parameters of every run, as written.
    vary : dict
        Parameter name -> tuple of values, in file order.
    defaults : dict
        Every parameter of the scenario with its default.
    source : str or None
        The sweep file it came from.
    """

    scenario: str
    scenario_name: str
    replications: int
    seed: int
    fixed: dict
    vary: dict
    defaults: dict = field(default_factory=dict)
    source: str | None = None

    @property
    def n_points(self) -> int:
        """Number of parameter points (product of the ``[vary]`` list lengths)."""
        return math.prod(len(v) for v in self.vary.values())

    @property
    def n_runs(self) -> int:
        """Number of runs: points times replications."""
        return self.n_points * self.replications

    def to_json_dict(self) -> dict:
        """Plain JSON form (written to ``DIR/sweep.json``)."""
        return {"scenario": self.scenario_name, "replications": self.replications, "seed": self.seed,
                "fixed": dict(self.fixed), "vary": {k: list(v) for k, v in self.vary.items()},
                "n_runs": self.n_runs}


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x) -> bool:
    return (_is_int(x) or isinstance(x, float)) and math.isfinite(x)


def _expand_range(name: str, r: dict) -> list:
    where = f"vary.{name}"
    unknown = sorted(set(r) - {"start", "stop", "step", "num"})
    if unknown:
        raise ScenarioError(f"{where}: unknown range key {unknown[0]!r} (use start, stop and step or num)")
    for k in ("start", "stop"):
        if k not in r:
            raise ScenarioError(f"{where}: a range needs {k!r}, got {r!r}")
        if not _is_number(r[k]):
            raise ScenarioError(f"{where}.{k}: must be a finite number, got {r[k]!r}")
    if ("step" in r) == ("num" in r):
        raise ScenarioError(f"{where}: a range needs exactly one of 'step' or 'num', got {r!r}")
    start, stop = r["start"], r["stop"]
    if "num" in r:
        num = r["num"]
        if not _is_int(num) or num < 1 or num > MAX_RUNS:
            raise ScenarioError(f"{where}.num: must be an integer in [1, {MAX_RUNS}], got {num!r}")
        if num == 1:
            return [start]
        if _is_int(start) and _is_int(stop) and (stop - start) % (num - 1) == 0:
            return [start + i * ((stop - start) // (num - 1)) for i in range(num)]
        return [float(start + (stop - start) * i / (num - 1)) for i in range(num)]
    step = r["step"]
    if not _is_number(step) or step == 0 or (stop - start) * step < 0:
        raise ScenarioError(f"{where}.step: must be a non-zero number towards stop, got {step!r}")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    if n > MAX_RUNS:
        raise ScenarioError(f"{where}: range has {n} values, more than {MAX_RUNS}")
    if _is_int(start) and _is_int(step):
        return [start + i * step for i in range(n)]
    # Rounded to 12 significant digits, so 0.1 + 2 * 0.1 is written 0.3.
    return [float(f"{start + i * step:.12g}") for i in range(n)]


def sweep_from_dict(data: dict, base_dir: str | Path | None = None, source: str | None = None) -> SweepSpec:
    """Validate a parsed sweep file and return a :class:`SweepSpec`.

    Parameters
    ----------
    data : dict
        The parsed TOML.
    base_dir : str or Path, optional
        Folder that a relative ``scenario`` path resolves against (default: cwd).
    source : str, optional
        Name of the file, kept for messages.

    Raises
    ------
    ScenarioError
        If a key is unknown or missing, or a value is out of range; the
        message names the field and the value.
    """
    from cppsns3.sweep.scenarios import get_adapter

    if not isinstance(data, dict):
        raise ScenarioError(f"sweep: expected a table, got {type(data).__name__}")
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        raise ScenarioError(f"{unknown[0]}: unknown sweep key (allowed: {', '.join(_TOP_KEYS)})")
    if "scenario" not in data:
        raise ScenarioError("scenario: missing (a scenario TOML path or 'single-link')")
    scenario = data["scenario"]
    if not isinstance(scenario, str) or not scenario.strip():
        raise ScenarioError(f"scenario: must be a path or 'single-link', got {scenario!r}")
    if scenario == "single-link":
        scenario_path, scenario_name = "single-link", "single-link"
    else:
        p = Path(scenario)
        if not p.is_absolute():
            p = Path(base_dir or ".") / p
        if not p.is_file():
            raise ScenarioError(f"scenario: no such scenario file {scenario!r}")
        scenario_path, scenario_name = str(p.resolve()), p.name

    replications = data.get("replications", 1)
    if not _is_int(replications) or not 1 <= replications <= MAX_RUNS:
        raise ScenarioError(f"replications: must be an integer in [1, {MAX_RUNS}], got {replications!r}")
    seed = data.get("seed", 1)
    if not _is_int(seed) or not 0 <= seed < 2**63:
        raise ScenarioError(f"seed: must be an integer >= 0, got {seed!r}")

    adapter = get_adapter(scenario_path)
    defaults = adapter.defaults()
    fixed = data.get("fixed", {})
    if not isinstance(fixed, dict):
        raise ScenarioError(f"fixed: must be a table of parameter = value, got {fixed!r}")
    vary_in = data.get("vary", {})
    if not isinstance(vary_in, dict):
        raise ScenarioError(f"vary: must be a table of parameter = [values], got {vary_in!r}")

    for name, value in itertools.chain(fixed.items(), vary_in.items()):
        if name not in defaults:
            raise ScenarioError(
                f"{name}: unknown parameter of scenario {scenario_name!r} "
                f"(known: {', '.join(sorted(defaults))}), got {value!r}")
    both = sorted(set(fixed) & set(vary_in))
    if both:
        raise ScenarioError(f"{both[0]}: given in both [fixed] and [vary]")

    vary: dict[str, tuple] = {}
    for name, values in vary_in.items():
        if isinstance(values, dict):
            values = _expand_range(name, values)
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"vary.{name}: must be a non-empty list or a range table, got {values!r}")
        if len({canonical_json(v) for v in values}) != len(values):
            raise ScenarioError(f"vary.{name}: repeated value in {values!r}")
        for v in values:
            adapter.check_param(name, v, where=f"vary.{name}")
        vary[name] = tuple(values)
    for name, v in fixed.items():
        adapter.check_param(name, v, where=f"fixed.{name}")

    spec = SweepSpec(scenario=scenario_path, scenario_name=scenario_name, replications=replications,
                     seed=seed, fixed=dict(fixed), vary=vary, defaults=defaults, source=source)
    if spec.n_runs > MAX_RUNS:
        raise ScenarioError(f"vary: {spec.n_runs} runs, more than {MAX_RUNS}")
    # Cross-parameter checks on every point (cheap: pure Python).
    for task in plan_runs(spec, replications=1):
        adapter.check_point(task.params)
    return spec


def load_sweep(path: str | Path) -> SweepSpec:
    """Load and validate a sweep TOML file.

    Raises
    ------
    ScenarioError
        If the file is missing, is not TOML, or has a bad key or value.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"sweep file: no such file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"sweep file: cannot read {str(path)!r}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"sweep file: {str(path)!r} is not valid TOML: {exc}") from None
    return sweep_from_dict(data, base_dir=p.parent, source=str(path))


def plan_runs(spec: SweepSpec, replications: int | None = None) -> list[RunTask]:
    """Every run of the sweep, in plan order (points in file order, then replications).

    Parameters
    ----------
    spec : SweepSpec
    replications : int, optional
        Override of ``spec.replications`` (used for validation passes).
    """
    reps = spec.replications if replications is None else replications
    names = tuple(spec.vary)
    tasks = []
    for combo in itertools.product(*(spec.vary[n] for n in names)):
        params = dict(spec.defaults)
        params.update(spec.fixed)
        params.update(zip(names, combo))
        for r in range(reps):
            seed = derive_seed(spec.seed, spec.scenario_name, params, r)
            tasks.append(RunTask(key=run_key(params, seed), index=len(tasks), scenario=spec.scenario,
                                 params=params, varied=names, replication=r, seed=seed))
    return tasks
