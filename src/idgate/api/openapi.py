"""The OpenAPI 3.1 document, built from the operations table and the
pydantic models the handlers validate with: one source for both."""
from typing import Any, Dict, List, Tuple, Type

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .handlers import OPERATIONS, Operation, _version
from .models import ID_PATTERN, ErrorBody

REF = "#/components/schemas/{model}"

ERRORS = {
    "400": "Malformed input (not JSON, a bad header)",
    "401": "No bearer token, or not a valid one",
    "403": "The caller lacks the role, or the approver rules refuse it",
    "404": "No such request or execution",
    "409": "The request or execution is not in a state that allows this",
    "413": "The body is too large",
    "422": "Invalid input: the error names the field",
    "500": "A bug in idgate (never input): see the server log",
}


def _error_codes(op: Operation) -> List[str]:
    codes = ["401", "403", "422", "500"]
    if op.body is not None:
        codes += ["400", "413"]
    if op.path_params:
        codes += ["404", "409"]
    if op.mutating:
        codes.append("400")  # a malformed Idempotency-Key
        codes.append("409")  # the engine refuses (kill switch, state)
    return sorted(set(codes))


def build_openapi() -> Dict[str, Any]:
    models: List[Tuple[Type[BaseModel], Any]] = [(ErrorBody, "serialization")]
    for op in OPERATIONS:
        models.append((op.response, "serialization"))
        if op.body is not None:
            models.append((op.body, "validation"))
    keyed, top = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
    schemas = dict(top.get("$defs", {}))

    def ref(model: Type[BaseModel], mode: str) -> Dict[str, Any]:
        return keyed[(model, mode)]

    paths: Dict[str, Dict[str, Any]] = {}
    for op in OPERATIONS:
        params: List[Dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}
            for name in op.path_params]
        if op.query is not None:
            qschema = op.query.model_json_schema(ref_template=REF)
            required = set(qschema.get("required", []))
            for name, prop in qschema["properties"].items():
                prop = {k: v for k, v in prop.items() if k != "title"}
                params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
        if op.mutating:
            params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "description": "a retried call with the same key returns the first call's response "
                                          "and has no second effect",
                           "schema": {"type": "string", "minLength": 1, "maxLength": 200,
                                      "pattern": "^[\\x20-\\x7e]+$"}})
        responses: Dict[str, Any] = {"200": {"description": "OK", "content": {
            "application/json": {"schema": ref(op.response, "serialization")}}}}
        for code in _error_codes(op):
            responses[code] = {"description": ERRORS[code], "content": {
                "application/json": {"schema": ref(ErrorBody, "serialization")}}}
        item: Dict[str, Any] = {"operationId": op.name, "summary": op.summary, "tags": [op.tag],
                                "description": "Roles: %s." % ", ".join(sorted(op.roles)),
                                "parameters": params, "responses": responses,
                                "security": [{"bearer": []}]}
        if op.body is not None:
            item["requestBody"] = {"required": op.body.__name__ in ("Alert", "ApproveBody", "OutcomeBody"),
                                   "content": {"application/json": {"schema": ref(op.body, "validation")}}}
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "idgate", "version": _version(),
                 "description": "The gate between AI security recommendations and identity changes. "
                                "Every call needs a bearer token; the token's caller is who acts "
                                "(approver, rollback author)."},
        "servers": [{"url": "http://127.0.0.1:8742"}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
