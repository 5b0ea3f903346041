"""Notification preferences in PostgreSQL (``notification_preferences``, migration 031): one JSON document per
person, replaced whole by ``PUT /me/notification-preferences`` and read by the notifications process."""

from __future__ import annotations

import json
from datetime import datetime

from application.notification_prefs import Preferences
from infra.postgres import PgDatabase, PgTx


class PgPreferences:
    def __init__(self, db: PgDatabase) -> None:
        self.db = db

    async def get(self, user_id: str) -> Preferences | None:
        row = await self.db.fetchone("SELECT preferences FROM notification_preferences WHERE user_id = %s", (user_id,))
        return None if row is None else Preferences.from_json(row["preferences"])

    async def put(self, prefs: Preferences, now: datetime) -> Preferences:
        await self.db.fetch(
            "INSERT INTO notification_preferences (user_id, preferences, updated_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (user_id) DO UPDATE SET preferences = EXCLUDED.preferences,"
            " updated_at = EXCLUDED.updated_at RETURNING user_id",
            (prefs.user_id, json.dumps(prefs.to_json(), ensure_ascii=False), now),
        )
        return prefs


async def preferences_in(tx: PgTx, user_ids: list[str]) -> dict[str, Preferences]:
    """The preferences of these people, read in the caller's transaction."""
    if not user_ids:
        return {}
    rows = await tx.fetch(
        "SELECT user_id, preferences FROM notification_preferences WHERE user_id = ANY(%s::uuid[])", (user_ids,)
    )
    return {str(r["user_id"]): Preferences.from_json(r["preferences"]) for r in rows}
