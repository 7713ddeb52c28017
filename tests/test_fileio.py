"""Atomic writes: all or nothing, no temporary files left, ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from reportlib import fileio


def test_write_replaces_atomically_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    fileio.write_text(target, "one")
    fileio.write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    fileio.write_text(target, "old")

    def boom(p: Path) -> None:
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        fileio.write_with(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_files_get_the_umask_mode_not_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = fileio.write_bytes(tmp_path / "pack.pdf", b"%PDF")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_frames_round_trip_exactly(tmp_path: Path) -> None:
    frame = pd.DataFrame({"value": [1 / 3, 100 / 7], "kpi": ["a", "b"]})
    fileio.write_frame(tmp_path / "x.csv", frame)
    fileio.write_frame(tmp_path / "x.parquet", frame)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "x.csv"), frame)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "x.parquet"), frame)
    assert fileio.sha256(tmp_path / "x.csv") == fileio.sha256(tmp_path / "x.csv")
