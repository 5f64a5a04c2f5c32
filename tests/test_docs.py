"""Every Python example in README.md and docs/*.md runs (so documentation cannot rot).

Each ```python block runs as a script in its own interpreter, in a fresh
folder that has the repository's ``scenarios/`` beside it (the examples use
paths relative to the repository root), and must exit 0.  The numpydoc
``Examples`` of the public API run as doctests (``test_api_doctests``).
"""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks():
    out = []
    for path in DOCS:
        text = path.read_text()
        for k, m in enumerate(_BLOCK.finditer(text)):
            line = text.count("\n", 0, m.start()) + 1
            out.append(pytest.param(path, line, m.group(1), id=f"{path.relative_to(REPO)}:{line}"))
    return out


def test_the_docs_have_examples():
    files = {p.values[0].name for p in python_blocks()}
    assert {"README.md", "api.md", "chain.md", "routing.md", "traces.md"} <= files


@pytest.mark.parametrize("path,line,code", python_blocks())
def test_python_example_runs(path, line, code, tmp_path):
    (tmp_path / "scenarios").symlink_to(REPO / "scenarios")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=900, env=env)
    assert r.returncode == 0, f"{path.name}:{line} failed:\n{r.stderr[-3000:]}"


API_MODULES = ["cppsns3.model.scenario", "cppsns3.model.names", "cppsns3.model.delay", "cppsns3.model.grid",
               "cppsns3.sim.simulation", "cppsns3.sim.run"]


@pytest.mark.parametrize("name", API_MODULES)
def test_api_doctests(name, monkeypatch):
    monkeypatch.chdir(REPO)
    mod = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(mod) if t.examples]
    for t in tests:
        runner.run(t)
    res = runner.summarize(verbose=False)
    assert res.failed == 0
    assert res.attempted > 0 or name == "cppsns3.sim.run"
