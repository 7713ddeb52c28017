"""Late survey answers for a restatement demo: answers that "arrived after the extract".

`add_late_responses` appends NPS answers for the sample's last month to its survey file,
so that running the same month again restates it (DOMAIN.md §8).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import fileio
from ..errors import ConfigError
from .arrays import write_table

log = logging.getLogger(__name__)

LATE_PREFIX = "L"
"""Response ids of late answers added by `add_late_responses` (L0000001, ...)."""


def add_late_responses(folder: Path, count: int = 40, *, seed: int = 11) -> tuple[str, int]:
    """Append `count` NPS answers from the last month that "arrived after the extract".

    They show a restatement (DOMAIN.md §8): the month's figures change when the job runs
    again. Each goes to a different active customer with no NPS answer in the seven days
    before or during the month (so none is a repeat response, §7), is answered before the
    cut-off, and leans to detractors. Each call appends new ones; returns (month, count).
    """
    import pandas as pd

    folder = Path(folder)
    fmt = "parquet" if (folder / "survey_responses.parquet").is_file() else "csv"
    path = folder / f"survey_responses.{fmt}"
    customers_path = folder / f"customers.{fmt}"
    if not path.is_file() or not customers_path.is_file():
        raise ConfigError(f"no sample data in {folder}: run `reportlib sample-data` first")
    if count < 1:
        raise ConfigError(f"late responses: count must be at least 1, got {count}")
    read = (
        pd.read_parquet
        if fmt == "parquet"
        else lambda f: pd.read_csv(f, dtype=str, keep_default_na=False)
    )
    surveys, customers = read(path), read(customers_path)
    answered = pd.to_datetime(surveys["responded_at"], errors="coerce")
    last = answered.max()
    start = pd.Timestamp(last.year, last.month, 1)
    end = start + pd.offsets.MonthBegin(1)
    recent = surveys.loc[
        (surveys["survey"] == "nps") & (answered >= start - pd.Timedelta(days=8)), "customer_id"
    ]
    acquired = pd.to_datetime(customers["acquired_on"], errors="coerce")
    churned = pd.to_datetime(customers["churned_on"].replace("", None), errors="coerce")
    active = (acquired < start) & (churned.isna() | (churned >= end))
    eligible = sorted(set(customers.loc[active, "customer_id"]) - set(recent))
    if len(eligible) < count:
        raise ConfigError(
            f"late responses: only {len(eligible)} customers can take one, not {count}"
        )
    ids = surveys["response_id"].astype(str)
    done = int(ids.str.startswith(LATE_PREFIX).sum())
    rng = np.random.default_rng([seed, done])
    who = rng.choice(np.array(eligible, dtype=object), size=count, replace=False)
    span = (min(end, last) - start).total_seconds()  # never after the latest answer
    responded = start + pd.to_timedelta(np.sort(rng.uniform(0, span, count)), unit="s")
    sent = responded - pd.to_timedelta(rng.uniform(3600, 3 * 86400, count), unit="s")
    scores = rng.choice(
        11, size=count, p=[0.09, 0.08, 0.09, 0.1, 0.1, 0.1, 0.12, 0.08, 0.08, 0.08, 0.08]
    )
    late = pd.DataFrame(
        {
            "response_id": [f"{LATE_PREFIX}{done + i + 1:07d}" for i in range(count)],
            "customer_id": who,
            "survey": "nps",
            "score": scores,
            "sent_at": sent.floor("s").strftime("%Y-%m-%d %H:%M:%S"),
            "responded_at": responded.floor("s").strftime("%Y-%m-%d %H:%M:%S"),
            "channel": "email",
            "duration_seconds": rng.integers(20, 180, count),
            "comment": "",
        }
    )
    if fmt == "parquet":
        old = pq.read_table(path)
        typed = pa.Table.from_pandas(
            late.assign(
                sent_at=pd.to_datetime(late["sent_at"]),
                responded_at=pd.to_datetime(late["responded_at"]),
            ),
            preserve_index=False,
        ).cast(old.schema)
        write_table(pa.concat_tables([old, typed]), path, fmt)
    else:
        text = late.to_csv(index=False, header=False, lineterminator="\n")
        data = path.read_bytes()
        fileio.write_bytes(path, data + text.encode("utf-8"))
    month = f"{start:%Y-%m}"
    log.info("added %d late NPS responses for %s to %s", count, month, path)
    return month, count
