"""Find and check the natively built library of the package's C++.

``pip install .`` (CMake through scikit-build-core) compiles the same
``src/*.cc`` files the cppyy JIT compiles into
``cppsns3/ns3/_native/libcppsns3-native.so`` of the installed package, and
writes a manifest beside it, ``cppsns3-native.json``, with the SHA-256 of
every ``src/*.h|.cc`` it was built from and the ns3 wheel version it was built
against.  ``cmake --preset release && cmake --build --preset release`` (or
``scripts/build_native.sh``) builds the same into ``build/release/`` of a
source tree.

The loader (:func:`cppsns3.ns3.loader.load_sources`) asks :func:`decide` once
per process whether to use it.  ``CPPSNS3_NATIVE`` chooses:

``auto`` (default)
    the library when it is present and its manifest matches the current
    sources and wheel; otherwise the JIT, saying why once on stderr;
``lib``
    the library, or :class:`~cppsns3.errors.Ns3LoadError` naming what is
    missing or stale;
``jit``
    always the JIT.

Where the library is looked for, the first that matches wins:

1. ``$CPPSNS3_NATIVE_LIB`` (a ``.so`` file, or a directory holding one and
   its manifest); when set, it is the only candidate;
2. ``_native/`` beside this module (a wheel or ``pip install .``);
3. the files of every installed ``cppsns3`` distribution (its ``RECORD``):
   this finds the installed library when the package is imported from a
   source tree (``python -m pytest`` in a checkout puts the checkout first on
   ``sys.path``) or through an editable install;
4. ``build/release`` of the source tree the package lives in.

A library is used only when its manifest names exactly the sources the JIT
would compile, with their current SHA-256, so a checkout whose C++ was edited
after the install falls back to the JIT (or to a fresh ``build/release``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cppsns3.errors import Ns3LoadError

__all__ = [
    "LIBRARY_NAME",
    "MANIFEST_NAME",
    "MODES",
    "NativeLibrary",
    "mode",
    "candidates",
    "check",
    "find",
    "installed_libraries",
    "reference_program",
    "decide",
    "decision",
]

LIBRARY_NAME = "libcppsns3-native.so"
MANIFEST_NAME = "cppsns3-native.json"
MODES = ("auto", "lib", "jit")
#: Build directories searched under the source tree, in order.
BUILD_DIRS = ("build/release",)
#: Where pip installs the library, relative to the ``cppsns3`` package.
INSTALL_DIR = "ns3/_native"
#: The reference program's file name (installed beside the library).
REFERENCE_NAME = "cppsns3-reference"

_decision: "NativeLibrary | None | bool" = False  # False: not decided yet
_said = False


@dataclass(frozen=True)
class NativeLibrary:
    """A built library whose manifest matches the sources.

    Attributes
    ----------
    path : pathlib.Path
        The shared library.
    manifest : dict
        Its manifest (source hashes, wheel version, compiler, flags).
    """

    path: Path
    manifest: dict


def mode() -> str:
    """The value of ``CPPSNS3_NATIVE`` (``auto`` when unset or empty).

    Raises
    ------
    Ns3LoadError
        If it is set to anything but ``auto``, ``lib`` or ``jit``.
    """
    value = os.environ.get("CPPSNS3_NATIVE", "").strip().lower() or "auto"
    if value not in MODES:
        raise Ns3LoadError(
            f"CPPSNS3_NATIVE must be one of {', '.join(MODES)}, got {os.environ['CPPSNS3_NATIVE']!r}"
        )
    return value


def source_root() -> Path:
    """The directory that holds the ``cppsns3`` package (the repository root)."""
    return Path(__file__).resolve().parents[2]


def installed_libraries() -> list[Path]:
    """The library files that installed ``cppsns3`` distributions list.

    Read from each distribution's ``RECORD`` (importlib.metadata), so they are
    found whether the package is imported from site-packages, an editable
    install or a source tree.  They need not exist.
    """
    out = []
    try:
        dists = list(importlib.metadata.distributions(name="cppsns3"))
    except Exception:  # noqa: BLE001 - a broken metadata dir must not stop the loader
        return out
    for dist in dists:
        try:
            files = dist.files or ()
        except Exception:  # noqa: BLE001
            continue
        for f in files:
            if f.name == LIBRARY_NAME:
                out.append(Path(dist.locate_file(f)))
    return out


def candidates() -> list[Path]:
    """Library files to try, in order (they need not exist).

    ``$CPPSNS3_NATIVE_LIB``, when set, is the only one; otherwise the
    package's ``_native/``, the installed distributions' files, then
    ``build/release`` of the source tree.
    """
    env = os.environ.get("CPPSNS3_NATIVE_LIB", "").strip()
    if env:
        p = Path(env).expanduser()
        return [p / LIBRARY_NAME if p.is_dir() else p]
    here = Path(__file__).resolve().parent.parent
    out = [here / INSTALL_DIR / LIBRARY_NAME]
    out.extend(installed_libraries())
    root = source_root()
    out.extend(root / d / LIBRARY_NAME for d in BUILD_DIRS)
    seen, unique = set(), []
    for p in out:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def reference_program(lib: "NativeLibrary | Path | None" = None, name: str = REFERENCE_NAME) -> Path | None:
    """A C++ program of tools/ built with the library, or None.

    ``name`` is ``cppsns3-reference`` (the validation run, default) or
    ``cppsns3-mm1k`` (the single-link experiment).  Looked for beside ``lib``
    (default: the library :func:`find` picks), then in ``build/release`` of
    the source tree.
    """
    if lib is None:
        from cppsns3.ns3 import loader

        lib, _ = find(loader.SOURCES, loader.SOURCE_DIR)
    dirs = []
    if lib is not None:
        dirs.append(Path(getattr(lib, "path", lib)).parent)
    dirs.extend(source_root() / d for d in BUILD_DIRS)
    for d in dirs:
        exe = d / name
        if exe.is_file() and os.access(exe, os.X_OK):
            return exe
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def _wheel_version() -> str:
    try:
        return importlib.metadata.version("ns3")
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def check(lib: Path, sources, source_dir: Path) -> tuple[NativeLibrary | None, str]:
    """Check one library against the sources the JIT would compile.

    Parameters
    ----------
    lib : pathlib.Path
        The ``.so``; its manifest is ``cppsns3-native.json`` beside it.
    sources : sequence of str
        File names (``.h`` and ``.cc``) in ``source_dir``: the JIT's list.
    source_dir : pathlib.Path
        Directory of the sources.

    Returns
    -------
    (NativeLibrary or None, str)
        The library when it matches, else None and the reason.
    """
    lib = Path(lib)
    if not lib.is_file():
        return None, f"no {lib.name} at {lib.parent}"
    man_path = lib.parent / MANIFEST_NAME
    try:
        manifest = json.loads(man_path.read_text())
        built = dict(manifest["sources"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{lib} has no readable {MANIFEST_NAME} ({exc.__class__.__name__})"
    wheel = _wheel_version()
    if manifest.get("ns3_wheel_version") != wheel:
        return None, (f"{lib} was built against ns3 {manifest.get('ns3_wheel_version')}, "
                      f"the installed wheel is {wheel}")
    wanted = set(sources)
    missing = sorted(wanted - set(built))
    extra = sorted(set(built) - wanted)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks {', '.join(missing)}")
        if extra:
            parts.append(f"has sources the JIT does not compile: {', '.join(extra)}")
        return None, f"{lib} {'; '.join(parts)}"
    stale = []
    for name in sorted(wanted):
        path = source_dir / name
        if not path.is_file() or _sha256(path) != built[name]:
            stale.append(name)
    if stale:
        return None, f"{lib} is older than the sources ({', '.join(stale)} changed); rebuild it"
    return NativeLibrary(path=lib, manifest=manifest), ""


def find(sources, source_dir: Path) -> tuple[NativeLibrary | None, list[str]]:
    """The first candidate library that matches, and the reasons the others did not."""
    reasons = []
    for lib in candidates():
        found, why = check(lib, sources, source_dir)
        if found is not None:
            return found, reasons
        reasons.append(why)
    return None, reasons


def _say(msg: str) -> None:
    global _said
    if not _said:
        print(f"cppsns3: {msg}", file=sys.stderr)
        _said = True


def decide(sources, source_dir: Path, jit_started: bool = False) -> NativeLibrary | None:
    """Choose, once per process, the built library or the JIT.

    Parameters
    ----------
    sources : sequence of str
        The JIT's list of ``.h``/``.cc`` files.
    source_dir : pathlib.Path
        Their directory.
    jit_started : bool
        True if some ``.cc`` was JIT-compiled already in this process: the
        library would then define the same classes twice, so the JIT stays.

    Returns
    -------
    NativeLibrary or None
        The library to load, or None for the JIT.  Later calls return the
        first answer.

    Raises
    ------
    Ns3LoadError
        If ``CPPSNS3_NATIVE=lib`` and no matching library is found, or the
        variable has a bad value.
    """
    global _decision
    if _decision is not False:
        return _decision
    m = mode()
    if m == "jit":
        _decision = None
        return None
    if jit_started:
        if m == "lib":
            raise Ns3LoadError("CPPSNS3_NATIVE=lib, but the package's C++ was already JIT-compiled in this process")
        _decision = None
        return None
    found, reasons = find(sources, source_dir)
    if found is None:
        why = "; ".join(reasons) or "no candidate library"
        if m == "lib":
            raise Ns3LoadError(
                f"CPPSNS3_NATIVE=lib but no usable native library: {why}. "
                "Install the package with pip (it builds the library), or build it in the source tree "
                "with scripts/build_native.sh (cmake --preset release && cmake --build --preset release)"
            )
        _say(f"JIT-compiling the package's C++ (no matching native library: {why}; "
             "reinstall with pip, or build it with scripts/build_native.sh)")
    _decision = found
    return found


def decision():
    """What :func:`decide` chose: a NativeLibrary, None (JIT), or False (not yet)."""
    return _decision
