"""Scenario adapters: what a sweep can vary and how one run is executed.

An adapter turns ``(params, seed)`` into one flat record of figures.  Its
:meth:`~ScenarioAdapter.run` is called in the run's own child process (it may
load ns-3); everything else runs in the sweep's parent process and must stay
pure Python.

Built-in: ``single-link`` (the M/M/1/K experiment of :mod:`cppsns3.sim.mm1k`).
A scenario TOML path gives the packet-level network validation run
(:class:`NetworkAdapter`).
"""

from __future__ import annotations

import math
from pathlib import Path

from cppsns3.errors import ScenarioError

__all__ = ["ScenarioAdapter", "SingleLinkAdapter", "NetworkAdapter", "get_adapter", "flatten"]


def flatten(record: dict, prefix: str = "") -> dict:
    """Flatten nested dicts into ``prefix_key`` columns; keep scalars only.

    Lists and other containers are dropped (a run row holds scalars).
    """
    out = {}
    for k, v in record.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, f"{name}_"))
        elif v is None or isinstance(v, (bool, int, float, str)):
            out[name] = v
        elif hasattr(v, "item"):  # numpy scalar
            out[name] = v.item()
    return out


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x) -> bool:
    return (_is_int(x) or isinstance(x, float)) and math.isfinite(x)


class ScenarioAdapter:
    """Base class of scenario adapters.

    Subclasses set :attr:`name` and :attr:`PARAMS` (parameter -> (default,
    kind)), where kind is ``"int"``, ``"number"``, ``"str"`` or ``"bus"`` (an
    integer bus name or ``"auto"``), and implement
    :meth:`run`.
    """

    name = "abstract"
    PARAMS: dict = {}

    def defaults(self) -> dict:
        """Every parameter with its default."""
        return {k: d for k, (d, _kind) in self.PARAMS.items()}

    def check_param(self, name: str, value, where: str | None = None) -> None:
        """Check the type of one parameter value.

        Raises
        ------
        ScenarioError
            Naming ``where`` (default: the parameter) and the value.
        """
        where = where or name
        if name not in self.PARAMS:
            raise ScenarioError(f"{where}: unknown parameter of scenario {self.name!r}, got {value!r}")
        kind = self.PARAMS[name][1]
        if kind == "int" and not _is_int(value):
            raise ScenarioError(f"{where}: must be an integer, got {value!r}")
        if kind == "number" and not _is_number(value):
            raise ScenarioError(f"{where}: must be a finite number, got {value!r}")
        if kind == "str" and not isinstance(value, str):
            raise ScenarioError(f"{where}: must be a string, got {value!r}")
        if kind == "bus" and not (_is_int(value) or value == "auto"):
            raise ScenarioError(f'{where}: must be a bus name (integer) or "auto", got {value!r}')

    def check_point(self, params: dict) -> None:
        """Check one full parameter set (ranges, cross-field rules).

        Raises
        ------
        ScenarioError
            Naming the field and the value.
        """

    def warmup(self) -> None:
        """Prepare a run server (load ns-3, compile); its state is what every run forks from."""

    def run(self, params: dict, seed: int) -> dict:
        """Execute one run in this (child) process and return a flat record.

        Raises
        ------
        SimulationError
            If the run fails.
        """
        raise NotImplementedError


