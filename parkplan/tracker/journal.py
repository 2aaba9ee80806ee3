"""The audit trail: every change to a tracker record, append-only.

Each entry says who, when, what (entity and id, the action) and the record before and after
as JSON. This module can add entries and read them; it has no way to change or remove one,
and on PostgreSQL a trigger of migration 0003 makes the database refuse ``UPDATE``,
``DELETE`` and ``TRUNCATE`` on the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from parkplan.identity.users import Visibility
from parkplan.tracker.tables import journal as _journal


@dataclass(frozen=True)
class JournalEntry:
    """One change: who, when, which record, and the record before and after."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    visibility: Visibility

    def changed_fields(self) -> list[str]:
        """Return the fields whose value differs between before and after (not version)."""
        before, after = self.before or {}, self.after or {}
        return [
            k
            for k in sorted(set(before) | set(after))
            if k != "version" and before.get(k) != after.get(k)
        ]

    def summary(self) -> str:
        """Describe the change in one line, e.g. ``forecast 2027-03-31 → 2027-05-31``."""
        if self.before is None:
            return f"{self.action} {self.entity} {self.entity_id}"
        parts = []
        for key in self.changed_fields():
            parts.append(
                f"{key} {_short((self.before or {}).get(key))} → "
                f"{_short((self.after or {}).get(key))}"
            )
        return ", ".join(parts) or self.action

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "before": self.before,
            "after": self.after,
            "visibility": self.visibility.value,
        }


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "…"


def _dump(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


def record(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    visibility: Visibility | str = Visibility.internal,
) -> None:
    """Append one entry, inside the caller's transaction.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        The transaction that makes the change, so that the change and its entry commit
        (or roll back) together.
    at : datetime
    actor : str
        The user's name (``system`` for seeding).
    action : str
        ``create``, ``update``, ``acknowledge``, ``act``, ``close``, ``report``, …
    entity, entity_id : str
    before, after : dict or None
        JSON-ready record states; ``None`` before a creation.
    visibility : Visibility
        The higher of the record's levels before and after; readers below it do not see
        the entry.
    """
    conn.execute(
        _journal.insert().values(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before_json=_dump(before),
            after_json=_dump(after),
            visibility=Visibility(visibility).value,
        )
    )


def _entry(row: Any) -> JournalEntry:
    return JournalEntry(
        row.id,
        row.at,
        row.actor,
        row.action,
        row.entity,
        row.entity_id,
        json.loads(row.before_json) if row.before_json else None,
        json.loads(row.after_json) if row.after_json else None,
        Visibility(row.visibility),
    )


def history(
    conn: Connection,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: int | None = None,
) -> list[JournalEntry]:
    """Read entries, oldest first, optionally of one entity or one record."""
    query = sa.select(_journal).order_by(_journal.c.id)
    if entity is not None:
        query = query.where(_journal.c.entity == entity)
    if entity_id is not None:
        query = query.where(_journal.c.entity_id == str(entity_id))
    if limit is not None:
        query = query.order_by(None).order_by(_journal.c.id.desc()).limit(limit)
        return [_entry(r) for r in reversed(conn.execute(query).all())]
    return [_entry(r) for r in conn.execute(query).all()]


def last_change(conn: Connection, entity: str, entity_id: str) -> JournalEntry | None:
    """Return the newest entry of one record, or ``None``."""
    found = history(conn, entity=entity, entity_id=entity_id, limit=1)
    return found[0] if found else None


__all__ = ["JournalEntry", "history", "last_change", "record"]
