"""The settings file: finding it, reading its TOML, and pointing at the line of a problem.

A project's settings live in `reportlib.toml` (flat, or under a `[tool.reportlib]` header)
or in `pyproject.toml` under `[tool.reportlib]`. Every problem becomes a ConfigError whose
message names the file, and the line where there is one: a TOML syntax error, a folder or
missing file given as `--config`, a setting pydantic refuses. `config.load_settings` turns
the table read here into the `Settings` record.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError

CONFIG_ENV = "REPORTLIB_CONFIG"
NAMES = ("reportlib.toml", "pyproject.toml")
"""The settings files looked for, in this order, in the working folder and its parents."""

_AT = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)\s*$", re.S)


def find(explicit: Path | str | None = None, cwd: Path | None = None) -> Path:
    """The settings file: --config, $REPORTLIB_CONFIG, else reportlib.toml or pyproject.toml upwards."""
    origin = "--config"
    if explicit is None and os.environ.get(CONFIG_ENV):
        explicit, origin = os.environ[CONFIG_ENV], CONFIG_ENV
    if explicit is not None:
        return _given(Path(explicit), str(explicit), origin)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in NAMES:
            candidate = folder / name
            if candidate.is_file() and (name == "reportlib.toml" or _has_tool_table(candidate)):
                return candidate
    raise ConfigError(
        "no configuration found: pass --config, or run inside a project with "
        "reportlib.toml or [tool.reportlib] in pyproject.toml"
    )


def _given(path: Path, text: str, origin: str) -> Path:
    """An explicitly named settings file, refused in one line when it cannot be one."""
    if not text.strip():
        raise ConfigError(f"{origin} is empty: give the path of reportlib.toml or pyproject.toml")
    if path.is_dir():
        hint = next((str(path / n) for n in NAMES if (path / n).is_file()), None)
        tip = f" (did you mean {hint}?)" if hint else ""
        raise ConfigError(f"{origin} {text!r} is a folder, not a settings file{tip}")
    if not path.is_file():
        raise ConfigError(f"{origin} {text!r}: config file {path} does not exist")
    return path.resolve()


def _has_tool_table(pyproject: Path) -> bool:
    """True when a pyproject.toml holds `[tool.reportlib]`.

    A pyproject.toml that does not parse is ours to report when it mentions
    `tool.reportlib` (else "no configuration found" would hide the real problem); an
    unrelated broken one further up is passed over.
    """
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        return "reportlib" in tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError as e:
        if "tool.reportlib" in text:
            raise syntax_error(pyproject, e) from e
        return False


def syntax_error(path: Path, err: tomllib.TOMLDecodeError) -> ConfigError:
    """`<file> line N, column M: <what>` from tomllib's message, which ends "(at line N, column M)"."""
    found = _AT.match(str(err))
    if found is None:
        return ConfigError(f"{path}: not valid TOML: {err}", file=str(path))
    msg = found["msg"].rstrip(".")
    return ConfigError(
        f"{path} line {found['line']}, column {found['col']}: not valid TOML: {msg}",
        file=str(path),
        row=int(found["line"]),
    )


def read(path: Path) -> dict[str, Any]:
    """The reportlib settings table of `path` (pyproject.toml's `[tool.reportlib]`, or reportlib.toml).

    reportlib.toml may be flat or hold the same `[tool.reportlib]` table as a pyproject.toml;
    a file mixing both shapes is refused, naming the keys outside the table.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise syntax_error(path, e) from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason})", file=str(path)) from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it: {e.strerror}", file=str(path)) from e
    tool = raw.get("tool")
    if path.name == "pyproject.toml":
        return dict(tool.get("reportlib", {})) if isinstance(tool, dict) else {}
    if isinstance(tool, dict) and "reportlib" in tool:
        others = [k for k in raw if k != "tool"] + [f"tool.{k}" for k in tool if k != "reportlib"]
        if others:
            raise ConfigError(
                f"{path}: settings both under [tool.reportlib] and outside it "
                f"({', '.join(others)}): use one shape",
                file=str(path),
            )
        table = tool["reportlib"]
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: tool.reportlib must be a table", file=str(path))
        return dict(table)
    return raw


def key_line(path: Path, loc: Sequence[str | int]) -> int | None:
    """The line of the setting at `loc` (e.g. ("quality", "max_reject_share")), if it can be found.

    A plain text search, good enough to point a reader at the line: the key's assignment
    after its table's header (`[quality]` or `[tool.reportlib.quality]`), or a dotted key.
    """
    keys = [str(k) for k in loc if isinstance(k, str)]
    if not keys:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    *tables, key = keys
    assign = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    dotted = re.compile(rf"^\s*{re.escape('.'.join(keys))}\s*=")
    header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
    current: list[str] = []
    for number, line in enumerate(lines, start=1):
        m = header.match(line)
        if m:
            current = [p.strip().strip("\"'") for p in m.group(1).split(".")]
            if current[:2] == ["tool", "reportlib"]:
                current = current[2:]
            continue
        if current == tables and assign.match(line):
            return number
        if not current and tables and dotted.match(line):
            return number
    if not tables:
        return None
    table = re.compile(rf"^\s*\[\s*(tool\.reportlib\.)?{re.escape('.'.join(tables))}\s*\]")
    return next((n for n, line in enumerate(lines, start=1) if table.match(line)), None)
