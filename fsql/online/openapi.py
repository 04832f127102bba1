"""The OpenAPI 3.1 description of the fsql feature server, as data."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_schema"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "Malformed JSON or request shape"),
    "401": _json(_ref("Error"), "Missing or unknown bearer token (when tokens are set)"),
    "403": _json(_ref("Error"), "Foreign Origin, or a read-only token on a write route"),
    "413": _json(_ref("Error"), "Body larger than the configured limit, or more entity "
                 "keys / rows than --max-entities"),
    "415": _json(_ref("Error"), "Content-Type other than application/json"),
    "422": _json(_ref("Error"), "Unknown feature set / feature / column, or a wrong type"),
}

_SCHEMAS: dict[str, Any] = {
    "GetOnlineFeaturesRequest": {
        "type": "object", "required": ["features", "entities"], "additionalProperties": False,
        "properties": {
            "features": {"type": "array", "minItems": 1, "items": {"type": "string"},
                         "description": "References 'feature_set:feature' or 'feature_set:*'",
                         "example": ["user_spend_30d:spend_30d"]},
            "entities": {"type": "object", "description": "join key -> list of values",
                         "additionalProperties": {"type": "array"},
                         "example": {"user_id": [1, 2]}},
            "full_feature_names": {"type": "boolean", "default": False,
                                   "description": "Name features 'feature_set__feature'"},
        },
    },
    "GetOnlineFeaturesResponse": {
        "type": "object", "required": ["metadata", "results"],
        "properties": {
            "metadata": {"type": "object", "properties": {
                "feature_names": {"type": "array", "items": {"type": "string"}}}},
            "results": {"type": "array", "description": "One entry per column: entity keys "
                        "first, then features, in metadata.feature_names order",
                        "items": {"type": "object", "properties": {
                            "values": {"type": "array", "items": {}},
                            "statuses": {"type": "array", "items": {
                                "type": "string",
                                "enum": ["PRESENT", "NOT_FOUND", "OUTSIDE_MAX_AGE"]}},
                            "event_timestamps": {"type": "array", "items": {
                                "type": ["string", "null"], "format": "date-time"}}}}},
        },
    },
    "PushRequest": {
        "type": "object", "required": ["df"], "additionalProperties": False,
        "properties": {
            "push_source_name": {"type": "string", "description": "Feature set name (Feast)"},
            "feature_set": {"type": "string", "description": "Feature set name"},
            "df": {"type": "object", "additionalProperties": {"type": "array"},
                   "description": "column -> list of values: join keys, the timestamp "
                   "column (ISO string or epoch seconds) and every feature"},
            "to": {"type": "string", "enum": ["online", "offline", "online_and_offline"],
                   "default": "online"},
        },
    },
    "PushResponse": {"type": "object", "properties": {
        "feature_set": {"type": "string"}, "rows": {"type": "integer"},
        "online_written": {"type": "integer"}, "offline": {"type": "boolean"}}},
    "Error": {"type": "object", "required": ["detail"], "properties": {
        "detail": {"type": "string"}, "hint": {"type": ["string", "null"]},
        "expected": {"type": ["string", "null"]}}},
}


def openapi_schema(title: str = "fsql feature server", version: str = "0.1.0") -> dict[str, Any]:
    """The OpenAPI document served at ``GET /openapi.json``."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Online feature lookups and pushes (Feast-compatible JSON)."},
        "paths": {
            "/get-online-features": {"post": {
                "summary": "Latest feature values for entities",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("GetOnlineFeaturesRequest")}}},
                "responses": {"200": _json(_ref("GetOnlineFeaturesResponse"), "Values"),
                              **_ERRORS}}},
            "/push": {"post": {
                "summary": "Validate and write rows online and/or offline",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("PushRequest")}}},
                "responses": {"200": _json(_ref("PushResponse"), "Written"), **_ERRORS}}},
            "/health": {"get": {"summary": "Liveness and store reachability", "responses": {
                "200": _json({"type": "object"}, "Healthy"),
                "503": _json(_ref("Error"), "Store unreachable")}}},
            "/feature-sets": {"get": {"summary": "Feature sets served, with schema and status",
                                      "responses": {"200": _json({"type": "array"}, "List")}}},
            "/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": _json({"type": "object"}, "OK")}}},
            "/docs": {"get": {"summary": "This document as a page (works offline)",
                              "responses": {"200": {"description": "HTML"}}}},
        },
        "components": {"schemas": _SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "Only when the server has tokens: read tokens may "
                       "call every route but /push; write tokens every route"}}},
        "security": [{}, {"bearer": []}],
    }
