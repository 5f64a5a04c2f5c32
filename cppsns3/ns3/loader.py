"""Load exactly the ns-3 the package needs, fast and with the right ABI.

Why not ``from ns import ns``: it loads every module of the wheel and parses all
headers (about 10 s), searches the current directory recursively for
libraries, and parses the headers *without* the compile definitions the wheel's
libraries were built with, so some classes get a different layout in Python
than in the libraries (``CreateObject<UdpClient>`` then corrupts the heap).

This loader instead

1. locates the wheel through ``importlib`` (no directory scan);
2. loads only the ``libns3.44-*.so`` modules listed in :data:`NS3_MODULES`;
3. parses their ``*-module.h`` headers with the wheel's compile definitions
   (:data:`NS3_DEFINES`, read from the wheel's CMake package);
4. caches a precompiled header of all that (plus cppyy's standard headers) in
   the user's cache directory and hands it to Cling as its standard PCH, so a
   warm import skips header parsing altogether;
5. JIT-compiles the package's own C++ (``src/*.h``, ``src/*.cc``) once per
   process; loading it again is a no-op.  When the CMake-built library
   matches the sources (:mod:`cppsns3.ns3.native`, ``CPPSNS3_NATIVE``), it is
   loaded instead and only the headers are parsed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
import threading
from pathlib import Path

from cppsns3.errors import Ns3LoadError

__all__ = [
    "NS3_MODULES",
    "NS3_DEFINES",
    "wheel_prefix",
    "pch_path",
    "load",
    "load_sources",
    "SOURCE_DIR",
]

NS3_VERSION = "3.44"  # libraries are named libns3.44-MODULE.so

#: ns-3 modules the package uses; their dependencies load through RPATH.
NS3_MODULES = (
    "core",
    "network",
    "bridge",
    "traffic-control",
    "internet",
    "point-to-point",
    "applications",
    "stats",
    "flow-monitor",
)

#: Headers parsed (or precompiled) for the modules above.
NS3_HEADERS = (
    "ns3/core-module.h",
    "ns3/network-module.h",
    "ns3/internet-module.h",
    "ns3/point-to-point-module.h",
    "ns3/traffic-control-module.h",
    "ns3/applications-module.h",
    "ns3/flow-monitor-module.h",
)

#: Compile definitions of the wheel's libraries (its ns3Targets.cmake; core
#: adds the two Boost ones).  NS3_LOG_ENABLE changes class layouts.
NS3_DEFINES = (
    ("PROJECT_SOURCE_PATH", '"/gcl-builds"'),
    ("__LINUX__", "1"),
    ("NS3_BUILD_PROFILE_RELEASE", "1"),
    ("HAVE_SQLITE3", "1"),
    ("HAVE_LIBXML2", "1"),
    ("HAVE_GSL", "1"),
    ("NS3_LOG_ENABLE", "1"),
    ("NS3_ASSERT_ENABLE", "1"),
    ("HAVE_BOOST", "1"),
    ("HAVE_BOOST_UNITS", "1"),
)

SOURCE_DIR = Path(__file__).resolve().parent / "src"

#: The package's C++ in dependency order (each .h before its .cc).
SOURCES = (
    "cppsns3-common.h",
    "cppsns3-common.cc",
    "port-queue.h",
    "port-queue.cc",
    "port-monitor.h",
    "port-monitor.cc",
    "poisson-source.h",
    "poisson-source.cc",
    "delay-sink.h",
    "delay-sink.cc",
    "flow-routing.h",
    "flow-routing.cc",
    "hop-tools.h",
    "hop-tools.cc",
    "block-transfer.h",
    "block-transfer.cc",
    "port-trace.h",
    "port-trace.cc",
    "single-link.h",
    "single-link.cc",
)

_lock = threading.RLock()
_ns = None
_loaded_sources: set[str] = set()


def _log(msg: str) -> None:
    print(f"cppsns3: {msg}", file=sys.stderr)


def wheel_prefix() -> Path:
    """Directory of the ns3 wheel (holds ``include/`` and ``lib64/``).

    Raises
    ------
    Ns3LoadError
        If the ``ns3`` wheel is not installed.
    """
    try:
        dist = importlib.metadata.distribution("ns3")
    except importlib.metadata.PackageNotFoundError:
        raise Ns3LoadError(
            "ns3 wheel not found: install it with `pip install ns3==3.44.post0`"
        ) from None
    prefix = Path(dist.locate_file("ns3")).resolve()
    if not (prefix / "lib64" / f"libns{NS3_VERSION}-core.so").exists():
        raise Ns3LoadError(f"ns3 wheel at {prefix} has no libns{NS3_VERSION}-core.so")
    return prefix


def _cache_dir() -> Path:
    base = os.environ.get("CPPSNS3_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "cppsns3" if xdg else Path.home() / ".cache" / "cppsns3"


def _define_flags() -> list[str]:
    return [f"-D{k}={v}" for k, v in NS3_DEFINES]


def _cling_args() -> str:
    # Must match between PCH build and use; cppyy's default adds -march=native.
    return os.environ.get("EXTRA_CLING_ARGS", "-O2 -march=native")


def pch_path() -> Path:
    """Cache path of the precompiled header for this wheel, cppyy and flags."""
    import cppyy_backend  # light: does not start Cling

    prefix = wheel_prefix()
    key = hashlib.sha256(
        "\n".join(
            [
                str(prefix),
                str((prefix / "lib64" / f"libns{NS3_VERSION}-core.so").stat().st_mtime_ns),
                cppyy_backend.__version__,
                sys.version,
                _cling_args(),
                *NS3_HEADERS,
                *_define_flags(),
            ]
        ).encode()
    ).hexdigest()[:16]
    return _cache_dir() / f"ns3-{NS3_VERSION}-{key}.pch"


def _build_pch(target: Path) -> bool:
    """Build cppyy's standard PCH plus the ns-3 headers into ``target``."""
    import subprocess
    import tempfile

    import cppyy_backend

    backend = Path(cppyy_backend.__file__).resolve().parent
    rootcling = backend / "bin" / "rootcling"
    dictpch = backend / "etc" / "dictpch"
    if not rootcling.exists():
        return False
    cppflags = [
        line.strip()
        for line in (dictpch / "allCppflags.txt").read_text().splitlines()
        if line.strip() and line.strip() not in ("-fno-plt", "-isystem")
    ]
    include = wheel_prefix() / "include"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        extra = Path(tmp) / "cppsns3_ns3_pch.h"
        extra.write_text("".join(f'#include "{h}"\n' for h in NS3_HEADERS))
        out = Path(tmp) / "allDict.cxx"
        cmd = [
            str(rootcling),
            "-generate-pch",
            "-f",
            str(out),
            "-noDictSelection",
            "-D__CLING__",
            "-DROOT_PCH",
            f"-I{backend / 'include'}",
            f"-I{backend / 'etc'}",
            f"-I{dictpch}",
            f"-I{backend / 'etc' / 'cling'}",
            f"-I{include}",
            *_define_flags(),
            "-cxxflags",
            " ".join(cppflags + _cling_args().split() + _define_flags() + [f"-I{include}"]),
            str(dictpch / "allHeaders.h"),
            str(extra),
            str(dictpch / "allLinkDefs.h"),
        ]
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = str(backend / "lib") + os.pathsep + env.get("LD_LIBRARY_PATH", "")
        env["EXTRA_CLING_ARGS"] = _cling_args()
        proc = subprocess.run(cmd, cwd=backend, env=env, capture_output=True, text=True)
        produced = Path(tmp) / "allDict_rdict.pch"
        if proc.returncode != 0 or not produced.exists():
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            _log(f"precompiled header build failed ({tail}); parsing headers instead")
            return False
        os.replace(produced, target)  # atomic: a half-built PCH is never seen
    return True


