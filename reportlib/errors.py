"""One exception root for reportlib; the CLI turns these into messages and exit codes.

Each error carries structured context (file, column, row, ...) so that its message
can name where the problem is, in the manner of papermill's PapermillExecutionError.
"""

from __future__ import annotations


class ReportlibError(Exception):
    """Root of every error reportlib raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        return self.message


class ConfigError(ReportlibError, ValueError):
    """Configuration that cannot be used: settings, kpis.yaml, targets, segments, periods."""


class DataError(ReportlibError, ValueError):
    """Input data that cannot be read: missing table, missing column, unparseable value."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        **context: object,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                file and f"file {file}",
                column and f"column {column}",
                row is not None and f"row {row}",
            )
            if part
        )
        super().__init__(
            f"{where}: {message}" if where else message,
            file=file,
            column=column,
            row=row,
            **context,
        )


class QualityGateError(ReportlibError):
    """The data-quality gate refused the run (DOMAIN.md §7)."""


class ReconciliationError(ReportlibError):
    """Children's counts do not add up to their parent's (DOMAIN.md §2)."""


class NotebookExecutionError(ReportlibError, RuntimeError):
    """A papermill notebook failed; carries node, cell and the error."""

    exit_code = 1


class RenderError(ReportlibError, RuntimeError):
    """A board pack could not be rendered."""

    exit_code = 1


class DeliveryError(ReportlibError, RuntimeError):
    """Email distribution failed."""

    exit_code = 1


class AuditError(ReportlibError):
    """The audit log's hash chain is broken (DOMAIN.md §8)."""


class LockError(ReportlibError):
    """Another process holds the output folder (a `run` or `send` at the same moment)."""
