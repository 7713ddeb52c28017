"""Shared fixtures: tiny projects written out in full so a reader can check the arithmetic."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

# `make test` hands whole test modules to its xdist workers (`--dist loadfile`), so a
# module's shared setup is made once. These modules share nothing between their tests, and
# are long enough to leave one worker finishing them while the other idles: each of their
# tests is a work unit of its own.
CASE_BY_CASE = {"tests/test_bad_inputs.py"}


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """`--dist loadfile`, except that the tests of CASE_BY_CASE modules are spread one by one."""
    if config.getoption("dist", None) != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ModuleOrCaseScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return nodeid if module in CASE_BY_CASE else module

    return ModuleOrCaseScheduling(config, log)  # type: ignore[arg-type]


DEFAULTS = Path(__file__).resolve().parents[1] / "reportlib" / "defaults"

# Five customers in two segments (ent, smb) × two regions (eu, us).
# C2 churns on the first day of March; C4 mid-February; C5 is acquired in February.
CUSTOMERS = """\
customer_id,segment,region,acquired_on,churned_on
C1,ent,eu,2025-01-10,
C2,ent,eu,2025-01-01,2026-03-01
C3,ent,us,2025-02-01,
C4,smb,eu,2025-03-01,2026-02-15
C5,smb,us,2026-02-10,
"""

# March 2026 NPS: 10 9 8 7 6 0 10 -> n 7, P 3, D 2. CSAT: 5 4 3 1 -> 2 of 4.
# CES: 7 5 4 -> 2 of 3. R0 is at the very end of February, R1 at the very start of March.
# A customer's answers to one survey are more than 7 days apart (no repeat_response, §7).
SURVEYS = """\
response_id,customer_id,survey,score,sent_at,responded_at,channel,duration_seconds,comment
R0,C3,nps,0,2026-02-27 10:00:00,2026-02-28 23:59:59,email,40,
R1,C1,nps,10,2026-02-28 10:00:00,2026-03-01 00:00:00,email,40,great
R2,C2,nps,9,2026-03-01 10:00:00,2026-03-02 10:00:00,email,40,
R3,C3,nps,8,2026-03-08 10:00:00,2026-03-09 10:00:00,email,40,
R4,C4,nps,7,2026-03-01 10:00:00,2026-03-02 10:00:00,email,40,
R5,C5,nps,6,2026-03-01 10:00:00,2026-03-02 10:00:00,email,40,
R6,C3,nps,0,2026-03-19 10:00:00,2026-03-20 10:00:00,email,40,"slow, again"
R7,C5,nps,10,2026-03-12 10:00:00,2026-03-13 10:00:00,email,40,
R8,C1,csat,5,2026-03-03 10:00:00,2026-03-03 11:00:00,in-app,20,
R9,C3,csat,4,2026-03-03 10:00:00,2026-03-03 11:00:00,in-app,20,
R10,C4,csat,3,2026-03-03 10:00:00,2026-03-03 11:00:00,in-app,20,
R11,C5,csat,1,2026-03-03 10:00:00,2026-03-03 11:00:00,in-app,20,
R12,C1,ces,7,2026-03-04 10:00:00,2026-03-04 11:00:00,in-app,20,
R13,C3,ces,5,2026-03-04 10:00:00,2026-03-04 11:00:00,in-app,20,
R14,C5,ces,4,2026-03-04 10:00:00,2026-03-04 11:00:00,in-app,20,
"""

# as_of is 2026-03-31 12:00. Opened in March: T1 T2 T3 T4 T5 T7. Resolved in March: T1 T2 T3 T6.
TICKETS = """\
ticket_id,customer_id,channel,opened_at,first_response_at,resolved_at,contacts,reopened,sla_hours
T1,C1,email,2026-03-02 09:00:00,2026-03-02 10:00:00,2026-03-02 12:00:00,1,false,4
T2,C1,phone,2026-03-05 08:00:00,2026-03-05 14:00:00,2026-03-06 08:00:00,2,false,4
T3,C3,chat,2026-03-10 00:00:00,2026-03-10 02:00:00,2026-03-12 00:00:00,1,true,8
T4,C4,email,2026-03-20 00:00:00,,,1,false,24
T5,C5,email,2026-03-31 10:00:00,,,1,false,8
T6,C3,chat,2026-02-27 10:00:00,2026-02-27 11:00:00,2026-03-01 10:00:00,1,false,8
T7,C1,email,2026-03-30 10:00:00,2026-03-31 13:00:00,,1,false,4
"""

# March 2025: C1 100, C2 50, C3 200 (350). March 2026: C1 120, C3 150 - 10 credit, C5 80 (340).
REVENUE = """\
invoice_id,customer_id,invoice_date,amount
I1,C1,2025-03-05,100.00
I2,C2,2025-03-05,50.00
I3,C3,2025-03-05,200.00
I4,C1,2026-03-05,120.00
I5,C3,2026-03-05,150.00
I6,C3,2026-03-20,-10.00
I7,C5,2026-03-05,80.00
"""

WORKFORCE = """\
period,segment,region,headcount,leavers,training_hours,enps_promoters,enps_passives,enps_detractors
2026-03,ent,eu,10,1,25,4,3,1
2026-03,ent,us,20,0,15,6,2,2
2026-03,smb,eu,5,1,0,1,1,1
"""

TARGETS = """\
kpi,node,effective_from,target,threshold
fcr,*,2025-01,60,40
fcr,*,2026-03,45,30
fcr,ent,2026-01,80,70
reopen_rate,*,2025-01,10,20
resolution_hours,*,2025-01,24,48
"""

SEGMENTS = """\
company: Tiny Co
levels: [segment, region]
names:
  segment: {ent: Enterprise, smb: Small business}
  region: {eu: Europe, us: United States}
