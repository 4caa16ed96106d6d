from taskflow_common.ids import uuid7
from taskflow_common.problems import FieldError, Problem, validation_problem


def test_uuid7_has_version_7_and_sorts_in_creation_order():
    ids = [uuid7() for _ in range(2000)]

    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_a_problem_renders_rfc9457_fields():
    body = Problem(status=404, type="not-found", detail="No such task.").to_dict()

    assert body == {
        "type": "https://taskflow.dev/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "No such task.",
    }


def test_a_validation_problem_lists_the_offending_fields():
    body = validation_problem([FieldError(["body", "title"], "too long")]).to_dict()

    assert body["status"] == 422
    assert body["errors"] == [{"loc": ["body", "title"], "msg": "too long", "type": "value_error"}]
