"""cppsns3.atomic: files appear complete under their final names or not at all; no temporaries left."""

from __future__ import annotations

import os
import signal

import pytest

from cppsns3 import atomic
from cppsns3.errors import Interrupted


def test_write_atomic_replaces_whole_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "summary.json"
    atomic.write_atomic(p, "old\n")
    atomic.write_atomic(p, b"new\n")
    assert p.read_bytes() == b"new\n" and os.listdir(tmp_path) == ["summary.json"]
    assert atomic.live_temporaries() == []


def test_interrupted_writer_keeps_the_previous_file(tmp_path):
    p = tmp_path / "flows.csv"
    p.write_text("complete\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_open(p, "w") as fh:
            fh.write("half")
            assert os.listdir(tmp_path) != ["flows.csv"]  # the temporary exists meanwhile
            raise KeyboardInterrupt
    assert p.read_text() == "complete\n" and os.listdir(tmp_path) == ["flows.csv"]
    # A writer that takes a path (savefig, ns-3): the temporary keeps the extension.
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(tmp_path / "plot.png") as tmp:
            assert tmp.suffix == ".png" and atomic.is_temporary(tmp) and tmp.parent == tmp_path
            tmp.write_bytes(b"\x89PNG partial")
            # a child may write its own temporary of that name first: removed too
            (tmp_path / f".{tmp.name}.123-abcdef.part.png").write_bytes(b"x")
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == ["flows.csv"]
    with pytest.raises(ValueError, match="mode"):
        with atomic.atomic_open(p, "r"):
            pass


def test_batch_commits_together_or_discards_all(tmp_path):
    (tmp_path / "a.csv").write_text("previous a\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic.AtomicBatch() as b:
            b.write(tmp_path / "a.csv", "new a\n")
            staged = b.stage(tmp_path / "flowmon-qtdr.xml")
            staged.write_text("<partial")
            assert b.staged(staged) and b.stage(tmp_path / "flowmon-qtdr.xml") == staged
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == ["a.csv"] and (tmp_path / "a.csv").read_text() == "previous a\n"
    with atomic.AtomicBatch() as b:
        b.write(tmp_path / "a.csv", "new a\n")
        b.write(tmp_path / "b.json", "{}\n")
        b.stage(tmp_path / "never-written.xml")
        assert sorted(os.listdir(tmp_path)) != ["a.csv", "b.json"]
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.json"]
    assert (tmp_path / "a.csv").read_text() == "new a\n"
    assert atomic.live_temporaries() == []


def test_interruptible_turns_sigterm_into_interrupted_and_restores():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as ei:
        with atomic.interruptible():
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pause() if hasattr(signal, "pause") else None
    assert ei.value.signum == signal.SIGTERM and ei.value.exit_code == 143
    assert isinstance(ei.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) == before
    # SIGINT stays Python's KeyboardInterrupt unless asked for, and is put back
    # afterwards; an ignored SIGINT (a background job, a pytest-xdist worker) stays ignored.
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with atomic.interruptible():
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with atomic.interruptible(sigint=True):
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with atomic.interruptible(sigint=True):
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, outer)


def test_chain_file_writer_uses_the_one_temporary_scheme(tmp_path):
    from cppsns3.chain import ChainFileWriter, Registry

    w = ChainFileWriter(tmp_path / "chain.cpchain", Registry(buses=[1, 2]), 60.0)
    assert atomic.is_temporary(w.temp_path) and w.temp_path in atomic.live_temporaries()
    atomic.remove_temporaries()  # an interrupted run's last-resort cleanup
    assert os.listdir(tmp_path) == []
    w.abort()
