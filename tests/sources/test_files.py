"""Input files: physical line numbers of CSV rows, one-line-per-row detection, encodings."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportlib.errors import DataError
from reportlib.sources import encoding, files


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
    assert encoding.detect(path) == "latin-1"
    assert encoding.line_of_offset(path, path.read_bytes().index(b"\xe9")) == 3
    utf8 = tmp_path / "u.csv"
    utf8.write_text("a,b\n1,café\n", encoding="utf-8")
    assert encoding.detect(utf8) == "utf-8"


def test_a_table_given_as_two_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "tickets.csv").write_text("a\n1\n", encoding="utf-8")
    (tmp_path / "tickets.parquet").write_bytes(b"PAR1")
    with pytest.raises(DataError) as e:
        files.locate(tmp_path, "tickets")
    assert str(tmp_path / "tickets.csv") in str(e.value)
    assert str(tmp_path / "tickets.parquet") in str(e.value)
    assert files.locate(tmp_path, "revenue") is None
    (tmp_path / "tickets.parquet").unlink()
    assert files.locate(tmp_path, "tickets") == tmp_path / "tickets.csv"


def test_a_link_out_of_the_folder_is_refused_and_one_inside_it_read(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n", encoding="utf-8")
    (folder / "revenue.csv").symlink_to(outside)
    with pytest.raises(DataError) as e:
        files.locate(folder, "revenue")
    message = str(e.value)
    assert message.startswith(f"file {folder / 'revenue.csv'}: ")
    assert f"link to {outside}, outside the source folder {folder}" in message
    (folder / "old").mkdir()
    (folder / "old" / "tickets.csv").write_text("a\n1\n", encoding="utf-8")
    (folder / "tickets.csv").symlink_to(folder / "old" / "tickets.csv")
    assert files.locate(folder, "tickets") == folder / "tickets.csv"
    (folder / "customers.csv").symlink_to(folder / "gone.csv")
    with pytest.raises(DataError, match="which is not a file"):
        files.locate(folder, "customers")


def test_a_source_folder_that_is_itself_a_link_is_followed(tmp_path: Path) -> None:
    """The configured folder may live anywhere (the settings say so on purpose)."""
    real = tmp_path / "elsewhere"
    real.mkdir()
    (real / "revenue.csv").write_text("a\n1\n", encoding="utf-8")
    link = tmp_path / "src"
    link.symlink_to(real)
    assert files.locate(link, "revenue") == link / "revenue.csv"
