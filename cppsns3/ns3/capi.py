"""The built library's C interface through ctypes: ns-3 runs without cppyy.

Starting cppyy (the Cling interpreter and the ns-3 precompiled header) takes
about a second, and every C++ function Python calls for the first time is
compiled on the spot.  A command that only needs one whole experiment from
C++, such as ``cppsns3 mm1k``, calls the library's plain C entry points
instead (``extern "C"`` in ``src/single-link.h``): ``ctypes`` loads
``libcppsns3-native.so``, which pulls in the wheel's ns-3 libraries, and no
interpreter starts.

The library is the one :func:`cppsns3.ns3.native.decide` picks, with the same
rules as the loader (``CPPSNS3_NATIVE``, manifest matching the sources).
When there is none (JIT mode, or sources edited after the build),
:func:`library` returns None and the callers run the same C function through
cppyy, JIT-compiled from the same source file: the numbers are the same.
"""

from __future__ import annotations

import ctypes
import threading

__all__ = ["SingleLinkConfig", "SingleLinkResult", "library", "run_single_link"]

_lock = threading.Lock()
_lib: "ctypes.CDLL | None | bool" = False  # False: not decided yet


class SingleLinkConfig(ctypes.Structure):
    """``cppsns3_single_link_config`` (src/single-link.h), field for field."""

    _fields_ = [
        ("seed", ctypes.c_uint32),
        ("run", ctypes.c_uint32),
        ("rate_bps", ctypes.c_uint64),
        ("delay_ns", ctypes.c_int64),
        ("capacity", ctypes.c_uint32),
        ("mtu_bytes", ctypes.c_uint32),
        ("arrival_rate_per_s", ctypes.c_double),
        ("mean_packet_bytes", ctypes.c_double),
        ("header_bytes", ctypes.c_uint32),
        ("max_payload_bytes", ctypes.c_uint32),
        ("packets", ctypes.c_uint64),
        ("warmup_s", ctypes.c_double),
        ("port", ctypes.c_uint16),
    ]


class SingleLinkResult(ctypes.Structure):
    """``cppsns3_single_link_result`` (src/single-link.h), field for field."""

    _fields_ = [
        ("sent", ctypes.c_uint64),
        ("received", ctypes.c_uint64),
        ("dropped_in_warmup", ctypes.c_uint64),
        ("dropped_after_warmup", ctypes.c_uint64),
        ("mean_number_in_system", ctypes.c_double),
        ("busy_time_s", ctypes.c_double),
        ("observed_time_s", ctypes.c_double),
        ("events", ctypes.c_uint64),
        ("build_wall_s", ctypes.c_double),
        ("sim_wall_s", ctypes.c_double),
        ("sim_cpu_s", ctypes.c_double),
    ]


CONFIG_FIELDS = tuple(name for name, _ in SingleLinkConfig._fields_)
RESULT_FIELDS = tuple(name for name, _ in SingleLinkResult._fields_)


def _open(path: str) -> ctypes.CDLL:
    try:
        return ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError:
        # The library's RUNPATH did not lead to the wheel (e.g. a build tree
        # whose virtual environment moved): load the wheel's libraries first,
        # by path, so the library's dependencies are already there.
        from cppsns3.ns3.loader import NS3_MODULES, NS3_VERSION, wheel_prefix

        lib64 = wheel_prefix() / "lib64"
        for module in NS3_MODULES:
            ctypes.CDLL(str(lib64 / f"libns{NS3_VERSION}-{module}.so"), mode=ctypes.RTLD_GLOBAL)
        return ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)


def library() -> ctypes.CDLL | None:
    """The matching built library, loaded through ctypes, or None (JIT).

    Decided once per process, by :func:`cppsns3.ns3.native.decide` (so
    ``CPPSNS3_NATIVE=lib`` without a matching library raises
    :class:`~cppsns3.errors.Ns3LoadError`, and ``jit`` gives None).
    """
    global _lib
    with _lock:
        if _lib is not False:
            return _lib
        from cppsns3.ns3 import loader, native

        found = native.decide(loader.SOURCES, loader.SOURCE_DIR, loader.jit_started())
        if found is None:
            _lib = None
            return None
        lib = _open(str(found.path))
        fn = lib.cppsns3_single_link_run
        fn.restype = ctypes.c_int
        fn.argtypes = [
            ctypes.POINTER(SingleLinkConfig),
            ctypes.POINTER(SingleLinkResult),
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_uint64,
            ctypes.c_char_p,
            ctypes.c_uint64,
        ]
        _lib = lib
        return lib


def run_single_link(config: dict):
    """Run the single-link experiment (``cppsns3_single_link_run``).

    Parameters
    ----------
    config : dict
        Every field of :class:`SingleLinkConfig`.

    Returns
    -------
    (dict, numpy.ndarray, numpy.ndarray, bool)
        The result fields, the sequence numbers (uint32) and one-way delays
        (float64, s) of the received packets in arrival order, and whether
        the built library ran it (False: the cppyy JIT of the same source).

    Raises
    ------
    SimulationError
        If the C++ side reports an error.
    """
    import numpy as np

    from cppsns3.errors import SimulationError

    room = int(config["packets"])
    seqs = np.empty(room, dtype=np.uint32)
    delays = np.empty(room, dtype=np.float64)
    lib = library()
    if lib is not None:
        cfg = SingleLinkConfig(**{k: config[k] for k in CONFIG_FIELDS})
        out = SingleLinkResult()
        err = ctypes.create_string_buffer(512)
        rc = lib.cppsns3_single_link_run(ctypes.byref(cfg), ctypes.byref(out), seqs.ctypes.data,
                                         delays.ctypes.data, room, err, len(err))
        message = err.value.decode("utf-8", "replace")
        result = {k: getattr(out, k) for k in RESULT_FIELDS}
    else:
        rc, message, result = _run_jit(config, seqs, delays, room)
    if rc != 0:
        raise SimulationError(f"single-link run failed: {message}")
    n = int(result["received"])
    return result, seqs[:n].copy(), delays[:n].copy(), lib is not None


def _run_jit(config: dict, seqs, delays, room: int):
    """The same C function through cppyy (sources JIT-compiled, or the library via cppyy)."""
    import cppyy

    from cppsns3.ns3 import cpp  # noqa: F401 - loads ns-3 and compiles the package's C++

    g = cppyy.gbl
    cfg = g.cppsns3_single_link_config()
    for k in CONFIG_FIELDS:
        setattr(cfg, k, config[k])
    out = g.cppsns3_single_link_result()
    err = ctypes.create_string_buffer(512)
    rc = int(g.cppsns3_single_link_run(cfg, out, seqs, delays, room, err, len(err)))
    return rc, err.value.decode("utf-8", "replace"), {k: getattr(out, k) for k in RESULT_FIELDS}
