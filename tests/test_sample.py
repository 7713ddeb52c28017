"""The sample-data generator: deterministic bytes, exact columns, counted bad rows, the story."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from reportlib.config import load_kpis, load_targets
from reportlib.errors import ConfigError
from reportlib.sample import (
    SampleReport,
    add_late_responses,
    generate_sample,
    write_default_config,
)

DEFAULTS = Path(__file__).resolve().parents[1] / "reportlib" / "defaults"

EXPECTED_COLUMNS = {
    "customers": ["customer_id", "segment", "region", "acquired_on", "churned_on"],
    "customer_aliases": ["source", "external_id", "customer_id"],
    "survey_responses": [
        "response_id",
        "customer_id",
        "survey",
        "score",
        "sent_at",
        "responded_at",
        "channel",
        "duration_seconds",
        "comment",
    ],
    "tickets": [
        "ticket_id",
        "customer_id",
        "channel",
        "opened_at",
        "first_response_at",
        "resolved_at",
        "contacts",
        "reopened",
        "sla_hours",
        "priority",
    ],
    "revenue": ["invoice_id", "customer_id", "invoice_date", "amount"],
    "workforce": [
        "period",
        "segment",
        "region",
        "headcount",
        "leavers",
        "training_hours",
        "enps_promoters",
        "enps_passives",
        "enps_detractors",
    ],
    "kpi_values": ["period", "node", "kpi", "value", "n", "author", "reason"],
}
SMALL = {"customers": 300, "months": 14, "seed": 5}


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _read(folder: Path, table: str) -> pd.DataFrame:
    df = pd.read_csv(folder / f"{table}.csv", keep_default_na=False, na_values=[""])
    for col in ("sent_at", "responded_at", "opened_at", "first_response_at", "resolved_at"):
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], format="%Y-%m-%d %H:%M:%S")
    return df


def _violations(folder: Path) -> dict[str, pd.DataFrame]:
    """Each DOMAIN.md §7 rule evaluated independently on every row: one boolean column per rule."""
    customers = _read(folder, "customers")
    aliases = _read(folder, "customer_aliases")
    known = set(customers["customer_id"])
    mapping = dict(zip(aliases["external_id"], aliases["customer_id"], strict=True))

    def canonical(ids: pd.Series) -> pd.Series:
        return ids.map(lambda x: mapping.get(x, x))

    out = {"customers": pd.DataFrame({"duplicate_id": customers["customer_id"].duplicated()})}

    s = _read(folder, "survey_responses")
    s["cid"] = canonical(s["customer_id"])
    lo = s["survey"].map({"nps": 0, "csat": 1, "ces": 1})
    hi = s["survey"].map({"nps": 10, "csat": 5, "ces": 7})
    ordered = s.sort_values(["cid", "survey", "responded_at"], kind="stable")
    gap = ordered.groupby(["cid", "survey"])["responded_at"].diff()
    out["survey_responses"] = pd.DataFrame(
        {
            "duplicate_id": s["response_id"].duplicated(),
            "unknown_customer": ~s["cid"].isin(known),
            "score_range": s["score"].isna() | (s["score"] < lo) | (s["score"] > hi),
            "response_window": (s["responded_at"] < s["sent_at"])
            | (s["responded_at"] > s["sent_at"] + pd.Timedelta(days=30)),
            "speeder": s["duration_seconds"] < 3,
            "repeat_response": (gap <= pd.Timedelta(days=7)).reindex(s.index),
        }
    )

    t = _read(folder, "tickets")
    out["tickets"] = pd.DataFrame(
        {
            "duplicate_id": t["ticket_id"].duplicated(),
            "unknown_customer": ~canonical(t["customer_id"]).isin(known),
            "time_order": (t["first_response_at"] < t["opened_at"])
            | (t["resolved_at"] < t["opened_at"]),
        }
    )

    r = _read(folder, "revenue")
    out["revenue"] = pd.DataFrame(
        {
            "duplicate_id": r["invoice_id"].duplicated(),
            "unknown_customer": ~canonical(r["customer_id"]).isin(known),
        }
    )
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleReport]:
    out = tmp_path_factory.mktemp("small")
    return out, generate_sample(out, **SMALL)


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleReport]:
    """The sample the project ships with: seed 7, 5000 customers, 24 months to 2026-10."""
    out = tmp_path_factory.mktemp("default")
    return out, generate_sample(out)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        a = generate_sample(tmp_path / f"a-{fmt}", fmt=fmt, **SMALL)  # type: ignore[arg-type]
        b = generate_sample(tmp_path / f"b-{fmt}", fmt=fmt, **SMALL)  # type: ignore[arg-type]
        ha, hb = _hashes(a.out), _hashes(b.out)
        assert sorted(ha) == sorted(f"{t}.{fmt}" for t in EXPECTED_COLUMNS)
        assert ha == hb
        assert (a.tables, a.planted, a.as_of) == (b.tables, b.planted, b.as_of)
    other = generate_sample(tmp_path / "other", **{**SMALL, "seed": 6})
    changed = {k for k, v in _hashes(other.out).items() if _hashes(tmp_path / "a-csv")[k] != v}
    assert {"customers.csv", "survey_responses.csv", "tickets.csv", "revenue.csv"} <= changed


def test_every_table_has_exactly_its_columns(small: tuple[Path, SampleReport]) -> None:
    out, report = small
    for table, columns in EXPECTED_COLUMNS.items():
        with (out / f"{table}.csv").open(encoding="utf-8") as fh:
            header = fh.readline().rstrip("\n")
        assert header == ",".join(columns)
        assert len(pd.read_csv(out / f"{table}.csv")) == report.tables[table]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_parquet_has_the_same_columns_and_types(tmp_path: Path) -> None:
    report = generate_sample(tmp_path, fmt="parquet", **SMALL)
    for table, columns in EXPECTED_COLUMNS.items():
        df = pd.read_parquet(tmp_path / f"{table}.parquet")
        assert list(df.columns) == columns
        assert len(df) == report.tables[table]
    tickets = pd.read_parquet(tmp_path / "tickets.parquet")
    assert pd.api.types.is_datetime64_any_dtype(tickets["opened_at"])
    assert tickets["reopened"].dtype == bool


def test_planted_counts_match_the_files_and_each_row_breaks_one_rule(
    small: tuple[Path, SampleReport],
) -> None:
    out, report = small
    found = _violations(out)
    for table, flags in found.items():
        counts = {rule: int(n) for rule, n in flags.sum().items() if n}
        assert counts == report.planted[table], table
        assert (flags.sum(axis=1) <= 1).all(), f"{table}: a row breaks two rules"
    assert set(report.planted["survey_responses"]) == {
        "duplicate_id",
        "unknown_customer",
        "score_range",
        "response_window",
        "speeder",
        "repeat_response",
    }
    assert set(report.planted["tickets"]) == {"duplicate_id", "unknown_customer", "time_order"}
    assert set(report.planted["revenue"]) == {"duplicate_id", "unknown_customer"}
    assert report.planted["customer_aliases"] == report.planted["workforce"] == {}


def test_bad_rows_are_one_to_two_percent_at_default_size(
    default: tuple[Path, SampleReport],
) -> None:
    out, report = default
    for table in ("survey_responses", "tickets", "revenue"):
        share = sum(report.planted[table].values()) / report.tables[table]
        assert 0.01 <= share <= 0.02, (table, share)
    assert 3 <= report.planted["customers"]["duplicate_id"] <= 10
    found = _violations(out)
    assert found["survey_responses"].sum().to_dict() == report.planted["survey_responses"]
    # Credit notes are negative invoices, allowed in the sample config and not counted as bad.
    revenue = _read(out, "revenue")
    assert (revenue["amount"] < 0).sum() > 10
    assert "negative_amount" not in report.planted["revenue"]


def test_cut_off_is_early_in_the_month_after_end(small: tuple[Path, SampleReport]) -> None:
    out, report = small
    assert report.as_of.startswith("2026-11-01T0")
    as_of = pd.Timestamp(report.as_of)
    assert as_of < pd.Timestamp("2026-11-01 06:00:00")
    tickets = _read(out, "tickets")
    surveys = _read(out, "survey_responses")
    stamps = pd.concat(
        [tickets[c] for c in ("opened_at", "first_response_at", "resolved_at")]
        + [surveys[c] for c in ("sent_at", "responded_at")]
    )
    assert stamps.max() == as_of
    assert (tickets["opened_at"] >= "2026-11-01").sum() >= 3
    assert surveys["responded_at"].max() < pd.Timestamp("2026-11-01")
    assert surveys["responded_at"].min() >= pd.Timestamp("2025-09-01")  # 14 months to 2026-10


def test_some_tickets_are_open_at_the_cut_off(small: tuple[Path, SampleReport]) -> None:
    out, report = small
    t = _read(out, "tickets")
    as_of = pd.Timestamp(report.as_of)
    unanswered = t["first_response_at"].isna()
    deadline = t["opened_at"] + pd.to_timedelta(t["sla_hours"], unit="h")
    assert unanswered.sum() > 0
    assert (unanswered & (deadline > as_of)).sum() > 0  # pending: SLA not yet due
    assert t["resolved_at"].isna().sum() > unanswered.sum()
    assert not t.loc[t["resolved_at"].isna(), "reopened"].any()
    assert set(t["priority"]) == {"p1", "p2", "p3", "p4"}
    assert dict(zip(t["priority"], t["sla_hours"], strict=True)) == {
        "p1": 1,
        "p2": 4,
        "p3": 8,
        "p4": 24,
    }
    assert t["contacts"].between(1, 5).all() and (t["contacts"] == 1).mean() > 0.6
    assert 0.03 < t["reopened"].mean() < 0.12


def test_customers_segments_regions_and_churn(small: tuple[Path, SampleReport]) -> None:
    out, _ = small
    c = _read(out, "customers")
    assert set(c["segment"]) == {"enterprise", "mid-market", "smb"}
    assert set(c["region"]) == {"amer", "emea", "apac", "latam"}
    assert c["customer_id"].str.fullmatch(r"C\d{6}").all()
    acquired = pd.to_datetime(c["acquired_on"])
    churned = pd.to_datetime(c["churned_on"])
    assert (acquired < "2025-09-01").sum() > 100  # an active base in month one
    assert (acquired >= "2025-09-01").sum() > 20  # and growth in the window
    assert churned.notna().sum() > 0 and (churned.dt.day == 1).sum() > 0
    assert (churned.dropna() <= "2026-10-31").all()
    assert (churned.dropna() > acquired[churned.notna()]).all()
    share = c["segment"].value_counts(normalize=True)
    assert share["smb"] > share["mid-market"] > share["enterprise"]


def test_aliases_are_one_to_one_and_used(small: tuple[Path, SampleReport]) -> None:
    out, _ = small
    a = _read(out, "customer_aliases")
    assert set(a["source"]) == {"typeform", "zendesk"}
    assert not a.duplicated(["source", "external_id"]).any()
    assert not a.duplicated(["source", "customer_id"]).any()
    assert a["customer_id"].isin(set(_read(out, "customers")["customer_id"])).all()
    surveys = _read(out, "survey_responses")
    tickets = _read(out, "tickets")
    assert surveys["customer_id"].isin(set(a.loc[a["source"] == "typeform", "external_id"])).any()
    assert tickets["customer_id"].isin(set(a.loc[a["source"] == "zendesk", "external_id"])).any()


def test_survey_rows_look_real(small: tuple[Path, SampleReport]) -> None:
    out, _ = small
    s = _read(out, "survey_responses")
    assert set(s["survey"]) == {"nps", "csat", "ces"}
    assert set(s["channel"]) == {"email", "in-app", "sms"}
    clean = s[s["duration_seconds"] >= 3]
    assert clean["duration_seconds"].between(10, 600).all()
    comments = s["comment"].dropna()
    assert 0.02 < len(comments) / len(s) < 0.2
    raw = (out / "survey_responses.csv").read_text(encoding="utf-8")
    assert "café" in raw and '""quick start""' in raw  # non-ASCII and quoted quotes survive


def test_workforce_and_manual_values(small: tuple[Path, SampleReport]) -> None:
    out, _ = small
    w = _read(out, "workforce")
    assert len(w) == 14 * 12
    assert not w.duplicated(["period", "segment", "region"]).any()
    pulse = w["enps_promoters"] + w["enps_passives"] + w["enps_detractors"]
    assert (pulse <= 0.75 * w["headcount"]).all()
    assert (pulse < 10).any() and (pulse >= 10).any()
    assert w["headcount"].between(8, 200).all()
    k = _read(out, "kpi_values")
    assert set(k["author"]) == {"Jane Analyst"} and k["reason"].str.len().min() > 20
    assert "2026-10" in set(k["period"])


def test_the_story_smb_latam_deteriorates_and_cells_vary_in_size(
    default: tuple[Path, SampleReport],
) -> None:
    out, _ = default
    customers = _read(out, "customers").drop_duplicates("customer_id")
    aliases = _read(out, "customer_aliases")
    mapping = dict(zip(aliases["external_id"], aliases["customer_id"], strict=True))
    node = (
        customers.set_index("customer_id")["segment"]
        + "/"
        + customers.set_index("customer_id")["region"]
    )
    s = _read(out, "survey_responses")
    s = s[s["survey"] == "nps"].copy()
    s["node"] = s["customer_id"].map(lambda x: mapping.get(x, x)).map(node)
    s["period"] = s["responded_at"].dt.strftime("%Y-%m")
    nps = s.groupby(["node", "period"])["score"].agg(
        n="size", value=lambda x: 100 * ((x >= 9).mean() - (x <= 6).mean())
    )
    latam = nps.loc["smb/latam"]
    assert (latam.loc["2026-08":"2026-10", "value"] < 10).all()  # red against the 2026 target
    assert latam.loc["2025-11":"2026-06", "value"].mean() > 10
    assert (
        nps.loc["mid-market/emea", "value"].iloc[-3:].mean()
        > nps.loc["mid-market/emea", "value"].iloc[:3].mean() + 20
    )
    last = nps.xs("2026-10", level="period")["n"]
    assert last.min() < 30 and last.max() > 200  # small cells are "insufficient"


def test_write_default_config_never_overwrites(tmp_path: Path) -> None:
    mine = "kpi,node,effective_from,target,threshold\nnps,*,2026-01,99,98\n"
    (tmp_path / "targets.csv").write_text(mine, encoding="utf-8")
    written = write_default_config(tmp_path)
    assert [p.name for p in written] == ["kpis.yaml", "segments.yaml", "distribution.yaml"]
    assert (tmp_path / "targets.csv").read_text(encoding="utf-8") == mine
    assert (tmp_path / "kpis.yaml").read_bytes() == (DEFAULTS / "kpis.yaml").read_bytes()
    assert write_default_config(tmp_path) == ()


def test_generate_sample_writes_missing_config(tmp_path: Path) -> None:
    report = generate_sample(tmp_path / "sample", config_dir=tmp_path, **SMALL)
    assert {p.name for p in report.config_written} == {
        "kpis.yaml",
        "segments.yaml",
        "targets.csv",
        "distribution.yaml",
    }
    again = generate_sample(tmp_path / "sample", config_dir=tmp_path, **SMALL)
    assert again.config_written == ()


def test_default_targets_cover_the_catalogue() -> None:
    kpis = load_kpis(DEFAULTS / "kpis.yaml")
    targets = load_targets(DEFAULTS / "targets.csv", kpis)
    with_default = {t.kpi for t in targets if t.node == "*"}
    assert {k.id for k in kpis} - with_default == {"revenue"}  # revenue shows "no-target"
    starts = pd.Series([t.kpi for t in targets if t.node == "*"]).value_counts()
    assert (starts > 1).any()  # a target changed mid-history
    assert {t.node for t in targets} - {"*"}  # and a node-specific override


@pytest.mark.parametrize(
    "kwargs",
    [
        {"months": 12},
        {"customers": 49},
        {"end": "2026-13"},
        {"end": "202610"},
        {"fmt": "xlsx"},
        {"seed": -1},
        {"surveys_per_customer": 0},
        {"tickets_per_customer": -1.0},
    ],
)
def test_bad_arguments_raise_config_error(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        generate_sample(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_late_responses_are_appended_and_break_no_rule(tmp_path: Path, fmt: str) -> None:
    report = generate_sample(tmp_path, fmt=fmt, **SMALL)  # type: ignore[arg-type]
    path = tmp_path / f"survey_responses.{fmt}"
    before = path.read_bytes()
    assert add_late_responses(tmp_path, 6) == ("2026-10", 6)
    assert add_late_responses(tmp_path, 4) == ("2026-10", 4)  # a second call adds new ones
    if fmt == "csv":
        assert path.read_bytes().startswith(before)  # appended: earlier rows untouched
        rows = _read(tmp_path, "survey_responses")
    else:
        rows = pd.read_parquet(path)
    late = rows[rows["response_id"].astype(str).str.startswith("L")]
    assert list(late["response_id"]) == [f"L{i:07d}" for i in range(1, 11)]
    assert (late["survey"] == "nps").all() and late["score"].between(0, 10).all()
    answered = pd.to_datetime(late["responded_at"])
    assert (answered >= "2026-10-01").all() and (answered <= report.as_of).all()
    assert late["customer_id"].is_unique
    if fmt == "csv":  # checked independently of reportlib's own rules: none breaks one
        bad = _violations(tmp_path)["survey_responses"].loc[late.index]
        assert not bad.any().any(), bad[bad.any(axis=1)]


def test_late_responses_need_a_sample(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no sample data"):
        add_late_responses(tmp_path, 3)
