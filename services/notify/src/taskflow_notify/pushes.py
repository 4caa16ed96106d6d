"""After commit: hand frames to the channel layer, one group per recipient."""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.layers import BaseChannelLayer

from taskflow_notify.frames import user_group
from taskflow_notify.metrics import DELIVERIES
from taskflow_notify.services import IngestOutcome

log = logging.getLogger(__name__)


async def push_outcome(layer: BaseChannelLayer, outcome: IngestOutcome) -> None:
    occurred = outcome.occurred_at.timestamp() if outcome.occurred_at else None
    for push in outcome.pushes:
        await _send(
            layer,
            push.user_id,
            {
                "type": "notify.frame",
                "frame_json": json.dumps(push.frame),
                "seq": push.seq,
                "occurred_at": occurred,
            },
        )
    change = outcome.task_change
    if change is not None:
        frame = json.dumps(
            {
                "type": "task.changed",
                "change": change.change,
                "task": change.task,
                "occurred_at": outcome.occurred_at.isoformat() if outcome.occurred_at else None,
            }
        )
        for user_id in sorted(change.audience):
            await _send(
                layer,
                user_id,
                {
                    "type": "notify.frame",
                    "frame_json": frame,
                    "occurred_at": occurred,
                },
            )


async def _send(layer: BaseChannelLayer, user_id: str, message: dict[str, Any]) -> None:
    try:
        await layer.group_send(user_group(user_id), message)
    except Exception:
        # Stored notifications are replayed on reconnect; a lost live frame is the only cost.
        DELIVERIES.labels("websocket", "publish_failed").inc()
        log.warning("channel layer publish failed", extra={"user_id": user_id}, exc_info=True)
