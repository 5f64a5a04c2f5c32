"""The package's only door to ns-3.

``from cppsns3.ns3 import ns`` loads the needed ns-3 modules (see
:mod:`cppsns3.ns3.loader`) and gives the ``ns3`` C++ namespace, e.g.
``ns.Simulator``, ``ns.Node``, ``ns.PointToPointHelper``.  The package's own
C++ classes are in ``cpp`` (the ``cppsns3`` C++ namespace); they come from the
CMake-built library or are JIT-compiled on first access of ``cpp``, so
importing ``ns`` alone stays fast.

Both are loaded on first access, not when this package is imported: the
modules that need no cppyy (:mod:`cppsns3.ns3.capi`, which calls the built
library through ctypes, :mod:`cppsns3.ns3.native`, :mod:`cppsns3.ns3.loader`)
can be imported without starting the C++ interpreter.
"""

__all__ = ["ns", "cpp", "std_function"]


def std_function(signature: str, fn):
    """A C++ ``std::function<signature>`` wrapping the Python callable ``fn``.

    cppyy compiles a wrapper for every Python callable it converts (~70 ms),
    so build one and pass it to every C++ object that needs it.  Keep a
    reference to the result for as long as C++ may call it.
    """
    import cppyy

    return cppyy.gbl.std.function[signature](fn)


def __getattr__(name):
    if name == "ns":
        from cppsns3.ns3.loader import load

        value = load()
        globals()["ns"] = value  # later lookups are plain attribute reads
        return value
    if name == "cpp":
        from cppsns3.ns3.loader import package_namespace

        return package_namespace()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
