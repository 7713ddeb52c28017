"""Bad configuration gives one clear ConfigError naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reportlib import periods
from reportlib.config import find_config, load_project
from reportlib.errors import ConfigError

from .conftest import DEFAULTS, write_project


def test_default_catalogue_has_the_sixteen_kpis_of_domain(tiny: Path) -> None:
    project = load_project(tiny)
    # 15 formulas + the composite score of §3 (the score rows, not a catalogue entry).
    assert [k.id for k in project.kpis] == [
        "revenue", "revenue_growth_yoy", "nrr", "nps", "csat", "ces", "logo_retention",
        "fcr", "first_response_hours", "sla_compliance", "resolution_hours", "reopen_rate",
        "enps", "training_hours_per_fte", "attrition_rate",
    ]  # fmt: skip
    nps = project.kpi("nps")
    assert (nps.direction, nps.min_n, nps.sample, nps.perspective) == ("up", 30, True, "customer")
    assert project.kpi("resolution_hours").direction == "down"
    assert all(k.owner and k.definition for k in project.kpis)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [("2026-13", "2026-13"), ("../x", "../x"), ("2026-1", "YYYY-MM"), ("", "YYYY-MM")],
)
def test_bad_periods(bad: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="YYYY-MM") as e:
        periods.parse(bad)
    assert fragment in str(e.value)


def test_periods_arithmetic() -> None:
    assert periods.shift("2026-01", -1) == "2025-12"
    assert periods.shift("2025-12", 13) == "2027-01"
    assert periods.span("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert periods.long_name("2026-10") == "October 2026"


def test_unknown_kpi_in_targets(tmp_path: Path) -> None:
    config = write_project(
        tmp_path, targets="kpi,node,effective_from,target,threshold\nnpss,*,2025-01,30,20\n"
    )
    with pytest.raises(ConfigError, match=r"targets.csv line 2: unknown KPI 'npss'"):
        load_project(config)


def test_threshold_on_the_wrong_side(tmp_path: Path) -> None:
    config = write_project(
        tmp_path, targets="kpi,node,effective_from,target,threshold\nreopen_rate,*,2025-01,10,5\n"
    )
    with pytest.raises(
        ConfigError, match=r"line 2: threshold 5 of reopen_rate must be at or above its target 10"
    ):
        load_project(config)


def test_unparseable_target_and_month(tmp_path: Path) -> None:
    config = write_project(
        tmp_path, targets="kpi,node,effective_from,target,threshold\nnps,*,2025-01,thirty,20\n"
    )
    with pytest.raises(ConfigError, match=r"line 2, column target: 'thirty' is not a number"):
        load_project(config)
    config = write_project(
        tmp_path, targets="kpi,node,effective_from,target,threshold\nnps,*,Jan 2025,30,20\n"
    )
    with pytest.raises(ConfigError, match=r"column effective_from: 'Jan 2025' is not a month"):
        load_project(config)


def test_weight_that_does_not_parse(tmp_path: Path) -> None:
    text = (DEFAULTS / "kpis.yaml").read_text().replace("weight: 2\n", "weight: heavy\n", 1)
    config = write_project(tmp_path, kpis=text)
    with pytest.raises(ConfigError, match=r"kpis.yaml: KPI revenue: weight"):
        load_project(config)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    config = write_project(tmp_path, segments="company: X\nlevels: [segment, region\n")
    with pytest.raises(ConfigError, match=r"segments.yaml line \d+: YAML syntax error"):
        load_project(config)


def test_unknown_perspective(tmp_path: Path) -> None:
    text = (
        (DEFAULTS / "kpis.yaml")
        .read_text()
        .replace("perspective: financial", "perspective: money", 1)
    )
    config = write_project(tmp_path, kpis=text)
    with pytest.raises(ConfigError, match=r"KPI revenue has perspective 'money'"):
        load_project(config)


def test_bad_settings(tmp_path: Path) -> None:
    config = write_project(tmp_path, settings='timezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        load_project(config)
    config = write_project(tmp_path, settings="trend_months = 1\n")
    with pytest.raises(ConfigError, match="trend_months"):
        load_project(config)


def test_find_config_walks_up_and_honours_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_project(tmp_path)
    deep = tmp_path / "notebooks" / "x"
    deep.mkdir(parents=True)
    monkeypatch.delenv("REPORTLIB_CONFIG", raising=False)
    assert find_config(cwd=deep) == config
    monkeypatch.setenv("REPORTLIB_CONFIG", str(config))
    assert find_config(cwd=Path("/")) == config.resolve()
    with pytest.raises(ConfigError, match="does not exist"):
        find_config(tmp_path / "nope.toml")


def _with_history(kpi_id: str, *versions: dict, current: dict | None = None) -> str:
    """The default catalogue with `versions` as the history of `kpi_id` (its last version current)."""
    raw = yaml.safe_load((DEFAULTS / "kpis.yaml").read_text(encoding="utf-8"))
    k = next(k for k in raw["kpis"] if k["id"] == kpi_id)
    k["version"] = versions[-1]["version"]
    k["history"] = list(versions)
    k.update(current or {})
    return yaml.safe_dump(raw, sort_keys=False)


def test_definition_in_force_takes_each_versions_parameters(tmp_path: Path) -> None:
    kpis = _with_history(
        "csat",
        {"version": 1, "effective_from": "2024-01", "change_note": "Top-2-box"},
        {"version": 2, "effective_from": "2026-03", "change_note": "Top box", "top_box_min": 5},
    )
    csat = load_project(write_project(tmp_path, kpis=kpis)).kpi("csat")
    before, after = csat.in_force("2026-02"), csat.in_force("2026-03")
    # v1 says no cut: DOMAIN.md's 4; v2 sets 5; min n is the KPI's own 30 throughout.
    assert (before.version, before.top_box_min, before.min_n) == (1, 4, 30)
    assert (after.version, after.top_box_min, after.min_n) == (2, 5, 30)
    assert csat.in_force("2020-01").version == 1  # before the first entry: the first
    assert after.rule() == "top box ≥ 5" and after.change_note == "Top box"
    assert after.sla_met_by is None and after.sla_hours is None


def test_sla_rule_versions(tmp_path: Path) -> None:
    kpis = _with_history(
        "sla_compliance",
        {"version": 1, "effective_from": "2024-01", "change_note": "Per-ticket deadline"},
        {
            "version": 2,
            "effective_from": "2026-03",
            "change_note": "8 hours to resolve, for every ticket",
            "sla_hours": 8,
            "sla_met_by": "resolution",
        },
    )
    sla = load_project(write_project(tmp_path, kpis=kpis)).kpi("sla_compliance")
    assert (
        sla.in_force("2026-02").rule() == "deadline per ticket (sla_hours), met by first response"
    )
    assert sla.in_force("2026-03").rule() == "deadline 8 h, met by resolution"
    assert sla.in_force("2026-02").top_box_min is None


@pytest.mark.parametrize(
    ("kpi_id", "entry", "fragment"),
    [
        ("nps", {"top_box_min": 9}, "top_box_min is a parameter of csat and ces, not of nps"),
        ("csat", {"top_box_min": 6}, "top_box_min 6 is outside the csat scale 1–5"),
        ("ces", {"top_box_min": 1}, "top_box_min 1 is outside the ces scale 1–7"),
        ("csat", {"sla_hours": 4}, "sla_hours is a parameter of sla_compliance, not of csat"),
        ("sla_compliance", {"sla_met_by": "closure"}, "sla_met_by"),
        ("sla_compliance", {"sla_hours": 0}, "sla_hours"),
    ],
)
def test_definition_parameters_are_checked(
    tmp_path: Path, kpi_id: str, entry: dict, fragment: str
) -> None:
    kpis = _with_history(
        kpi_id,
        {"version": 1, "effective_from": "2024-01", "change_note": "First"},
        {"version": 2, "effective_from": "2026-03", "change_note": "Changed", **entry},
    )
    with pytest.raises(
        ConfigError,
        match=rf"kpis.yaml: KPI {kpi_id}: (history: version 2: |history\.1\.).*{fragment}",
    ):
        load_project(write_project(tmp_path, kpis=kpis))
    # The same parameter on the KPI itself (no history) is checked the same way.
    raw = yaml.safe_load((DEFAULTS / "kpis.yaml").read_text(encoding="utf-8"))
    next(k for k in raw["kpis"] if k["id"] == kpi_id).update(entry)
    with pytest.raises(ConfigError, match=rf"kpis.yaml: KPI {kpi_id}: .*{fragment}"):
        load_project(write_project(tmp_path, kpis=yaml.safe_dump(raw, sort_keys=False)))


# --------------------------------------------------------------------------- the settings file


@pytest.mark.parametrize(
    "bad", [" 2026-10", "2026-10 ", "2026-10\n", "26-10", "2026-1", "0000-01", "２０２６-10"]
)
def test_periods_are_strict(bad: str) -> None:
    """A period names an output folder: no spaces, no two-digit year, ASCII digits only."""
    with pytest.raises(ConfigError, match="YYYY-MM"):
        periods.parse(bad)
    assert periods.problem(bad) is not None


def test_period_problems_say_what_is_wrong() -> None:
    assert periods.problem("2026-10") is None
    assert periods.problem(" 2026-10") == (
        "leading or trailing spaces are not allowed; give exactly YYYY-MM, e.g. 2026-10"
    )
    assert periods.problem("") == "empty; give a month YYYY-MM, e.g. 2026-10"
    assert periods.problem("26-10") == "the year needs four digits: YYYY-MM, e.g. 2026-10"
    assert periods.problem("2026-13") == "the month must be 01 to 12 in YYYY-MM"
    assert periods.problem("2026-3") == "the month needs two digits: YYYY-MM, e.g. 2026-03"


def test_duplicate_key_names_file_line_and_column(tmp_path: Path) -> None:
    config = write_project(tmp_path, settings='timezone = "UTC"\ntimezone = "UTC"\n')
    with pytest.raises(ConfigError) as e:
        load_project(config)
    assert str(e.value) == (f"{config} line 5, column 17: not valid TOML: Cannot overwrite a value")
    assert e.value.context["row"] == 5


def test_broken_pyproject_is_named_instead_of_no_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPORTLIB_CONFIG", raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "a"\nname = "b"\n\n[tool.reportlib]\nsource = "data/src"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"pyproject.toml line 3, column \d+: .*overwrite"):
        find_config(cwd=tmp_path)


def test_unrelated_broken_pyproject_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken pyproject.toml that is not a reportlib project's does not hide a project further up."""
    monkeypatch.delenv("REPORTLIB_CONFIG", raising=False)
    config = write_project(tmp_path)
    inner = tmp_path / "other"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "a"\nname = "b"\n')
    assert find_config(cwd=inner) == config


