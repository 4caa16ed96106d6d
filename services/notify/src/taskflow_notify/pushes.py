"""After commit: hand stored feed frames to the channel layer, one group per recipient."""

from __future__ import annotations

import json
import logging

from channels.layers import BaseChannelLayer

from taskflow_notify.frames import user_group
from taskflow_notify.metrics import LIVE_PUBLISH_FAILED
from taskflow_notify.services import IngestOutcome
from taskflow_notify.tracing import frame_publish_span

log = logging.getLogger(__name__)


class LivePublishError(RuntimeError):
    """Some frames did not reach the channel layer: the event is not done, retry it.

    The frames are stored, so a retry republishes them and connections skip what they already
    sent (by position); a connection that never gets them fills the gap from the feed.
    """


async def push_outcome(layer: BaseChannelLayer, outcome: IngestOutcome) -> None:
    occurred = outcome.occurred_at.timestamp() if outcome.occurred_at else None
    failed = 0
    for push in outcome.pushes:
        message: dict[str, object] = {
            "type": "notify.frame",
            "frame_json": json.dumps(push.frame),
            "pos": push.position,
            "occurred_at": occurred,
        }
        try:
            with frame_publish_span(push.position, message):
                await layer.group_send(user_group(push.user_id), message)
        except Exception:
            failed += 1
            LIVE_PUBLISH_FAILED.inc()
            if failed == 1:
                log.warning("channel layer publish failed", exc_info=True)
    if failed:
        raise LivePublishError(f"{failed} of {len(outcome.pushes)} live frames not published")
