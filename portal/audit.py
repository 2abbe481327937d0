"""Append-only, hash-chained audit events.

Each event's hash covers its own fields and the previous event's hash, so changing, removing or
inserting a row breaks the chain from there on; `verify` finds the first break. Appends are
serialised by the unique prev_hash: two workers that read the same head collide on insert, and
the loser re-reads the head and tries again. No Flask here: callers pass the session and the clock.

Lock order, everywhere: the subject user's row first, then the audit chain. `record` takes the
user row itself (FOR UPDATE on PostgreSQL), so a transaction that appends and then updates its
user cannot deadlock with one that updated the user and then appends.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import AuditEvent, User

GENESIS = "0" * 64
ATTEMPTS = 20
WRITTEN = "audit_written"  # session.info key: [(id, hash, action)] of the events this session appended


def event_hash(prev_hash: str, at: datetime, actor_id: int | None, subject_id: int | None,
               action: str, detail: str, ip: str | None) -> str:
    body = json.dumps([prev_hash, at.isoformat(timespec="microseconds"), actor_id, subject_id,
                       action, detail, ip], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def head(session: Session) -> str:
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return last or GENESIS


def record(session: Session, action: str, *, at: datetime, actor_id: int | None = None,
           subject_id: int | None = None, detail: str = "", ip: str | None = None) -> AuditEvent:
    """Append one event inside the caller's transaction (a savepoint, so a collision rolls back
    only this insert)."""
    if subject_id is not None:
        session.execute(select(User.id).where(User.id == subject_id).with_for_update())
    for _ in range(ATTEMPTS):
        prev = head(session)
        event = AuditEvent(at=at, actor_id=actor_id, subject_id=subject_id, action=action,
                           detail=detail, ip=ip, prev_hash=prev,
                           hash=event_hash(prev, at, actor_id, subject_id, action, detail, ip))
        try:
            with session.begin_nested():
                session.add(event)
        except IntegrityError:
            continue
        # what this session wrote, for whoever acts on events once they are committed (notices.py)
        session.info.setdefault(WRITTEN, []).append((event.id, event.hash, action))
        return event
    raise RuntimeError("could not append to the audit chain")


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    first_bad_id: int | None = None
    reason: str = ""
    problems: tuple[tuple[int, str], ...] = ()  # every event that breaks the chain, with why


NOT_FOLLOWING = "does not follow the event before it"
CHANGED = "its content was changed after it was written"


def verify(session: Session) -> ChainReport:
    """Walk the chain in id order and recompute every hash. Every break is reported: an event
    whose content was changed (its hash no longer matches it), and an event whose predecessor
    was removed, inserted or rewritten with a new hash (it no longer follows the one before)."""
    expected_prev = GENESIS
    count = 0
    problems: list[tuple[int, str]] = []
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        count += 1
        recomputed = event_hash(event.prev_hash, event.at, event.actor_id, event.subject_id,
                                event.action, event.detail or "", event.ip)
        if event.prev_hash != expected_prev:
            problems.append((event.id, NOT_FOLLOWING))
        elif recomputed != event.hash:
            problems.append((event.id, CHANGED))
        expected_prev = event.hash
    if problems:
        return ChainReport(False, count, problems[0][0], problems[0][1], tuple(problems))
    return ChainReport(True, count)
