"""Encodings of CSV inputs: each one told apart, read back exactly, and lines kept right."""

from __future__ import annotations

import codecs
import tempfile
from pathlib import Path

import pytest

from reportlib import quality, sources
from reportlib.config import load_project
from reportlib.errors import DataError
from reportlib.sources import encoding

from ..conftest import SURVEYS, write_project

TEXT = "a,b\n1,€ “quoted” – dash\n2,café\n"


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16"),  # the platform's order, with its byte-order mark
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("cp1252"), "cp1252"),  # € is 0x80, the quotes 0x93/0x94, the dash 0x96
        ("a,b\n2,café\n".encode("latin-1"), "latin-1"),  # é alone: cp1252 and latin-1 agree
        (b"a,b\n1,\x80\n2,\x81\n", "latin-1"),  # 0x81 is undefined in cp1252
    ],
)
def test_each_encoding_is_told_apart(tmp_path: Path, data: bytes, expected: str) -> None:
    assert encoding.detect(_write(tmp_path, data)) == expected


def test_what_cannot_be_told_is_refused_saying_which_encoding_to_use(tmp_path: Path) -> None:
    with pytest.raises(DataError) as e:
        encoding.detect(_write(tmp_path, TEXT.encode("utf-16-le")))  # no byte-order mark
    assert "UTF-16 without a byte-order mark; save it as UTF-8" in str(e.value)
    with pytest.raises(DataError) as e:
        encoding.detect(_write(tmp_path, codecs.BOM_UTF8 + b"a,b\n1,x\n2,caf\xe9\n"))
    assert "UTF-8 byte-order mark but line 3 is not valid UTF-8: save it as UTF-8" in str(e.value)


def test_the_note_names_the_codec_it_was_read_as() -> None:
    assert encoding.note("utf-8") is None
    assert encoding.note("cp1252") == "not valid UTF-8: read as cp1252"
    assert encoding.note("latin-1") == "not valid UTF-8: read as latin-1"
    assert encoding.note("utf-16") == "UTF-16 with a byte-order mark: read as utf-16"


@pytest.mark.parametrize("codec", ["utf-16", "cp1252", "latin-1"])
def test_the_utf8_copy_holds_the_same_text_and_is_removed(tmp_path: Path, codec: str) -> None:
    text = 'a,b\r\n1,"two\nlines €"\n2,x\n' if codec != "latin-1" else "a,b\n1,café\n"
    path = _write(tmp_path, text.encode(codec))
    with encoding.utf8_copy(path, codec) as copy:
        assert copy.read_bytes() == text.encode("utf-8")  # line breaks as they were
        assert not copy.is_relative_to(tmp_path)
        assert copy.parent.parent == Path(tempfile.gettempdir())
    assert not copy.exists() and not copy.parent.exists()


def test_a_broken_utf16_file_names_its_line(tmp_path: Path) -> None:
    data = codecs.BOM_UTF16_LE + "a,b\n1,x\n".encode("utf-16-le") + b"\x00\xdc" + b"\n\x00"
    path = _write(tmp_path, data)  # a lone low surrogate on line 3
    with pytest.raises(DataError) as e, encoding.utf8_copy(path, "utf-16"):
        pass
    assert "line 3 is not valid utf-16: save the file as UTF-8" in str(e.value)


def test_utf16_lines_are_counted_as_text_not_bytes(tmp_path: Path) -> None:
    # "Ċ" is U+010A: its little-endian bytes 0A 01 hold a newline byte that is not a newline.
    path = _write(tmp_path, "a\nĊĊ\nb".encode("utf-16"))
    assert path.read_bytes().count(b"\n") == 4
    assert encoding.count_lines(path, "utf-16") == 3
    assert encoding.count_lines(_write(tmp_path, b"a\nb\n"), "utf-8") == 2


# ---------------------------------------------------------------- end to end through load

COMMENT = "great € “service” – thanks"
BAD_SCORE = 'R15,C1,nps,11,2026-03-20 10:00:00,2026-03-21 10:00:00,email,40,"two\nlines"\n'


@pytest.mark.parametrize(
    ("codec", "read_as"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8"),
        ("utf-16", "utf-16"),
        ("utf-16-be-bom", "utf-16"),
        ("cp1252", "cp1252"),
    ],
)
def test_a_survey_file_in_each_encoding_reads_the_same(
    tmp_path: Path, codec: str, read_as: str
) -> None:
    """The comments come back exactly; the quarantined R15 (score 11) is on lines 17-18."""
    config = write_project(tmp_path)
    path = tmp_path / "data" / "src" / "survey_responses.csv"
    text = SURVEYS.replace(",great\n", f",{COMMENT}\n") + BAD_SCORE
    data = (
        codecs.BOM_UTF16_BE + text.encode("utf-16-be")
        if codec == "utf-16-be-bom"
        else text.encode(codec)
    )
    path.write_bytes(data)
    project = load_project(config)
    src = sources.load(project)
    assert src.encodings["survey_responses"] == read_as
    comments = src.tables["survey_responses"].execute().set_index("response_id")["comment"]
    assert comments["R1"] == COMMENT and comments["R15"] == "two\nlines"
    result = quality.validate(project, src, "2026-03")
    (row,) = result.rejected["survey_responses"].to_pylist()
    assert row["response_id"] == "R15" and row["rule"] == "score_range"
    assert row["source_line"] == 17  # header on line 1, R0..R14 on lines 2..16
    notes = result.report.tables["survey_responses"].notes
    assert (f"read as {read_as}" in " ".join(notes)) == (read_as != "utf-8")
