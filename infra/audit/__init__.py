"""Audit the books from the event store alone: flash-sale stock, orders and payments, and tampering.

``audit(settings, kind, id, at=...)`` returns an ``AuditReport``; ``add_audit_arguments`` / ``run_audit`` are
the ``livecommerce audit`` subcommand. See docs/replay-and-audit.md.
"""

from infra.audit.cli import add_audit_arguments, run_audit
from infra.audit.model import AuditReport, Finding
from infra.audit.service import AuditSubjectNotFound, audit

__all__ = ["AuditReport", "AuditSubjectNotFound", "Finding", "add_audit_arguments", "audit", "run_audit"]
