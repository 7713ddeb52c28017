"""Input files: physical line numbers of CSV rows, one-line-per-row detection, encodings."""

from __future__ import annotations

from pathlib import Path

from reportlib.sources import files


def test_line_numbers_follow_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,"two\nlines"\n\n2,x\n3,"y\r\nz"\n4,w\n', encoding="utf-8")
    assert not files.rows_are_lines(str(path), 4)
    assert files.line_numbers(str(path), [1, 2, 3, 4]) == {1: 2, 2: 5, 3: 6, 4: 8}
    assert files.line_numbers(str(path), []) == {}


def test_one_line_per_row_needs_no_reading(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n2,y", encoding="utf-8")  # no newline after the last row
    assert files.physical_lines(path) == 3
    assert files.rows_are_lines(str(path), 2)
    assert files.line_numbers(str(path), [2], total=2) == {2: 3}
    parquet = tmp_path / "t.parquet"
    assert files.line_numbers(str(parquet), [5]) == {5: 5}  # not a CSV: the row itself


def test_latin1_is_detected_and_its_line_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("a,b\n1,x\n2,caf\xe9\n".encode("latin-1"))
    assert files.detect_encoding(path) == "latin-1"
    assert files.line_of_offset(path, path.read_bytes().index(b"\xe9")) == 3
    utf8 = tmp_path / "u.csv"
    utf8.write_text("a,b\n1,café\n", encoding="utf-8")
    assert files.detect_encoding(utf8) == "utf-8"
