"""event_type -> data model, and JSON Schema export of every contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from taskflow_common.events.contracts.admin import ADMIN_EVENTS
from taskflow_common.events.contracts.suggest import SUGGEST_EVENTS
from taskflow_common.events.contracts.tasks import TASKS_EVENTS
from taskflow_common.events.envelope import Envelope, EventData

EVENT_TYPES: dict[str, type[EventData]] = {
    model.EVENT_TYPE: model for model in (*TASKS_EVENTS, *SUGGEST_EVENTS, *ADMIN_EVENTS)
}


class UnknownEventTypeError(LookupError):
    pass


def data_model_for(event_type: str) -> type[EventData]:
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventTypeError(event_type) from None


def parse_data(envelope: Envelope[Any]) -> EventData:
    """Validate an envelope's raw data against its registered contract."""
    return data_model_for(envelope.event_type).model_validate(envelope.data)


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per event type: the envelope with `data` of that type's model."""
    schemas: dict[str, dict[str, Any]] = {}
    for event_type, model in sorted(EVENT_TYPES.items()):
        schema = Envelope[model].model_json_schema()  # type: ignore[valid-type]
        schema["title"] = event_type
        schema["properties"]["event_type"] = {"const": event_type, "type": "string"}
        schema["properties"]["schema_version"] = {
            "const": model.schema_version(),
            "type": "integer",
        }
        schema["$id"] = f"https://taskflow.dev/schemas/events/{event_type}.json"
        schemas[event_type] = schema
    return schemas


def write_json_schemas(directory: Path) -> list[Path]:
    """Write (and return) `<event_type>.json` for every contract; removes stale files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    wanted = json_schemas()
    for stale in directory.glob("*.json"):
        if stale.stem not in wanted:
            stale.unlink()
    for event_type, schema in wanted.items():
        path = directory / f"{event_type}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