def test_reportlib_toml_accepts_the_tool_header(tmp_path: Path) -> None:
    flat = load_project(write_project(tmp_path / "flat"))
    config = write_project(tmp_path / "tool")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        "[tool.reportlib]\n" + text.replace("[quality]", "[tool.reportlib.quality]"),
        encoding="utf-8",
    )
    tool = load_project(config)
    assert tool.settings.model_dump(exclude={"root"}) == flat.settings.model_dump(exclude={"root"})
    assert tool.settings.quality.allow_credit_notes is True


def test_reportlib_toml_mixing_both_shapes_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "reportlib.toml"
    config.write_text('timezone = "UTC"\n[tool.reportlib]\nsource = "data/src"\n')
    with pytest.raises(
        ConfigError, match=r"both under \[tool.reportlib\] and outside it \(timezone\)"
    ):
        load_project(config)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("max_reject_shar = 0.1", "line 9: quality.max_reject_shar: unknown setting"),
        ("max_reject_share = 2", "line 9: quality.max_reject_share: Input should be less than"),
    ],
)
def test_refused_setting_names_file_line_and_key(tmp_path: Path, extra: str, message: str) -> None:
    config = write_project(tmp_path, quality=f"allow_credit_notes = true\n{extra}\n")
    with pytest.raises(ConfigError) as e:
        load_project(config)
    assert str(e.value).startswith(f"{config} {message}"), str(e.value)
    assert "\n" not in str(e.value)


def test_refused_top_level_setting_in_a_pyproject(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[project]\nname = "x"\n\n[tool.reportlib]\ntrend_months = 1\n')
    with pytest.raises(ConfigError) as e:
        load_project(config)
    assert str(e.value).startswith(f"{config} line 5: trend_months: Input should be greater")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "--config is empty"),
        (".", "--config '.' is a folder, not a settings file (did you mean"),
        ("nope.toml", "--config 'nope.toml': config file nope.toml does not exist"),
    ],
)
def test_explicit_config_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str, message: str
) -> None:
    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as e:
        find_config(given)
    assert str(e.value).startswith(message), str(e.value)


def test_locale_setting(tmp_path: Path) -> None:
    assert load_project(write_project(tmp_path)).settings.locale == "en_US"
    config = write_project(tmp_path, settings='timezone = "UTC"\nlocale = "de-DE"\n')
    assert load_project(config).settings.locale == "de_DE"
    config = write_project(tmp_path, settings='locale = "xx_YY"\n')
    with pytest.raises(ConfigError, match="locale: unknown locale 'xx_YY'") as e:
        load_project(config)
    assert len(str(e.value).splitlines()) == 1
