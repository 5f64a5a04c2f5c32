#!/usr/bin/env bash
# Build cppsns3's native ns-3 library (and the C++ reference program) with the
# release preset, against the ns3 wheel of the Python that runs the tests.
#
#   scripts/build_native.sh [PRESET]      # PRESET: release (default) or debug
#
# Output in build/PRESET/ (libcppsns3-native.so, cppsns3-native.json,
# cppsns3-reference).  Where cmake is not installed it prints why and exits
# 0, so a test command can always call it: the loader then uses the JIT and
# tests/test_native.py skips saying so.  Any other failure exits non-zero.
# Environment: PYTHON (default: python3, else python) picks the interpreter whose ns3
# wheel is used; CMAKE (default: cmake) the cmake binary.
set -euo pipefail

preset="${1:-release}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmake_bin="${CMAKE:-cmake}"
python_bin="${PYTHON:-$(command -v python3 || command -v python || true)}"

if ! command -v "$cmake_bin" >/dev/null 2>&1; then
    echo "build_native: cmake not found; skipping the native build (cppsns3 will JIT-compile its C++ with cppyy)" >&2
    exit 0
fi
version="$("$cmake_bin" --version | head -n1 | awk '{print $3}')"
if [ "$(printf '%s\n3.21\n' "$version" | sort -V | head -n1)" != "3.21" ]; then
    echo "build_native: cmake $version is too old: the presets need cmake >= 3.21" >&2
    exit 1
fi
if [ -z "$python_bin" ]; then
    echo "build_native: no python3 on PATH; set PYTHON" >&2
    exit 1
fi

cd "$here"
"$cmake_bin" --preset "$preset" -DCPPSNS3_PYTHON="$(command -v "$python_bin")" >/dev/null
"$cmake_bin" --build --preset "$preset"
echo "build_native: built build/$preset/libcppsns3-native.so" >&2
