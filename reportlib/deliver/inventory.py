"""The packs of a period as they are on disk, and whether the period may be sent at all.

A period is sendable when its run finished without a failed step, its data-quality gate
passed (or was accepted, DOMAIN.md §7), every pack to send is newer than the scorecard it
shows and is byte for byte the file the run recorded (same sha256 as in the manifest), and
the inputs and configuration the figures come from are unchanged since the run (same
hashes), and no pack carries draft commentary (`status: draft`, stamped "not yet reviewed"
in the pack) unless the operator allows it. Who receives the packs (distribution.yaml) and the settings file (which holds the
mail server's) are not compared: editing them must not block sending. Packs are grouped
into emails under the attachment limit as sent (base64).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import commentary, fileio, manifest, quality
from ..config import Project
from ..errors import ConfigError, DeliveryError, ReportlibError
from ..layout import PeriodOutput
from .models import distribution_path

MB = 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """A pack as the delivery log records it: node, attachment name, sha256 and size on disk."""

    node: str
    file: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Pack:
    """One node's board pack as it is on disk now."""

    node: str
    name: str
    path: Path
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        """The attachment's name in the email (the node id with `/` as `-`)."""
        return f"board-pack-{self.node.replace('/', '-')}.pdf"

    @property
    def encoded_size(self) -> int:
        return encoded_size(self.size)

    def attachment(self) -> Attachment:
        return Attachment(self.node, self.filename, self.sha256, self.size)


def encoded_size(size: int) -> int:
    """Bytes an attachment of `size` bytes takes in the email: base64 in 76-character lines + CRLF."""
    chars = 4 * math.ceil(size / 3)
    return chars + 2 * math.ceil(chars / 76)


def period_nodes(output: PeriodOutput) -> tuple[str, ...]:
    """Node ids of the period's scorecard, in scorecard order."""
    card = output.scorecard_parquet
    if not card.is_file():
        raise DeliveryError(f"{card} not found: run `reportlib run --period {output.period}` first")
    return tuple(output.nodes())


def node_names(output: PeriodOutput) -> dict[str, str]:
    """Node id to display name, as the period's scorecard names them."""
    frame = pd.read_parquet(output.scorecard_parquet, columns=["node", "node_name"])
    frame = frame.drop_duplicates("node")
    return dict(zip(frame["node"].astype(str), frame["node_name"].astype(str), strict=True))


def require_current(project: Project, output: PeriodOutput, nodes: Iterable[str]) -> None:
    """Refuse a period whose run failed or did not finish, whose gate failed, or whose packs are stale."""
    period = output.period
    m = manifest.load(output)
    if m is None:
        raise DeliveryError(
            f"{output.dir}: no {output.manifest.name}, so nothing can be sent: run the period first"
        )
    if not m.finished:
        raise DeliveryError(f"{output.manifest}: the run of {period} did not finish")
    if manifest.stamp(m).get("status") == "failed":
        raise DeliveryError(f"{output.manifest}: the scorecard of {period} failed")
    failed = m.failed_nodes()
    if failed:
        raise DeliveryError(
            f"the run of {period} failed for {', '.join(failed)}: fix and re-run before sending"
        )
    quality.require_sendable(output)
    _require_same_inputs(project, m, period)
    card = output.scorecard_parquet
    built = card.stat().st_mtime
    for node in nodes:
        pdf = output.pack_pdf(node)
        if not pdf.is_file():
            raise DeliveryError(f"{pdf} is missing: run `reportlib run --period {period}` first")
        if pdf.stat().st_mtime < built:
            raise DeliveryError(f"{pdf} is older than {card}: re-run the period before sending")
        recorded = m.files.get(pdf.relative_to(output.dir).as_posix(), {}).get("sha256")
        if recorded != fileio.sha256(pdf):
            state = "is not in" if recorded is None else "differs from the sha256 in"
            raise DeliveryError(
                f"{pdf} {state} {output.manifest.name}: re-run the period before sending"
            )


class DraftCommentaryError(ReportlibError):
    """Packs to send carry draft commentary and `--allow-draft` was not given (exit 2)."""


