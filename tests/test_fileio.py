"""Atomic writes: all or nothing, no temporary files left, ordinary permissions."""

from __future__ import annotations

import hashlib
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


def test_sha256_is_the_digest_of_the_bytes(tmp_path: Path) -> None:
    # Known vectors (FIPS 180-2): "abc", and a file larger than the 1 MiB read chunk.
    small = fileio.write_bytes(tmp_path / "abc", b"abc")
    assert fileio.sha256(small) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    big = fileio.write_bytes(tmp_path / "big", b"a" * 1_000_000 + b"a" * (1 << 20))
    assert fileio.sha256(big) == hashlib.sha256(big.read_bytes()).hexdigest()
    fileio.write_bytes(big, b"a" * 1_000_000 + b"b" + b"a" * ((1 << 20) - 1))
    assert fileio.sha256(big) != hashlib.sha256(b"a" * (1_000_000 + (1 << 20))).hexdigest()


def test_append_line_is_one_line_each(tmp_path: Path) -> None:
    log = tmp_path / "sub" / "log.jsonl"
    fileio.append_line(log, '{"a": 1}')
    fileio.append_line(log, '{"a": 2}')
    assert log.read_bytes() == b'{"a": 1}\n{"a": 2}\n'


def test_append_after_a_torn_line_starts_a_fresh_line(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b'{"a": 1}\n{"a": 2, "b"')  # a crash in the middle of an append
    fileio.append_line(log, '{"a": 3}')
    assert log.read_bytes().splitlines() == [b'{"a": 1}', b'{"a": 2, "b"', b'{"a": 3}']


def test_append_line_refuses_line_breaks(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        fileio.append_line(tmp_path / "log", "one\ntwo")
    assert not (tmp_path / "log").exists()
