"""reportlib: the monthly customer-experience balanced scorecard."""

from __future__ import annotations

__version__ = "0.1.0"
