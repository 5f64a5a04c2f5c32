"""The CMake-built library of the package's C++ against the cppyy JIT (issues 9, 16).

Each path runs in its own interpreter (``CPPSNS3_NATIVE=lib`` / ``jit``): a
process decides once which of the two it uses.  Same seed, same numbers, to
the last bit.  The library comes from ``pip install .`` (CMake through
scikit-build-core installs it into ``cppsns3/ns3/_native/``; the test
command installs the package first) or from ``scripts/build_native.sh`` in a
checkout; without a matching one these tests fail and name the stale files.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cppsns3.ns3 import native

ROOT = Path(__file__).resolve().parent.parent

MM1K = """
import json
import sys
from cppsns3.ns3 import native
from cppsns3.sim.mm1k import MM1KConfig, run_mm1k
r = run_mm1k(MM1KConfig(rho=0.9, capacity=4, packets=20000, seed=7))
timing = r.pop("timing")
print(json.dumps({"lib": native.decision() is not None, "ctypes": timing["native_library"],
                  "cppyy": "cppyy" in sys.modules, "result": r}, sort_keys=True))
"""

VALIDATE = """
import json
from cppsns3.model.routing import plan
from cppsns3.model.scenario import load_scenario
from cppsns3.ns3 import native
from cppsns3.sim.spec import build_spec, traffic_scale
from cppsns3.sim.export import write_reference_description
from cppsns3.sim.validate import run_validate
sc = load_scenario(%r)
ap = plan(sc, "qtdr").algorithms["qtdr"]
spec = build_spec(sc, sc.network, ap, mode="validate", seed=5, replication=1,
                  scale=traffic_scale([ap], 0.8), duration_s=0.004, warmup_s=0.0004)
write_reference_description(spec, %r)
r = run_validate(spec)
for k in ("build_wall_s", "sim_wall_s"):
    r.pop(k)