def _prepare_pch() -> Path | None:
    """Point Cling at the cached PCH, building it first if needed."""
    if os.environ.get("CPPSNS3_NO_PCH"):
        return None
    if "cppyy" in sys.modules:
        return None  # Cling already started with its own PCH
    target = pch_path()
    if not target.exists():
        _log(f"building the ns-3 precompiled header once (a few seconds) in {target.parent}")
        if not _build_pch(target):
            return None
    os.environ["CLING_STANDARD_PCH"] = str(target)
    os.environ["EXTRA_CLING_ARGS"] = _cling_args()
    return target


def load():
    """Load ns-3 and the package's C++; return the ``ns3`` C++ namespace.

    Idempotent and thread-safe: later calls return the same namespace.

    Raises
    ------
    Ns3LoadError
        If the wheel, a library or a header cannot be loaded.
    """
    global _ns
    with _lock:
        if _ns is not None:
            return _ns
        prefix = wheel_prefix()
        pch = _prepare_pch()
        try:
            import cppyy
        except ImportError as exc:  # pragma: no cover - cppyy comes with the wheel
            raise Ns3LoadError(f"cppyy is not importable: {exc}") from exc
        import libcppyy

        libcppyy.AddSmartPtrType("Ptr")
        lib = prefix / "lib64"
        cppyy.add_include_path(str(prefix / "include"))
        cppyy.add_include_path(str(SOURCE_DIR))
        if pch is None:
            cppyy.cppdef(
                "".join(
                    f"#ifndef {k}\n#define {k} {v}\n#endif\n" for k, v in NS3_DEFINES
                )
            )
        for module in NS3_MODULES:
            path = lib / f"libns{NS3_VERSION}-{module}.so"
            if not path.exists():
                raise Ns3LoadError(f"ns-3 library missing: {path.name}")
            cppyy.load_library(str(path))
        for header in NS3_HEADERS:
            if not cppyy.include(header):
                raise Ns3LoadError(f"ns-3 header failed to parse: {header}")
        _install_pythonizations(cppyy)
        _ns = cppyy.gbl.ns3
        return _ns


