"""Each user's change feed: every frame a live client is sent, stored with a position.

Written in the consumer's ingest transaction (no hop on the task write path, ADR 0303), so
the feed, the notifications and the read models commit together. Read by the WebSocket
consumer (replay and gap fill) and by `GET /api/v1/notifications/changes`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Max, Min
from django.utils import timezone

from taskflow_notify.cursors import encode_sync_token
from taskflow_notify.metrics import FEED_APPENDED, FEED_LAG
from taskflow_notify.models import FeedEntry, FeedHead


@dataclass(frozen=True)
class FeedFrame:
    """A frame one event yields for one user, before it has a position."""

    user_id: str
    frame_type: str
    frame: dict[str, Any]


@dataclass(frozen=True)
class FeedPush:
    """A stored frame to hand to the channel layer after commit."""

    user_id: str
    position: int
    frame: dict[str, Any]


class FeedGoneError(Exception):
    """The position asked for is no longer (or not yet) served: the client must resync."""


def positioned(frame: dict[str, Any], position: int) -> dict[str, Any]:
    """The frame as sent: with its feed position and the sync token that resumes after it."""
    return {**frame, "pos": position, "sync_token": encode_sync_token(position)}


def feed_append(
    *, event_id: uuid.UUID, occurred_at: datetime, frames: list[FeedFrame]
) -> list[FeedPush]:
    """Give each frame the next position of its user's feed; a redelivered event adds nothing.

    Must run inside the ingest transaction. Heads are advanced in one statement in user order,
    so two events touching the same users lock their heads in the same order (no deadlock).
    """
    existing = list(FeedEntry.objects.filter(event_id=event_id).order_by("user_id", "position"))
    if existing:  # redelivered: publish again what the first delivery stored
        return [FeedPush(e.user_id, e.position, positioned(e.frame, e.position)) for e in existing]
    if not frames:
        return []
    heads = _heads_advance(Counter(f.user_id for f in frames))
    next_position = {user: head - count + 1 for user, (head, count) in heads.items()}
    entries = []
    for f in frames:
        position = next_position[f.user_id]
        next_position[f.user_id] += 1
        entries.append(
            FeedEntry(
                user_id=f.user_id,
                position=position,
                event_id=event_id,
                frame_type=f.frame_type,
                frame=f.frame,
                occurred_at=occurred_at,
            )
        )
    FeedEntry.objects.bulk_create(entries)
    FEED_APPENDED.inc(len(entries))
    FEED_LAG.observe(max((timezone.now() - occurred_at).total_seconds(), 0.0))
    return [FeedPush(e.user_id, e.position, positioned(e.frame, e.position)) for e in entries]


def _heads_advance(counts: Counter[str]) -> dict[str, tuple[int, int]]:
    """user -> (new head, frames added), advancing every head in one upsert."""
    table = connection.ops.quote_name(FeedHead._meta.db_table)
    users = sorted(counts)
    values = ", ".join(["(%s, %s, 0)"] * len(users))
    params: list[Any] = [x for u in users for x in (u, counts[u])]
    with connection.cursor() as cursor:
        # Only the quoted table name and placeholders are interpolated; values are parameters.
        sql = (
            f"INSERT INTO {table} (user_id, position, pruned_through) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (user_id) DO UPDATE SET position = {table}.position + EXCLUDED.position "
            "RETURNING user_id, position"
        )
        cursor.execute(sql, params)
        return {user: (int(head), counts[user]) for user, head in cursor.fetchall()}


# Read side


def feed_head(*, user_id: str) -> int:
    return FeedHead.objects.filter(user_id=user_id).values_list("position", flat=True).first() or 0


def feed_head_serving(*, user_id: str, position: int) -> int:
    """The feed's head, if everything after `position` is still kept; else FeedGoneError."""
    head = FeedHead.objects.filter(user_id=user_id).first()
    newest, pruned = (head.position, head.pruned_through) if head else (0, 0)
    if position > newest or position < pruned:
        raise FeedGoneError(position)
    return newest


def feed_after(*, user_id: str, position: int, limit: int) -> list[FeedEntry]:
    """The entries after `position`, oldest first; FeedGoneError if that is not servable."""
    feed_head_serving(user_id=user_id, position=position)
    return feed_between(user_id=user_id, after=position, upto=None, limit=limit)


def feed_between(*, user_id: str, after: int, upto: int | None, limit: int) -> list[FeedEntry]:
    qs = FeedEntry.objects.filter(user_id=user_id, position__gt=after)
    if upto is not None:
        qs = qs.filter(position__lte=upto)
    return list(qs.order_by("position")[:limit])


# Retention


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    oldest_created_at: datetime | None


def feed_prune(*, now: datetime, retention: timedelta, max_entries_per_user: int) -> PruneResult:
    """Drop entries older than the retention, and beyond each user's newest N; record the cut."""
    deleted = 0
    cutoff = now - retention
    old = FeedEntry.objects.filter(created_at__lt=cutoff)
    for user_id, through in _last_positions(old):
        deleted += _prune_user(user_id, through)
    over = FeedHead.objects.filter(position__gt=max_entries_per_user).values_list(
        "user_id", "position"
    )
    for user_id, position in over:
        deleted += _prune_user(user_id, position - max_entries_per_user)
    oldest = FeedEntry.objects.aggregate(oldest=Min("created_at"))["oldest"]
    return PruneResult(deleted=deleted, oldest_created_at=oldest)


def _last_positions(qs: Any) -> list[tuple[str, int]]:
    by_user = qs.values("user_id").annotate(through=Max("position"))
    return list(by_user.values_list("user_id", "through"))


def _prune_user(user_id: str, through: int) -> int:
    deleted, _ = FeedEntry.objects.filter(user_id=user_id, position__lte=through).delete()
    FeedHead.objects.filter(user_id=user_id, pruned_through__lt=through).update(
        pruned_through=through
    )
    return deleted
