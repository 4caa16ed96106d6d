import asyncio
import copy
import json

from gateway_support import UPSTREAM_SPEC
from openapi_spec_validator import validate

from taskflow_auth_gateway.application.ports import UpstreamUnavailableError
from taskflow_auth_gateway.domain.routes import RouteTable
from taskflow_auth_gateway.interfaces.http.openapi import OpenApiAggregator

GATEWAY_SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "gateway", "version": "1"},
    "paths": {
        "/auth/login": {
            "post": {"operationId": "login", "responses": {"200": {"description": "tokens"}}}
        }
    },
}

# A 3.0 spec (as Django tools emit) whose TaskPublic differs from the tasks one.
SUGGEST_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "suggest", "version": "1"},
    "paths": {
        "/api/v1/suggestions": {
            "get": {
                "operationId": "get_task",
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/TaskPublic"}
                            }
                        },
                    }
                },
            }
        },
        "/api/v1/tasks/hijack": {"get": {"responses": {"200": {"description": "not routed"}}}},
    },
    "components": {
        "schemas": {
            "TaskPublic": {
                "type": "object",
                "properties": {"priority": {"type": "string", "nullable": True}},
            }
        }
    },
}


class FakeUpstream:
    def __init__(self, name, spec=None):
        self.name = name
        self.spec = spec

    async def get(self, path):
        if self.spec is None:
            raise UpstreamUnavailableError(f"{self.name} is down")
        return 200, json.dumps(self.spec).encode()


async def merged():
    aggregator = OpenApiAggregator(
        upstreams={
            "tasks": FakeUpstream("tasks", UPSTREAM_SPEC),
            "suggest": FakeUpstream("suggest", copy.deepcopy(SUGGEST_SPEC)),
            "notify": FakeUpstream("notify"),
        },
        routes=RouteTable(),
        own_spec=lambda: GATEWAY_SPEC,
    )
    await aggregator.refresh()
    return aggregator.document()


async def test_the_merged_document_is_valid_openapi_31():
    doc = await merged()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_only_paths_routed_to_a_service_are_taken_from_its_spec():
    doc = await merged()
    assert set(doc["paths"]) == {"/auth/login", "/api/v1/tasks/{task_id}", "/api/v1/suggestions"}
    assert doc["paths"]["/api/v1/tasks/{task_id}"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in doc["paths"]["/auth/login"]["post"]


async def test_conflicting_components_and_operation_ids_are_renamed():
    # Services merge in name order: suggest keeps the plain names, tasks gets prefixed ones.
    doc = await merged()
    schemas = doc["components"]["schemas"]
    assert set(schemas) == {"TaskPublic", "tasks.TaskPublic"}
    tasks_op = doc["paths"]["/api/v1/tasks/{task_id}"]["get"]
    ref = tasks_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/tasks.TaskPublic"
    assert tasks_op["operationId"] == "tasks_get_task"
    assert doc["paths"]["/api/v1/suggestions"]["get"]["operationId"] == "get_task"
    # 3.0's nullable became a 3.1 null type.
    assert schemas["TaskPublic"]["properties"]["priority"]["type"] == ["string", "null"]


async def test_a_service_that_is_down_is_left_out_and_reported():
    doc = await merged()
    assert "notify" in doc["info"]["x-taskflow-missing-services"]


async def test_only_components_the_routed_paths_reach_are_merged():
    # The unrouted path's schema stays out (a service's internal admin API must not leak);
    # the routed path's schema and what it references, transitively, come in.
    spec = copy.deepcopy(SUGGEST_SPEC)
    spec["paths"]["/api/v1/tasks/hijack"]["get"]["responses"]["200"]["content"] = {
        "application/json": {"schema": {"$ref": "#/components/schemas/Internal"}}
    }
    spec["components"]["schemas"]["Internal"] = {"type": "object"}
    spec["components"]["schemas"]["TaskPublic"]["properties"]["owner"] = {
        "$ref": "#/components/schemas/Owner"
    }
    spec["components"]["schemas"]["Owner"] = {"type": "string"}
    aggregator = OpenApiAggregator(
        upstreams={"suggest": FakeUpstream("suggest", spec)},
        routes=RouteTable(),
        own_spec=lambda: GATEWAY_SPEC,
    )
    await aggregator.refresh()
    doc = aggregator.document()

    assert set(doc["components"]["schemas"]) == {"TaskPublic", "Owner"}
    validate(doc)


class SlowUpstream(FakeUpstream):
    async def get(self, path):
        await asyncio.sleep(0.05)  # a Django upstream's first request: imports, a warm-up
        return await super().get(path)


async def test_a_started_aggregator_serves_every_upstream_it_could_fetch():
    aggregator = OpenApiAggregator(
        upstreams={"suggest": SlowUpstream("suggest", copy.deepcopy(SUGGEST_SPEC))},
        routes=RouteTable(),
        own_spec=lambda: GATEWAY_SPEC,
    )
    await aggregator.start()
    try:
        doc = aggregator.document()
    finally:
        await aggregator.close()

    assert "/api/v1/suggestions" in doc["paths"]
    assert "x-taskflow-missing-services" not in doc["info"]
