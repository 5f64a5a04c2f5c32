"""The package's only door to ns-3.

``from cppsns3.ns3 import ns`` loads the needed ns-3 modules (see
:mod:`cppsns3.ns3.loader`) and gives the ``ns3`` C++ namespace, e.g.
``ns.Simulator``, ``ns.Node``, ``ns.PointToPointHelper``.  The package's own
C++ classes are in ``cpp`` (the ``cppsns3`` C++ namespace); they are
JIT-compiled on first access of ``cpp``, so importing ``ns`` alone stays fast.
"""

from cppsns3.ns3.loader import load as _load

ns = _load()

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
    if name == "cpp":
        from cppsns3.ns3.loader import package_namespace

        return package_namespace()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
