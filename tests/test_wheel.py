"""The wheel carries everything a run needs: built, installed in a fresh virtualenv outside
the checkout, and taken from a small sample to board packs and a dry-run send.

The new virtualenv sees the third-party dependencies of this one through a `.pth` line
(installing them again would take minutes and the network); reportlib itself comes only
from the wheel, which the test checks before running anything.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from pypdf import PdfReader

pytestmark = [pytest.mark.slow, pytest.mark.long]  # builds a wheel, runs the CLI in subprocesses

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 600


def _source_copy(dest: Path) -> Path:
    """The files a build reads, copied (links kept as links) so the build leaves the checkout alone."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "conftest.py")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    for name in ("reportlib", "notebooks", "templates"):
        shutil.copytree(REPO / name, dest / name, symlinks=True, ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = _source_copy(tmp_path_factory.mktemp("wheel-src"))
    out = tmp_path_factory.mktemp("wheel-dist")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
            "--no-index", "--disable-pip-version-check", "-q", "-w", str(out), str(src),
        ],
        check=True,
        timeout=TIMEOUT,
        cwd=out,
    )  # fmt: skip
    (found,) = out.glob("reportlib-*.whl")
    return found


def test_the_wheel_carries_notebooks_templates_fonts_and_defaults(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (
        "reportlib/notebooks/board_pack.ipynb",
        "reportlib/notebooks/scorecard.ipynb",
        "reportlib/templates/board_pack.html.j2",
        "reportlib/templates/email.txt.j2",
        "reportlib/templates/pack.css",
        "reportlib/templates/fonts/IBMPlexSans-Regular.woff2",
        "reportlib/templates/fonts/OFL.txt",
        "reportlib/defaults/kpis.yaml",
        "reportlib/defaults/targets.csv",
        "reportlib/scaffold.py",
    ):
        assert path in names, path
    # Every template and font of the checkout, and no test helper.
    for f in (REPO / "templates").rglob("*"):
        if f.is_file():
            assert f"reportlib/templates/{f.relative_to(REPO / 'templates').as_posix()}" in names
    assert not any(n.endswith("conftest.py") for n in names)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel; the bin folder."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    bindir = env_dir / "bin"
    python = bindir / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # This environment's dependencies, appended after the new one's own site-packages.
    ours = sysconfig.get_paths()["purelib"]
    Path(purelib, "reportlib-test-deps.pth").write_text(ours + "\n", encoding="utf-8")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
            "--no-index", "--disable-pip-version-check", "-q", str(wheel),
        ],
        check=True,
        timeout=TIMEOUT,
    )  # fmt: skip
    return bindir


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "REPORTLIB_"))}
    env.pop("VIRTUAL_ENV", None)
    env["COLUMNS"] = "200"
    return env


def _run(bindir: Path, args: list[str], cwd: Path) -> str:
    r = subprocess.run(
        [str(bindir / "reportlib"), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env=_env(),
    )
    assert r.returncode == 0, f"reportlib {' '.join(args)}:\n{r.stdout}\n{r.stderr}"
    return r.stdout + r.stderr


def test_an_installed_wheel_goes_from_init_to_a_dry_run_send(
    installed: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = tmp_path_factory.mktemp("company")
    assert not project.resolve().is_relative_to(REPO)
    # reportlib is the wheel's, not the checkout's, and so are its notebooks and templates.
    where = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import reportlib, reportlib.resources as r; "
            "print(reportlib.__file__); print(r.packaged('notebooks')); print(r.packaged('fonts'))",
        ],
        capture_output=True, text=True, check=True, cwd=project, env=_env(),
    ).stdout.split()  # fmt: skip
    venv_root = installed.parent.resolve()
    for path in where:
        assert Path(path).resolve().is_relative_to(venv_root), path
        assert not Path(path).resolve().is_relative_to(REPO), path

    _run(
        installed,
        ["sample-data", "--out", "data/exports", "--customers", "50", "--months", "13",
         "--config-dir", "sample-config"],
        project,
    )  # fmt: skip
    out = _run(installed, ["init"], project)
    assert "wrote reportlib.toml" in out and "wrote data/kpis.yaml" in out
    assert "customers.segment: level" in out and "customers.region: level" in out
    assert "reportlib doctor" in out

    # The company-wide pack only (the scorecard still covers every node): the stub
    # distribution.yaml written by init sends just that one.
    _run(installed, ["run", "--node", "all", "--workers", "1"], project)
    (pdf,) = (project / "output").glob("*/all/*.pdf")
    period = pdf.parent.parent.name
    assert len(PdfReader(pdf).pages) > 1

    # The project's own email templates override the packaged ones.
    own = project / "templates"
    own.mkdir()
    (own / "email.txt.j2").write_text("Our own words for {{ period_name }}.\n", encoding="utf-8")
    (own / "email.html.j2").write_text("<p>Our own words.</p>\n", encoding="utf-8")
    sent = _run(installed, ["send", "--period", period, "--dry-run"], project)
    assert "dry-run  board@example.com: 1 email written to the outbox" in sent
    (eml,) = (project / "output" / period / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content().startswith("Our own words for ")
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "board-pack-all.pdf"
    assert attachment.get_content() == pdf.read_bytes()
