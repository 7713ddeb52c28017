"""`reportlib send`: email each recipient the board packs of their nodes (DESIGN.md "Outputs").

`data/distribution.yaml` names the sender, the subject template, delivery limits and the
recipients with their nodes. Every SMTP attempt is appended to the period's delivery log;
a re-run sends only packs not yet delivered with the same sha256. The SMTP password comes
only from REPORTLIB_SMTP_PASSWORD and is never logged or written.

One module per concern, data flowing down this list:
`models` (distribution.yaml) → `inventory` (the packs on disk, may the period be sent)
→ `log` (the delivery log) → `message` (what the emails say) → `transport` (SMTP and
retries) → `send` (the loop `send` and `send_escalations` share).
"""

from .inventory import (
    MB,
    Attachment,
    DraftCommentaryError,
    Pack,
    draft_packs,
    encoded_size,
    period_nodes,
    require_current,
    require_reviewed,
    split_packs,
)
from .log import AttemptOutcome, DeliveryLog, LogEntry, LogNotWritable, SmtpReply
from .message import (
    Email,
    Escalation,
    PackView,
    build_email,
    email_view,
    escalation_email,
    escalation_lists,
)
from .models import (
    DeliverySettings,
    Distribution,
    NodeRef,
    Person,
    Recipient,
    distribution_path,
    is_below,
    load_distribution,
    select_nodes,
)
from .send import RecipientOutcome, SendResult, Status, outbox_name, send, send_escalations
from .transport import (
    PASSWORD_ENV,
    OutcomeUnknown,
    Reply,
    Transport,
    send_with_retries,
    smtp_transport,
)

__all__ = [
    "MB",
    "PASSWORD_ENV",
    "Attachment",
    "AttemptOutcome",
    "DeliveryLog",
    "DeliverySettings",
    "Distribution",
    "DraftCommentaryError",
    "Email",
    "Escalation",
    "LogEntry",
    "LogNotWritable",
    "NodeRef",
    "OutcomeUnknown",
    "Pack",
    "PackView",
    "Person",
    "Recipient",
    "RecipientOutcome",
    "Reply",
    "SendResult",
    "SmtpReply",
    "Status",
    "Transport",
    "build_email",
    "distribution_path",
    "draft_packs",
    "email_view",
    "encoded_size",
    "escalation_email",
    "escalation_lists",
    "is_below",
    "load_distribution",
    "outbox_name",
    "period_nodes",
    "require_current",
    "require_reviewed",
    "select_nodes",
    "send",
    "send_escalations",
    "send_with_retries",
    "smtp_transport",
    "split_packs",
]
