"""Deterministic, realistic sample data for reportlib.

`generate_sample` writes the seven canonical tables for a fictional B2B company:
customers with growth and churn, survey responses, tickets, invoices, workforce
pulses and two manual KPI values. Everything is drawn with numpy from one seed, so
the same arguments give byte-identical files. The story the data tells is fixed:
`smb/latam` deteriorates over the last four months, `mid-market/emea` improves over
the whole window, December dips. About 1-2% of each fact table is deliberately
bad, one quality rule (DOMAIN.md §7) per planted row, and the plantings are
counted in the returned `SampleReport`.

The company has two levels (segment, region: 16 nodes) or, with `levels=3`, a branch
level under each region (`branches` per region: 16 + 12 × branches nodes), for trying
reportlib on a big hierarchy.

Generation is vectorised (loops only over months and survey types), so a
benchmark can ask for ten million survey responses: customers=400_000 with
surveys_per_customer=1.9 and tickets_per_customer=0.87 gives about 10 million
responses and 5 million tickets over 24 months.

Modules: `company` (tables, hierarchy, story, argument checks), `customers` and
`branches` (who the customers are), `surveys`, `operations` (tickets, invoices),
`workforce` (and manual values), `arrays` (Arrow columns, file writing), `config`
(default configuration), `late` (late answers), `generate` (the entry point).
"""

from __future__ import annotations

from .company import COLUMNS, SampleReport, columns
from .config import DEFAULT_CONFIG_FILES, write_default_config
from .generate import generate_sample
from .late import LATE_PREFIX, add_late_responses

__all__ = [
    "COLUMNS",
    "DEFAULT_CONFIG_FILES",
    "LATE_PREFIX",
    "SampleReport",
    "add_late_responses",
    "columns",
    "generate_sample",
    "write_default_config",
]
