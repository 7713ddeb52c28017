"""The one pydantic base of every settings and configuration record (re-exported as `config.Frozen`).

It lives in its own module so that configuration models outside `config.py` (the KPI
declarations of `declaration.py`) can share it without importing `config` in a cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """The base of every settings and configuration record: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")
