"""`reportlib doctor`: is this project ready to run? One verdict per check, nothing written.

The checks, in order: the settings file parses; the configuration files (kpis.yaml,
segments.yaml, targets.csv) read; the source is reachable; every table loads with the
columns it needs (through the same loader `run` uses, so a table's settings apply); the
text encoding of each CSV file; the node ids the data makes are unique and the targets
name known nodes; the fonts of the pack are there; the output folder is writable; and,
when the settings have an `[smtp]` table, the mail server answers (connect, EHLO, QUIT).

A check that cannot be made because an earlier one failed is `skip`, with the reason.
Each check is a `Check` record; the CLI prints them and exits 2 when one failed.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import resources
from .config import Project, Settings, find_config, load_project, load_settings
from .errors import ReportlibError

log = logging.getLogger(__name__)

Verdict = Literal["ok", "FAIL", "skip"]

SMTP_TIMEOUT = 5.0
"""Longest wait for the mail server, in seconds (or the settings' timeout when shorter)."""

_CSS_FONT = re.compile(r"""url\(\s*["']?(fonts/[^"')]+)["']?\s*\)""")


@dataclass(frozen=True)
class Check:
    """The outcome of one check: its name, verdict and what was found."""

    name: str
    verdict: Verdict
    detail: str

    @property
    def failed(self) -> bool:
        return self.verdict == "FAIL"


def _attempt(name: str, check: Callable[[], str]) -> Check:
    """Run one check: its detail when it passes, the error's message when it fails."""
    try:
        return Check(name, "ok", check())
    except (ReportlibError, OSError, ValueError) as e:
        log.debug("doctor: %s failed", name, exc_info=True)
        return Check(name, "FAIL", str(e) or type(e).__name__)


def run(
    config: Path | str | None = None, *, smtp_timeout: float = SMTP_TIMEOUT
) -> tuple[Check, ...]:
    """Every check of the project whose settings file is `config` (found as `run` finds it)."""
    return tuple(checks(config, smtp_timeout=smtp_timeout))


def checks(
    config: Path | str | None = None, *, smtp_timeout: float = SMTP_TIMEOUT
) -> Iterator[Check]:
    """The checks one by one, so that a caller can show each as it is made."""
    try:
        config_file = find_config(config)
        settings = load_settings(config_file)
    except ReportlibError as e:
        yield Check("settings", "FAIL", str(e))
        for name in ("configuration", "source", "tables", "nodes", "fonts", "output", "smtp"):
            yield Check(name, "skip", "needs the settings")
        return
    yield Check("settings", "ok", str(config_file))

    project: Project | None = None
    try:
        project = load_project(config_file)
        yield Check(
            "configuration",
            "ok",
            f"{len(project.kpis)} KPIs, levels {' × '.join(project.hierarchy.levels) or '(none)'}, "
            f"{len(project.targets)} target rows",
        )
    except ReportlibError as e:
        yield Check("configuration", "FAIL", str(e))

    source_ok = _attempt("source", lambda: source_reachable(settings))
    yield source_ok
    yield from encodings(settings)
    if project is None or source_ok.failed:
        reason = "needs the configuration" if project is None else "needs the source"
        yield Check("tables", "skip", reason)
        yield Check("nodes", "skip", reason)
    else:
        yield from data_checks(project)
    yield _attempt("fonts", lambda: fonts(settings))
    yield _attempt("output", lambda: output_writable(settings.output_path))
    yield smtp_check(settings, smtp_timeout)


def source_reachable(settings: Settings) -> str:
    """The source exists: a folder, a `.duckdb` file, or a database that accepts a connection."""
    from .errors import DataError
    from .sources import database

    src = settings.source
    if "://" in src:
        import ibis

        shown = database.shown(src)
        try:
            con = ibis.connect(database.url_for(src, settings.root))
            try:
                n = len(con.list_tables())
            finally:
                con.disconnect()
        except Exception as e:  # any backend's connection failure is a data-source problem
            raise DataError(f"cannot connect to {shown}: {e}", file=shown) from e
        return f"{shown}: {n} tables"
    path = settings.path(src)
    if src.endswith(".duckdb"):
        if not path.is_file():
            raise DataError("the database file does not exist", file=str(path))
        return f"database file {path}"
    if not path.is_dir():
        raise DataError("the source folder does not exist", file=str(path))
    files = sorted(p.name for p in path.iterdir() if p.suffix in (".csv", ".parquet"))
    return f"folder {path} ({len(files)} CSV/Parquet files)"


def encodings(settings: Settings) -> Iterator[Check]:
    """The text encoding of each CSV file of a folder source (one check per file)."""
    from .errors import DataError
    from .sources import database, encoding

    folder = settings.path(settings.source)
    if database.is_database(settings.source):
        yield Check("encodings", "skip", "a database source has no CSV files")
        return
    if not folder.is_dir():
        return
    given = {m.file or f"{t}.csv": m.encoding for t, m in settings.tables.items() if m.encoding}
    for path in sorted(folder.glob("*.csv")):
        name = f"encoding {path.name}"
        if path.name in given:
            yield Check(name, "ok", f"{given[path.name]} (as the settings say)")
            continue
        try:
            found = encoding.detect(path)
        except (DataError, OSError) as e:
            yield Check(name, "FAIL", str(e))
            continue
        note = encoding.note(found)
        yield Check(name, "ok", found if note is None else f"{found} ({note})")


def data_checks(project: Project) -> Iterator[Check]:
    """Load every table as `run` does, then build the hierarchy from the data."""
    from . import hierarchy, measures
    from .scorecard import check_targets
    from .sources import load, table_specs

    try:
        src = load(project)
    except ReportlibError as e:
        yield Check("tables", "FAIL", str(e))
        yield Check("nodes", "skip", "needs the tables")
        return
    try:
        for spec in table_specs(project.hierarchy.levels):
            name = f"table {spec.name}"
            if spec.name not in src.tables:
                yield Check(name, "skip", "not in the source, and not needed")
                continue
            rows = src.tables[spec.name].count().execute()
            columns = ", ".join(c.name for c in spec.columns)
            yield Check(name, "ok", f"{src.files[spec.name]}: {rows} rows; columns {columns}")
        try:
            tree = hierarchy.build(
                project.hierarchy, measures.combos(src, project.hierarchy.levels)
            )
            check_targets(project.targets, tree)
        except ReportlibError as e:
            yield Check("nodes", "FAIL", str(e))
            return
        leaves = sum(1 for n in tree.nodes if n.level == len(tree.levels))
        yield Check(
            "nodes", "ok", f"{len(tree.ids)} unique node ids ({leaves} at the lowest level)"
        )
    finally:
        src.con.disconnect()


def fonts(settings: Settings) -> str:
    """The chart font and every font the pack's stylesheets name, in the templates in use."""
    from .chartstyle import FONT_FILES
    from .errors import ConfigError
    from .render import MAIN_TEMPLATE

    folder = resources.folder(settings.root, "templates", MAIN_TEMPLATE)
    wanted = {resources.packaged("fonts") / n for n in FONT_FILES} | {
        folder / m.group(1)
        for css in folder.glob("*.css")
        for m in _CSS_FONT.finditer(css.read_text("utf-8"))
    }
    missing = sorted(str(p) for p in wanted if not p.is_file())
    if missing:
        raise ConfigError(f"font file(s) missing: {', '.join(missing)}")
    return f"{len(wanted)} font files ({folder})"


def output_writable(output: Path) -> str:
    """The output folder (or, before the first run, the folder it will be made in) takes files.

    A temporary file is made and removed at once: nothing is left behind.
    """
    from .errors import ConfigError

    existing = output
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{existing} is not a folder: the output folder {output} cannot be made")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".reportlib-doctor-"):
            pass
    except OSError as e:
        raise ConfigError(f"cannot write in {existing}: {e.strerror or e}") from e
    if existing == output:
        return f"{output} is writable"
    return f"{output} does not exist yet; it will be made in {existing}, which is writable"


def smtp_check(settings: Settings, timeout: float = SMTP_TIMEOUT) -> Check:
    """The mail server answers: connect, EHLO (and STARTTLS is offered when asked for), QUIT.

    Checked only when the settings have an `[smtp]` table; no login, nothing sent.
    """
    if "smtp" not in settings.model_fields_set:
        return Check("smtp", "skip", "no [smtp] in the settings")
    s = settings.smtp
    where = f"{s.host}:{s.port}"
    wait = min(timeout, s.timeout_seconds)
    try:
        server: smtplib.SMTP
        if s.security == "ssl":
            server = smtplib.SMTP_SSL(
                s.host, s.port, timeout=wait, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(s.host, s.port, timeout=wait)
        try:
            code, _ = server.ehlo()
            if code != 250:
                return Check("smtp", "FAIL", f"{where} refused EHLO ({code})")
            if s.security == "starttls" and not server.has_extn("starttls"):
                return Check("smtp", "FAIL", f"{where} does not offer STARTTLS")
        finally:
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()
    except (smtplib.SMTPException, OSError) as e:
        return Check("smtp", "FAIL", f"cannot reach {where}: {e}")
    return Check("smtp", "ok", f"{where} answers ({s.security})")