r["ports"] = {str(k): v for k, v in r["ports"].items()}  # (node, device) keys
print(json.dumps({"lib": native.decision() is not None, "result": r}, sort_keys=True))
"""


def _run(code: str, mode: str) -> dict:
    env = dict(os.environ, CPPSNS3_NATIVE=mode)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"CPPSNS3_NATIVE={mode} run failed:\n{proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def native_library():
    """The built library; skip (cmake absent) or fail (cmake present, no matching build)."""
    from cppsns3.ns3 import loader, native

    found, reasons = native.find(loader.SOURCES, loader.SOURCE_DIR)
    if found is None:
        pytest.fail("no native library matching the sources (" + "; ".join(reasons) + "): "
                    "install the package with pip (python -m pip install .), which builds it, "
                    "or run scripts/build_native.sh in the checkout")
    return found


def test_manifest_lists_exactly_the_jit_sources(native_library):
    from cppsns3.ns3 import loader

    assert set(native_library.manifest["sources"]) == set(loader.SOURCES)
    assert native_library.manifest["ns3_wheel_version"] == importlib.metadata.version("ns3")


def test_mm1k_library_equals_jit(native_library):
    """The library through ctypes (no cppyy started) and the JIT through cppyy: same numbers."""
    lib = _run(MM1K, "lib")
    jit = _run(MM1K, "jit")
    assert lib["lib"] is True and jit["lib"] is False
    assert lib["ctypes"] is True and lib["cppyy"] is False
    assert jit["ctypes"] is False and jit["cppyy"] is True
    assert lib["result"] == jit["result"]
    assert lib["result"]["counts"]["dropped"] > 0


def test_library_is_found_where_pip_installs_it(native_library):
    """Every installed cppsns3 distribution that lists the library is a candidate, before build/."""
    from cppsns3.ns3 import native

    cands = native.candidates()
    for lib in native.installed_libraries():
        assert lib in cands
        assert cands.index(lib) < len(cands) - len(native.BUILD_DIRS)
    if native_library.path.parent.name == "_native":
        assert native_library.path.parent.parent.name == "ns3"
        assert (native_library.path.parent / native.MANIFEST_NAME).is_file()


def test_mm1k_program_runs_the_same_experiment(native_library):
    """cppsns3-mm1k (the experiment in C++): same events and packets, same figures to 1e-9."""
    exe = native.reference_program(native_library, name="cppsns3-mm1k")
    if exe is None:
        pytest.fail("cppsns3-mm1k is missing beside the library and in build/release: "
                    "reinstall with pip or run scripts/build_native.sh")
    args = ["--rho", "0.9", "--capacity", "4", "--packets", "20000", "--seed", "7"]
    cpp = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=600)
    assert cpp.returncode == 0, cpp.stderr[-2000:]
    py = subprocess.run([sys.executable, "-m", "cppsns3", "mm1k", *args, "--json"], cwd=ROOT,
                        capture_output=True, text=True, timeout=600, env=dict(os.environ, CPPSNS3_NATIVE="lib"))
    assert py.returncode == 0, py.stderr[-2000:]
    a, b = json.loads(py.stdout), json.loads(cpp.stdout)
    assert a["counts"] == b["counts"]
    assert f"ns-3 run: {b['timing']['events']} events" in py.stderr
    for key, value in a["measured"].items():
        assert value == pytest.approx(b["measured"][key], rel=1e-9, abs=1e-15), key
    for key, value in a["analytic"].items():
        assert value == pytest.approx(b["analytic"][key], rel=1e-9), key


@pytest.fixture(scope="module")
def validate_runs(native_library, tmp_path_factory):
    """The small ieee14 validation run on both paths, and its exported description."""
    desc = tmp_path_factory.mktemp("native") / "description.txt"
    code = VALIDATE % (str(ROOT / "scenarios" / "ieee14.toml"), str(desc))
    return _run(code, "lib"), _run(code, "jit"), desc


def test_validate_run_library_equals_jit(validate_runs):
    lib, jit, _ = validate_runs
    assert lib["lib"] is True and jit["lib"] is False
    assert lib["result"]["events"] > 0
    assert lib["result"] == jit["result"]


def test_reference_program_runs_the_same_simulation(validate_runs):
    """The pure C++ program, from the exported description: same events, same packets."""
    lib, _, desc = validate_runs
    exe = native.reference_program()
    if exe is None:
        pytest.fail("cppsns3-reference is missing beside the library and in build/release: "
                    "reinstall with pip or run scripts/build_native.sh")
    proc = subprocess.run([str(exe), str(desc)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ref = json.loads(proc.stdout)
    flows = lib["result"]["flows"]
    assert ref["events"] == lib["result"]["events"]
    assert ref["sent"] == sum(f["sent_packets"] for f in flows)
    assert ref["received"] == sum(f["received_packets"] for f in flows)
    assert ref["abandoned"] == sum(f["abandoned_packets"] for f in flows)
    assert ref["queue_drops"] == sum(f["queue_drops"] for f in flows)
    ports = lib["result"]["ports"].values()
    assert ref["port_offered"] == sum(p["offered_packets"] for p in ports)
    assert ref["port_dropped"] == sum(p["dropped_packets"] for p in ports)


def test_description_lists_links_flows_and_routes():
    from cppsns3.model.routing import plan
    from cppsns3.model.scenario import load_scenario
    from cppsns3.sim.export import reference_description
    from cppsns3.sim.spec import build_spec

    sc = load_scenario(ROOT / "scenarios" / "ieee14.toml")
    ap = plan(sc, "qtdr").algorithms["qtdr"]
    spec = build_spec(sc, sc.network, ap, mode="validate", seed=9, replication=2, duration_s=0.01,
                      warmup_s=0.001)
    text = reference_description(spec)
    lines = text.splitlines()
    assert lines[0] == "cppsns3-reference 1" and lines[-1] == "end"
    rec = {}
    for line in lines[1:-1]:
        rec.setdefault(line.split()[0], []).append(line.split()[1:])
    assert rec["seed"] == [["9"]] and rec["run"] == [["3"]]
    assert len(rec["link"]) == len(spec.links) and len(rec["flow"]) == len(spec.flows)
    assert len(rec["route"]) == len(spec.routes)
    for f, row in zip(spec.flows, rec["flow"]):
        assert float(row[3]) == f.rate_per_s  # repr round-trips exactly
    for ((s, d), path), row in zip(spec.routes.items(), rec["route"]):
        assert [int(x) for x in row] == [s, d, len(path), *path]
    with pytest.raises(ValueError, match="duration_s"):
        reference_description(build_spec(sc, sc.network, ap, mode="validate", seed=1, replication=0))


def test_stale_library_falls_back_to_the_jit_once(tmp_path, native_library):
    """A copy whose manifest disagrees with the sources is refused, with one message."""
    lib = tmp_path / native_library.path.name
    shutil.copy(native_library.path, lib)
    manifest = dict(native_library.manifest)
    manifest["sources"] = dict(manifest["sources"], **{"port-queue.cc": "0" * 64})
    (tmp_path / "cppsns3-native.json").write_text(json.dumps(manifest))
    code = ("from cppsns3.ns3 import native, loader\n"
            "native.BUILD_DIRS = ()\n"
            "loader.load_sources(); loader.load_sources()\n"
            "print(native.decision() is None)\n")
    env = dict(os.environ, CPPSNS3_NATIVE="auto", CPPSNS3_NATIVE_LIB=str(lib))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "True"
    said = [line for line in proc.stderr.splitlines() if "JIT-compiling" in line]
    assert len(said) == 1 and "port-queue.cc changed" in said[0]


def test_lib_mode_without_library_is_an_error(tmp_path):
    code = ("from cppsns3.ns3 import native, loader\n"
            "native.BUILD_DIRS = ()\n"
            "loader.load_sources()\n")
    env = dict(os.environ, CPPSNS3_NATIVE="lib", CPPSNS3_NATIVE_LIB=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode != 0
    assert "CPPSNS3_NATIVE=lib but no usable native library" in proc.stderr


def test_bad_mode_names_the_variable(monkeypatch):
    from cppsns3.errors import Ns3LoadError
    from cppsns3.ns3 import native

    monkeypatch.setenv("CPPSNS3_NATIVE", "fast")
    with pytest.raises(Ns3LoadError, match="CPPSNS3_NATIVE must be one of auto, lib, jit, got 'fast'"):
        native.mode()
