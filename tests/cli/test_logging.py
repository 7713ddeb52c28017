"""Logging of the command line: timestamped lines on stderr, `-q`/`-v`/`--debug` before or
after the subcommand (nested ones included), the `error:` line unchanged."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from rich.console import Console

from reportlib import cli, logformat
from reportlib.cli.progress import RunProgress
from reportlib.run import RunEvent

# 2026-11-30T07:26:23.123Z INFO reportlib.sources.loader: loaded customers, ...
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) [\w.]+: "
)
LOADED = re.compile(LOG_LINE.pattern[:-2] + r": loaded customers", re.M)


def _stderr_lines(capsys: pytest.CaptureFixture[str]) -> tuple[str, list[str]]:
    captured = capsys.readouterr()
    return captured.out, [line for line in captured.err.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "args",
    [
        ["-v", "latest-period"],
        ["latest-period", "-v"],
        ["latest-period", "--verbose"],
        ["--debug", "latest-period"],
        ["latest-period", "--debug"],
    ],
)
def test_verbose_before_or_after_the_subcommand_logs_timestamped_lines(
    tiny: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*args, "--config", str(tiny)]) == 0
    out, err = _stderr_lines(capsys)
    assert out == "2026-02\n"  # the result itself is unchanged
    loaded = [line for line in err if LOADED.match(line)]
    assert len(loaded) == 1, err
    assert loaded[0].split(" ", 3)[1:3] == ["INFO", "reportlib.sources.loader:"]
    assert all(LOG_LINE.match(line) for line in err), err


def test_without_a_flag_info_is_not_logged(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["latest-period", "--config", str(tiny)]) == 0
    out, err = _stderr_lines(capsys)
    assert out == "2026-02\n"
    assert err == []


@pytest.mark.parametrize("position", ["before", "after"])
def test_run_verbose_either_side_then_one_error_line(
    tiny: Path, position: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reportlib -v run` and `reportlib run -v`: an unknown node is refused before any kernel."""
    args = ["run", "--config", str(tiny), "--period", "2026-03", "--node", "nowhere"]
    args = ["-v", *args] if position == "before" else [*args, "-v"]
    assert cli.main(args) == 2
    _, err = _stderr_lines(capsys)
    assert any(LOADED.match(line) for line in err), err
    errors = [line for line in err if line.startswith("error: ")]
    assert len(errors) == 1 and "nowhere" in errors[0]
    assert all(LOG_LINE.match(line) for line in err if line not in errors)


def _unreadable_manifest(tiny: Path) -> None:
    """A manifest that is not JSON: reading it logs a WARNING (and `send` finds no run)."""
    folder = tiny.parent / "output" / "2026-03"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")


def test_a_warning_is_logged_with_its_time(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _unreadable_manifest(tiny)
    assert cli.main(["send", "--dry-run", "--config", str(tiny)]) == 2
    _, err = _stderr_lines(capsys)
    assert len(err) == 2, err
    assert LOG_LINE.match(err[0]) and " WARNING reportlib.manifest: " in err[0]
    assert "is unreadable" in err[0]
    assert err[1].startswith("error: no completed run with board packs under ")


@pytest.mark.parametrize(
    "args",
    [
        ["-q", "send", "--dry-run"],
        ["send", "-q", "--dry-run"],
        ["send", "--dry-run", "--quiet"],
    ],
)
def test_quiet_before_or_after_send_leaves_only_the_error_line(
    tiny: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _unreadable_manifest(tiny)
    assert cli.main([*args, "--config", str(tiny)]) == 2
    _, err = _stderr_lines(capsys)
    assert len(err) == 1 and err[0].startswith("error: no completed run"), err


@pytest.mark.parametrize(
    "args",
    [
        ["commentary", "draft", "-v"],
        ["-v", "commentary", "draft"],
        ["audit", "verify", "-q"],
        ["diff", "--debug"],
        ["kpis", "-q"],
    ],
)
def test_nested_and_other_commands_accept_the_flags(
    tiny: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every command takes the flags (no `no such option`), whatever it then says."""
    code = cli.main([*args, "--config", str(tiny)])
    _, err = _stderr_lines(capsys)
    assert not any("no such option" in line.lower() for line in err), err
    assert code in (0, 2)


def test_a_command_added_later_gets_the_flags() -> None:
    """`init`/`doctor` (registered with `cli.add_command`) take -q/-v/--debug too."""
    import click

    @click.command("later")
    def later() -> None:
        click.echo("hello")

    group = cli.cli
    group.add_command(later)
    try:
        opts = {o for p in later.params for o in p.opts}
        assert {"-q", "--quiet", "-v", "--verbose", "--debug"} <= opts
    finally:
        group.commands.pop("later")


def test_logging_is_put_back_after_the_command(tiny: Path) -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    assert cli.main(["-v", "latest-period", "--config", str(tiny)]) == 0
    assert root.level == level
    assert root.handlers == handlers


def test_the_formatter_writes_utc_iso_time_level_and_logger() -> None:
    record = logging.LogRecord("reportlib.x", logging.ERROR, __file__, 1, "boom %s", ("!",), None)
    record.created = 0.5  # 1970-01-01 00:00:00.500 UTC
    text = logformat.UtcIsoFormatter(logformat.FORMAT).format(record)
    assert text == "1970-01-01T00:00:00.500Z ERROR reportlib.x: boom !"


@pytest.mark.parametrize("quiet", [False, True])
def test_quiet_silences_the_run_progress_lines(quiet: bool) -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False, width=120)
    with RunProgress(console, quiet=quiet) as progress:
        progress(RunEvent("scorecard-start", detail="not run before"))
        progress(RunEvent("plan", nodes=("all",), total=1))
    expected = "" if quiet else "scorecard: computing (not run before)\nboard packs: 1 to render\n"
    assert stream.getvalue() == expected


def test_pack_workers_log_at_the_commands_level(tiny: Path) -> None:
    """A run's pack workers are spawned without logging: their session sets it up first,
    at the level of the command that started them."""
    from reportlib.config import load_project
    from reportlib.run import plan

    options = plan.resolve(
        load_project(tiny),
        "2026-03",
        nodes=None,
        workers=1,
        force=False,
        accept_quality=None,
        fresh_kernels=False,
    )
    with logformat.session(logging.INFO):
        factory = options.worker_session()
    assert factory.func is plan.logged_worker_session  # type: ignore[attr-defined]
    assert factory.args[0] == logging.INFO  # type: ignore[attr-defined]
