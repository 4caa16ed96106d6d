"""The OpenAPI document describes the error bodies the shared handlers really send."""

import jsonschema
from fastapi import FastAPI
from fastapi.testclient import TestClient

from taskflow_common.problems import PROBLEM_MEDIA_TYPE, not_found
from taskflow_common.web import install_problem_handlers
from taskflow_common.web.errors import PROBLEM_SCHEMA


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/things/{thing_id}")
    async def get_thing(thing_id: int) -> dict[str, int]:
        raise not_found("no such thing")

    return app


def test_every_error_response_is_documented_as_problem_json():
    spec = _app().openapi()
    responses = spec["paths"]["/things/{thing_id}"]["get"]["responses"]

    assert list(responses["422"]["content"]) == [PROBLEM_MEDIA_TYPE]
    assert list(responses["4XX"]["content"]) == [PROBLEM_MEDIA_TYPE]
    assert list(responses["200"]["content"]) == ["application/json"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_the_bodies_sent_match_the_documented_problem_schema():
    client = TestClient(_app())

    for path in ("/things/1", "/things/not-a-number"):
        response = client.get(path)
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
        jsonschema.validate(response.json(), PROBLEM_SCHEMA)