def _install_pythonizations(cppyy) -> None:
    # ns3::Time has C++ comparison operators that cppyy does not pick up.
    cppyy.cppdef(
        """
        namespace cppsns3_py {
        inline bool time_lt(const ns3::Time& a, const ns3::Time& b) { return a < b; }
        inline bool time_le(const ns3::Time& a, const ns3::Time& b) { return a <= b; }
        inline bool time_eq(const ns3::Time& a, const ns3::Time& b) { return a == b; }
        }
        """
    )
    t = cppyy.gbl.ns3.Time
    f = cppyy.gbl.cppsns3_py
    t.__lt__ = lambda a, b: f.time_lt(a, b)
    t.__le__ = lambda a, b: f.time_le(a, b)
    t.__eq__ = lambda a, b: f.time_eq(a, b)
    t.__gt__ = lambda a, b: f.time_lt(b, a)
    t.__ge__ = lambda a, b: f.time_le(b, a)
    t.__ne__ = lambda a, b: not f.time_eq(a, b)
    t.__hash__ = lambda a: hash(a.GetTimeStep())


def package_namespace():
    """The ``cppsns3`` C++ namespace, with the package's C++ compiled.

    Raises
    ------
    Ns3LoadError
        If a source file is missing or does not compile.
    """
    load()
    load_sources()
    import cppyy

    return cppyy.gbl.cppsns3


def jit_started() -> bool:
    """True if some ``.cc`` of the package was JIT-compiled in this process."""
    return any(n.endswith(".cc") for n in _loaded_sources)


def load_sources(names=SOURCES) -> None:
    """JIT-compile the package's C++ files once per process.

    If :func:`cppsns3.ns3.native.decide` picks the built library, it is
    loaded and only the headers in ``names`` are parsed.

    Raises
    ------
    Ns3LoadError
        If a file is missing or does not compile.
    """
    load()  # ns-3 and its headers first (idempotent)
    import cppyy

    from cppsns3.ns3 import native

    with _lock:
        # The built library (see native.py) replaces the JIT of the .cc files.
        lib = native.decide(SOURCES, SOURCE_DIR, jit_started())
        if lib is not None and "<native>" not in _loaded_sources:
            if not cppyy.load_library(str(lib.path)):
                raise Ns3LoadError(f"native library failed to load: {lib.path}")
            _loaded_sources.add("<native>")
        for name in names:
            if name in _loaded_sources or (lib is not None and name.endswith(".cc")):
                continue
            path = SOURCE_DIR / name
            if not path.exists():
                raise Ns3LoadError(f"C++ source missing: {name}")
            if not cppyy.include(str(path)):
                raise Ns3LoadError(f"C++ source failed to compile: {name}")
            _loaded_sources.add(name)

