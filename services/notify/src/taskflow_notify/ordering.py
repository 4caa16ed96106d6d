"""The one rule every read model here applies: an event replaces state only when it is newer.

Events arrive in no guaranteed order (concurrent deliveries, retries, several relays and
consumers). Producers stamp each change with the aggregate's version; the read model keeps the
version it last applied, and an event at or below it is stale or a redelivery.
"""

from __future__ import annotations

UNVERSIONED = 0  # what a read model holds before any versioned event reached it


def is_newer(incoming: int | None, held: int) -> bool:
    """Whether an event stamped `incoming` should replace state last changed at `held`.

    Events from producers that predate versions carry none: they apply only while nothing
    versioned is held (the behaviour before versions), never over a versioned change.
    """
    if incoming is None:
        return held == UNVERSIONED
    return incoming > held
