"""Admin's OpenAPI 3.1 document (merged by the gateway into the suite's /openapi.json)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

_PROBLEM = {
    "application/problem+json": {
        "schema": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
        }
    }
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "TaskFlow admin", "version": "1"},
        "paths": {
            "/api/v1/admin/": {
                "get": {
                    "tags": ["admin"],
                    "operationId": "admin_index",
                    "summary": "Who is calling and what the admin API offers (realm role `admin`)",
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "service": {"type": "string"},
                                            "caller": {"type": "object"},
                                            "resources": {
                                                "type": "array",
                                                "items": {"type": "string"},
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        "401": {"description": "No valid bearer token", "content": _PROBLEM},
                        "403": {
                            "description": "The token lacks the admin role",
                            "content": _PROBLEM,
                        },
                    },
                }
            }
        },
    }


async def openapi_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document())
