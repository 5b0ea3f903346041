"""Audit the books from the event store alone: flash-sale stock, orders and payments, and tampering.

``audit(settings, kind, id, at=...)`` (``infra.audit.service``) returns an ``AuditReport``;
``add_audit_arguments`` / ``run_audit`` are the ``livecommerce audit`` subcommand, cheap to import (the CLI
builds its parser on every command). See docs/replay-and-audit.md.
"""

from __future__ import annotations

from typing import Any

from infra.audit.cli import add_audit_arguments, run_audit

__all__ = ["AuditReport", "AuditSubjectNotFound", "Finding", "add_audit_arguments", "audit", "run_audit"]


def __getattr__(name: str) -> Any:
    """The heavy parts load on first use."""
    if name in ("AuditReport", "Finding"):
        from infra.audit import model

        return getattr(model, name)
    if name in ("audit", "AuditSubjectNotFound"):
        from infra.audit import service

        return getattr(service, name)
    raise AttributeError(name)