class SingleLinkAdapter(ScenarioAdapter):
    """The built-in ``single-link`` scenario: one Poisson source, one M/M/1/K port.

    Parameters (default): ``rho`` (0.9), ``queue_capacity`` (10, K packets
    incl. the one being sent), ``packets`` (20000 offered), ``rate_mbps``
    (1000), ``mean_packet_bytes`` (5000), ``propagation_delay_s`` (0.001),
    ``warmup_fraction`` (0.02), ``batches`` (20, batch means per run).
    """

    name = "single-link"
    PARAMS = {
        "rho": (0.9, "number"),
        "queue_capacity": (10, "int"),
        "packets": (20000, "int"),
        "rate_mbps": (1000.0, "number"),
        "mean_packet_bytes": (5000.0, "number"),
        "propagation_delay_s": (1e-3, "number"),
        "warmup_fraction": (0.02, "number"),
        "batches": (20, "int"),
    }
    _CFG_NAMES = {"queue_capacity": "capacity", "propagation_delay_s": "delay_s", "rate_mbps": "rate_bps"}

    def _config(self, params: dict, seed: int):
        from cppsns3.sim.mm1k import MM1KConfig

        return MM1KConfig(rho=params["rho"], capacity=params["queue_capacity"], packets=params["packets"],
                          seed=seed, rate_bps=params["rate_mbps"] * 1e6,
                          mean_packet_bytes=params["mean_packet_bytes"],
                          delay_s=params["propagation_delay_s"],
                          warmup_fraction=params["warmup_fraction"], batches=params["batches"])

    def check_point(self, params: dict) -> None:
        from cppsns3.sim.mm1k import validate_config

        try:
            validate_config(self._config(params, 1))
        except ValueError as exc:
            # validate_config names its own field; map it back to the sweep's name.
            field, _, rest = str(exc).partition(" ")
            back = {v: k for k, v in self._CFG_NAMES.items()}
            name = back.get(field, field)
            if name == "rate_mbps":
                rest = f"must be >= 0.001, got {params['rate_mbps']!r}"
            raise ScenarioError(f"{name}: {rest}") from None

    def warmup(self) -> None:
        from cppsns3.sim.mm1k import MM1KConfig, run_mm1k

        # One short run compiles the C++ templates the runs use, once per server.
        run_mm1k(MM1KConfig(rho=0.5, capacity=5, packets=1000, seed=1))

    def run(self, params: dict, seed: int) -> dict:
        from cppsns3.sim.mm1k import run_mm1k

        r = run_mm1k(self._config(params, seed))
        row = {"arrival_rate_per_s": r["arrival_rate_per_s"], "service_rate_per_s": r["service_rate_per_s"]}
        row.update(flatten(r["analytic"], "analytic_"))
        row.update(flatten(r["measured"], "measured_"))
        c = r["counts"]
        row.update({"sent_packets": c["sent"], "received_packets": c["received"],
                    "dropped_packets": c["dropped"], "warmup_packets": c["warmup_packets"]})
        return row


class NetworkAdapter(ScenarioAdapter):
    """A scenario TOML: the packet-level validation run on one algorithm's paths.

    Parameters (default): ``rho`` (0.5, utilisation of the busiest port of the
    plan), ``queue_capacity`` and ``t_wait_s`` (the scenario's), ``algorithm``
    (``qtdr``), ``duration_s`` (0.05 simulated seconds) and ``warmup_fraction``
    (0.1) as ``cppsns3 run --mode validate``, ``path_src_bus`` and
    ``path_dst_bus`` (``"auto"``).  See :mod:`cppsns3.sweep.network` for the figures.
    """

    name = "network"

    def __init__(self, path: str):
        from cppsns3.sweep import network

        self.path = path
        self.name = Path(path).name
        self.PARAMS = dict(network.PARAMS)

    def defaults(self) -> dict:
        from cppsns3.sweep import network

        return network.defaults(self.path)

    def check_point(self, params: dict) -> None:
        from cppsns3.sweep import network

        network.check_point(self.path, params)

    def warmup(self) -> None:
        from cppsns3.sweep import network

        network.warmup(self.path)

    def run(self, params: dict, seed: int) -> dict:
        from cppsns3.sweep import network

        return network.run(self.path, params, seed)


_CACHE: dict = {}


def get_adapter(scenario: str) -> ScenarioAdapter:
    """The adapter of ``"single-link"`` or of a scenario TOML path (cached per process).

    Raises
    ------
    ScenarioError
        If the scenario file is invalid.
    """
    if scenario not in _CACHE:
        if scenario == "single-link":
            _CACHE[scenario] = SingleLinkAdapter()
        else:
            from cppsns3.model.scenario import load_scenario

            load_scenario(scenario)  # validates; raises ScenarioError naming the field
            _CACHE[scenario] = NetworkAdapter(scenario)
    return _CACHE[scenario]