"""


def write_project(
    root: Path,
    *,
    tables: dict[str, str] | None = None,
    targets: str = TARGETS,
    segments: str = SEGMENTS,
    kpis: str | None = None,
    settings: str = 'timezone = "UTC"\nas_of = "2026-03-31T12:00:00"\n',
    kpi_values: str | None = None,
    quality: str = "allow_credit_notes = true\n",
) -> Path:
    """Write a complete project under `root` and return its reportlib.toml."""
    data = root / "data"
    sample = data / "src"
    sample.mkdir(parents=True, exist_ok=True)
    base = {
        "customers": CUSTOMERS,
        "survey_responses": SURVEYS,
        "tickets": TICKETS,
        "revenue": REVENUE,
        "workforce": WORKFORCE,
    }
    base.update(tables or {})
    for name, text in base.items():
        if text is not None:
            (sample / f"{name}.csv").write_text(textwrap.dedent(text), encoding="utf-8")
    if kpi_values is not None:
        (sample / "kpi_values.csv").write_text(kpi_values, encoding="utf-8")
    (data / "targets.csv").write_text(targets, encoding="utf-8")
    (data / "segments.yaml").write_text(segments, encoding="utf-8")
    if kpis is None:
        shutil.copy(DEFAULTS / "kpis.yaml", data / "kpis.yaml")
    else:
        (data / "kpis.yaml").write_text(kpis, encoding="utf-8")
    config = root / "reportlib.toml"
    # By default the tiny company's credit note (I6) is allowed, so not quarantined (§7).
    config.write_text(
        f'data_dir = "data"\nsource = "data/src"\noutput_dir = "output"\n{settings}'
        f"\n[quality]\n{quality}",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """The tiny project's config file."""
    return write_project(tmp_path)


# --------------------------------------------------------------------------- a real PostgreSQL


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs: `initdb` on PATH, else Debian's newest."""
    import glob
    import shutil as sh

    found = sh.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL server for this test session; yields the URL of an empty database.

    initdb into a fresh temporary folder, start it on a free local port (and a socket in that
    folder), create the database, stop and remove it all at the end. PostgreSQL refuses to run
    as root, so under root the server runs as the `postgres` user (given the folder). Under
    pytest-xdist every worker starts its own server, on its own port and folder.
    """
    import os
    import subprocess
    import tempfile

    bindir = postgres_bin()
    if bindir is None:
        pytest.skip(
            "no PostgreSQL server programs (initdb) on PATH or in /usr/lib/postgresql/*/bin: "
            "install Debian's postgresql package (.ci/run does)"
        )
    base = Path(tempfile.mkdtemp(prefix="reportlib-pg-"))
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    data, log = base / "data", base / "server.log"

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            logged = log.read_text(errors="replace") if log.is_file() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr}{done.stdout}{logged}")

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
        "--no-locale")  # fmt: skip
    port = 0
    for attempt in range(5):  # another worker may take the free port first
        port = _free_port()
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        try:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
                "-t", "60", "start")  # fmt: skip
            break
        except RuntimeError:
            if attempt == 4:
                raise
    try:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute("CREATE DATABASE reportlib")
        yield f"postgresql://postgres@127.0.0.1:{port}/reportlib"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------- tables in a database

SQL_TYPES = {
    "postgres": {
        "string": "text",
        "period": "text",
        "date": "date",
        "timestamp": "timestamp",
        "int": "bigint",
        "float": "double precision",
        "score": "double precision",
        "bool": "boolean",
    },
    "duckdb": {
        "string": "VARCHAR",
        "period": "VARCHAR",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "int": "BIGINT",
        "float": "DOUBLE",
        "score": "DOUBLE",
        "bool": "BOOLEAN",
    },
}
"""Each canonical column type in a database engine's own type."""


def csv_tables(folder: Path) -> dict[str, Path]:
    """The CSV tables of a folder: table name -> file."""
    return {p.stem: p for p in sorted(folder.glob("*.csv"))}


def header_of(path: Path) -> list[str]:
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def column_types(
    name: str, header: list[str], engine: str, levels: tuple[str, ...] = ("segment", "region")
) -> dict[str, str]:
    """Each column of a table in the engine's native type (text where not canonical).

    The manual values table (kpi_values) is all text, as its spec reads it.
    """
    from reportlib import sources
    from reportlib.sources.schema import MANUAL, MANUAL_COLUMNS

    specs = {s.name: s for s in sources.table_specs(levels)}
    types = {c.name: c.type for c in specs[name].columns} if name in specs else {}
    if name == MANUAL:
        types = {c: "string" for c in MANUAL_COLUMNS}
    return {h: SQL_TYPES[engine][types.get(h, "string")] for h in header}


def load_postgres(server: str, folder: Path, name: str) -> str:
    """A new database `name` of the server holding the CSV tables of `folder`, each column in
    PostgreSQL's native type (COPY of the CSV bytes); its URL."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    url = server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(url, autocommit=True) as c:
        for table, path in csv_tables(folder).items():
            types = column_types(table, header_of(path), "postgres")
            cols = ", ".join(f'"{h}" {t}' for h, t in types.items())
            c.execute(f'CREATE TABLE "{table}" ({cols})')
            with c.cursor().copy(f'COPY "{table}" FROM STDIN WITH (FORMAT csv, HEADER true)') as cp:
                cp.write(path.read_bytes())
    return url