def draft_packs(project: Project, output: PeriodOutput, nodes: Iterable[str]) -> dict[str, Path]:
    """The nodes whose pack shows draft commentary, with the commentary file of each.

    A commentary file with `status: draft` in its front matter (as `commentary draft` writes
    it) is stamped "not yet reviewed" in the pack. What counts is the commentary the pack was
    rendered from: when the file changed since (say the draft line was removed but the period
    not re-run), the pack still shows the old text, so that is refused too (DeliveryError).
    """
    recorded = manifest.load(output)
    drafts: dict[str, Path] = {}
    for node in nodes:
        path = commentary.path_for(project, output.period, node)
        present = path.is_file()
        digest = manifest.input_digests({"c": fileio.sha256(path) if present else None})["c"]
        rendered = (manifest.stamp(recorded, node).get("inputs") or {}).get("commentary")
        if rendered is not None and rendered != digest:
            raise DeliveryError(
                f"{path} changed since the pack of {node} was rendered: "
                f"re-run `reportlib run --period {output.period}` before sending"
            )
        if not present:
            continue
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read commentary: {e}") from e
        meta, _ = commentary.split_front_matter(commentary.strip_bidi(text), path)
        if commentary.is_draft(meta):
            drafts[node] = path
    return drafts


def require_reviewed(project: Project, output: PeriodOutput, nodes: Iterable[str]) -> None:
    """Refuse (DraftCommentaryError, one line) packs with draft commentary, naming nodes and files."""
    drafts = draft_packs(project, output, nodes)
    if not drafts:
        return
    root = project.settings.root
    files = ", ".join(
        p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)
        for p in drafts.values()
    )
    s = "s" if len(drafts) > 1 else ""
    raise DraftCommentaryError(
        f"draft commentary, not yet reviewed, in the pack{s} of {', '.join(drafts)} ({files}): "
        "review it, remove the `status: draft` line and re-run, or send with --allow-draft"
    )


def _require_same_inputs(project: Project, m: manifest.Manifest, period: str) -> None:
    """Refuse when an input data or configuration file changed (or appeared, or went) since the run."""
    root = project.settings.root
    ignored = {
        manifest.hash_files([p], root).popitem()[0]
        for p in (project.config_file, distribution_path(project))
        if p.is_file()
    }

    def hashes(entries: Mapping[str, Mapping[str, object]]) -> dict[str, object]:
        return {k: v.get("sha256") for k, v in entries.items() if k not in ignored}

    before = {**hashes(m.inputs), **hashes(m.config)}
    now = {
        **hashes(manifest.hash_files(manifest.input_files(project), root)),
        **hashes(manifest.hash_files(manifest.config_files(project), root)),
    }
    changed = sorted(k for k in {*before, *now} if before.get(k) != now.get(k))
    if not changed and _settings_changed(project, m):
        changed = [f"the settings in {project.config_file.name}"]
    if changed:
        raise DeliveryError(
            f"inputs changed since the run of {period}: re-run ({', '.join(changed)})"
        )


def _settings_changed(project: Project, m: manifest.Manifest) -> bool:
    """True when the settings the figures depend on differ from those the run recorded.

    The settings file as a whole is not compared (its `[smtp]` section may change freely);
    the scorecard step's stamp records a digest of the figure settings alone
    (`manifest.figure_config`), which is what is compared here.
    """
    recorded = (manifest.stamp(m).get("inputs") or {}).get("config")
    if recorded is None:  # computed without `reportlib run`: nothing recorded to compare
        return False
    now = manifest.input_digests({"config": manifest.figure_config(project)})["config"]
    return bool(recorded != now)


def packs(output: PeriodOutput, nodes: Iterable[str], names: Mapping[str, str]) -> dict[str, Pack]:
    """The current pack of each node, hashed (the delivery log compares hashes to skip re-sends)."""
    out: dict[str, Pack] = {}
    for node in nodes:
        path = output.pack_pdf(node)
        out[node] = Pack(
            node, names.get(node, node), path, fileio.sha256(path), path.stat().st_size
        )
    return out


def split_packs(packs: Sequence[Pack], limit: int) -> tuple[list[list[Pack]], list[Pack]]:
    """Group packs into emails of at most `limit` attachment bytes as sent (base64-encoded).

    Mail servers limit the message as sent, about 4/3 of the PDFs' size; a pack over the
    limit on its own is refused.
    """
    parts: list[list[Pack]] = []
    refused = [p for p in packs if p.encoded_size > limit]
    size = 0
    for p in packs:
        if p.encoded_size > limit:
            continue
        if parts and size + p.encoded_size <= limit:
            parts[-1].append(p)
            size += p.encoded_size
        else:
            parts.append([p])
            size = p.encoded_size
    return parts, refused
