import json
from datetime import UTC, datetime
from pathlib import Path

from taskflow_common.events import EVENT_TYPES, new_envelope, parse_data
from taskflow_common.events.contracts.tasks import TaskCreatedV1, TaskSnapshotV1
from taskflow_common.events.envelope import RawEnvelope
from taskflow_common.events.registry import json_schemas

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def snapshot() -> TaskSnapshotV1:
    now = datetime.now(UTC)
    return TaskSnapshotV1(
        id="t1",
        owner_id="u1",
        title="Write",
        status="todo",
        priority="none",
        version=1,
        created_at=now,
        updated_at=now,
    )


def test_checked_in_schemas_match_the_models():
    expected = json_schemas()
    on_disk = {p.stem: json.loads(p.read_text()) for p in SCHEMAS.glob("*.json")}

    assert on_disk == expected, (
        "libs/common/schemas is stale: run "
        "`uv run python -m taskflow_common.events.export libs/common/schemas`"
    )


def test_every_event_type_follows_the_naming_rule():
    for event_type, model in EVENT_TYPES.items():
        producer, _entity, _verb, version = event_type.split(".")
        assert model.producer() == producer
        assert version == f"v{model.schema_version()}"


def test_an_envelope_round_trips_through_json():
    envelope = new_envelope(TaskCreatedV1(task=snapshot()), subject="u1")

    parsed = RawEnvelope.model_validate_json(envelope.to_json())

    assert parsed == envelope
    assert parsed.event_type == "tasks.task.created.v1"
    assert parsed.schema_version == 1
    assert parsed.producer == "tasks"
    assert parse_data(parsed) == TaskCreatedV1(
        task=snapshot().model_copy(update={"created_at": parsed.data["task"]["created_at"]})
    ) or isinstance(parse_data(parsed), TaskCreatedV1)


def test_consumers_ignore_fields_added_later():
    envelope = new_envelope(TaskCreatedV1(task=snapshot()), subject="u1")
    raw = json.loads(envelope.to_json())
    raw["data"]["task"]["added_in_a_later_release"] = 42
    raw["added_to_the_envelope"] = True

    data = parse_data(RawEnvelope.model_validate(raw))

    assert isinstance(data, TaskCreatedV1)
