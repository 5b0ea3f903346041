"""A handler's contract, declared once on the handler: ``@api(...)`` validates the request and documents it.

``@api(body=Model, query=Model, status=201, idempotency_key=True, signed_in=True, errors=(404, 409),
min_version=True)`` does, before the handler runs and in this order: the sign-in check (``signed_in``: 401, for
handlers that read the actor themselves, so that an anonymous request hears 401 before its body is judged;
``auth.requires`` does its own), the ``Idempotency-Key`` check (400
``idempotency_key_required``), then the body and the query string through the pydantic models (422
``validation_failed`` with the field codes of ``errors.validation_details``). The handler receives ``body=`` /
``query=`` (the validated models) and finds the key on ``request.ctx.idempotency_key``.

The same declaration goes into sanic-ext's ``OperationStore``, from which sanic-ext builds the OpenAPI document
of every registered route (``interfaces.http.openapi``): the request body is the model that validates it, the
query parameters are that model's fields, the success status is the one the handler answers, the header is
declared required, and the errors that can happen are listed with the one error shape (ADR 0029).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import wraps
from typing import Any

from pydantic import BaseModel, ValidationError
from sanic import Request
from sanic.response import HTTPResponse
from sanic_ext.extensions.openapi.builders import OperationBuilder, OperationStore, SpecificationBuilder
from sanic_ext.extensions.openapi.definitions import Parameter

from domain.errors import DomainError
from interfaces.http.errors import error_response, validation_details

Handler = Callable[..., Awaitable[HTTPResponse]]
REF = "#/components/schemas/{model}"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "message_bn", "details"],
            "properties": {
                "code": {"type": "string", "description": "stable, machine-readable (interfaces/http/messages.py)"},
                "message": {"type": "string", "description": "English"},
                "message_bn": {"type": "string", "description": "Bangla"},
                "details": {"type": "object", "description": "validation_failed: fields [{field, message, type}]"},
            },
        }
    },
}

# What each refusal means; every one answers the Error shape.
ERRORS: dict[int, str] = {
    400: "invalid_id, invalid_json or idempotency_key_required",
    401: "not signed in, or the token is invalid or expired",
    403: "signed in, but not permitted",
    404: "no such resource",
    405: "method not allowed",
    408: "the request took too long to arrive",
    409: "a rule of the domain refused the command, or read_model_behind (min_version not reached yet)",
    413: "payload_too_large",
    422: "validation_failed: details.fields names each field and its error type",
    429: "rate_limited (details.retry_after)",
    503: "a dependency is not answering",
}
# Can happen on any route: the query-string rule (422), rate limits (429), a malformed id in the path (400).
ALWAYS = (400, 422, 429)
WRITES = (413,)  # a body over the limit


def op(func: Any) -> OperationBuilder:
    return OperationStore()[func]  # type: ignore[no-any-return]


def moved(old: Any, new: Any) -> Any:
    """A wrapper takes over what was declared on the function it wraps (sanic-ext keys by function)."""
    store = OperationStore()
    if old in store:
        store[new] = store.pop(old)
    return new


def secured(func: Any) -> None:
    o = op(func)
    if {"bearer": []} not in o.security:
        o.secured("bearer")


def error_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}


def declare_error(func: Any, status: int) -> None:
    component_schema("Error", ERROR_SCHEMA)
    op(func).response(status, error_content(), ERRORS[status])


def component_schema(name: str, schema: dict[str, Any]) -> None:
    spec = SpecificationBuilder()
    if not spec.has_component("schemas", name):
        spec.add_component("schemas", name, schema)


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema (OpenAPI 3.0 dialect) with its nested models registered as components; a name
    two modules both use (``DecisionBody``) is qualified by the module for the second one."""
    spec = SpecificationBuilder()
    known = spec._components["schemas"]
    for prefix in ("", model.__module__.rsplit(".", 1)[-1] + "."):
        schema = model.model_json_schema(ref_template=REF.replace("{model}", prefix + "{model}"))
        parts = {prefix + name: openapi30(sub) for name, sub in schema.pop("$defs", {}).items()}
        schema = openapi30(schema)
        parts[prefix + model.__name__] = schema
        if all(known.get(name, sub) == sub for name, sub in parts.items()):
            for name, sub in parts.items():
                component_schema(name, sub)
            return {**schema, "x-component": prefix + model.__name__}
    raise ValueError(f"two models called {model.__name__} in {model.__module__}")


def component(model: type[BaseModel]) -> dict[str, Any]:
    """The model as a component of the document; the reference to it."""
    return {"$ref": REF.format(model=model_schema(model)["x-component"])}


SCHEMA30 = frozenset(
    {
        "title",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
        "required",
        "enum",
        "type",
        "description",
        "format",
        "default",
        "nullable",
        "discriminator",
        "readOnly",
        "writeOnly",
        "example",
        "deprecated",
        "$ref",
        "const",
    }
)


def openapi30(schema: Any) -> Any:
    """pydantic writes JSON Schema 2020-12 (OpenAPI 3.1); sanic-ext writes OpenAPI 3.0.3, which says
    ``nullable`` where 2020-12 says ``anyOf [..., {"type": "null"}]``, ``enum`` for ``const``, a boolean
    ``exclusiveMinimum`` beside ``minimum``, and has no ``prefixItems`` (a pair is an array of two items)."""
    if isinstance(schema, list):
        return [openapi30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = dict(schema)
    nullable = False
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del schema[key]
            nullable = True
            if len(rest) == 1 and "$ref" not in rest[0]:
                schema = {**rest[0], **schema}
            elif len(rest) == 1:
                schema["allOf"] = rest
            else:
                schema[key] = rest
    if "prefixItems" in schema:
        items = schema.pop("prefixItems")
        schema["items"] = items[0] if all(i == items[0] for i in items) else {"anyOf": items}
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k == "properties":
            out[k] = {name: openapi30(sub) for name, sub in v.items()}
        elif k in ("items", "additionalProperties", "not") and isinstance(v, dict):
            out[k] = openapi30(v)
        elif k == "additionalProperties":
            out[k] = v
        elif k in ("allOf", "anyOf", "oneOf"):
            out[k] = [openapi30(sub) for sub in v]
        elif k in SCHEMA30 or k.startswith("x-"):
            out[k] = v
        # else a 2020-12 keyword 3.0 lacks (propertyNames, examples…): the document says less than the model
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), (int, float)) and not isinstance(out[bound], bool):
            out[plain] = out.pop(bound)
            out[bound] = True
    if nullable:
        out["nullable"] = True
    return out


def parameter(
    func: Any, name: str, schema: dict[str, Any], location: str, *, required: bool, description: str | None
) -> None:
    """A parameter with its JSON schema as written (``OperationBuilder.parameter`` would re-derive it)."""
    extra = {"description": description} if description else {}
    op(func).parameters.append(Parameter(name, schema, location, required=required, **extra))  # type: ignore[arg-type]


def query_parameters(func: Any, model: type[BaseModel]) -> None:
    schema = model_schema(model)
    required = set(schema.get("required", []))
    known = {p.fields["name"] for p in op(func).parameters}
    for name, prop in schema.get("properties", {}).items():
        if name in known:
            continue
        prop = {k: v for k, v in prop.items() if k != "title"}
        description = prop.pop("description", None)
        parameter(func, name, prop, "query", required=name in required, description=description)


MIN_VERSION = {"type": "integer", "minimum": 0, "maximum": 999_999_999_999}
IDEMPOTENCY_KEY = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"}


def document(
    func: Any,
    *,
    body: type[BaseModel] | None,
    query: type[BaseModel] | None,
    status: int,
    errors: Iterable[int],
    idempotency_key: bool,
    signed_in: bool,
    min_version: bool,
    response: dict[str, Any] | None,
    content_type: str,
    description: str | None,
) -> None:
    o = op(func)
    codes = set(errors) | set(ALWAYS)
    if body is not None:
        o.body({"application/json": {"schema": component(body)}}, required=False)
        codes |= set(WRITES)
    if query is not None:
        query_parameters(func, query)
    if idempotency_key:
        parameter(
            func,
            "Idempotency-Key",
            IDEMPOTENCY_KEY,
            "header",
            required=True,
            description="retries with the same key and body return the first answer",
        )
    if min_version and "min_version" not in {p.fields["name"] for p in o.parameters}:
        parameter(
            func,
            "min_version",
            MIN_VERSION,
            "query",
            required=False,
            description="the version a command answered with: wait for it (409 read_model_behind if not yet)",
        )
    if min_version:
        codes |= {404, 409}
    if signed_in:
        codes.add(401)
        secured(func)
    ok = {content_type: {"schema": response}} if response is not None else {content_type: {"schema": {}}}
    o.response(status, ok, description or ("Created" if status == 201 else "OK"))
    for code in sorted(codes):
        declare_error(func, code)


def api(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    errors: Iterable[int] = (),
    idempotency_key: bool = False,
    signed_in: bool = False,
    min_version: bool = False,
    response: dict[str, Any] | None = None,
    content_type: str = "application/json",
    description: str | None = None,
    other_query: bool = False,
) -> Callable[[Handler], Handler]:
    """Validate (body, query, key, sign-in) before the handler and document the route from the same models.
    ``other_query``: query parameters the model does not name are ignored (else the model decides)."""

    def decorate(handler: Handler) -> Handler:
        wrapped = handler
        if body is not None or query is not None or idempotency_key:

            @wraps(handler)
            async def checked(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
                if signed_in:
                    from interfaces.http.auth import authenticate, refusal

                    try:
                        request.ctx.actor = authenticate(request)
                    except DomainError as exc:
                        return refusal(exc)
                if idempotency_key:
                    key = (request.headers.get("idempotency-key") or "").strip()
                    if not key or len(key) > 200:
                        return error_response(400, "idempotency_key_required")
                    request.ctx.idempotency_key = key
                try:
                    if body is not None:
                        kwargs["body"] = body.model_validate(request.json if request.body else {})
                    if query is not None:
                        kwargs["query"] = query.model_validate(
                            {k: v[0] for k, v in request.args.items() if not other_query or k in query.model_fields}
                        )
                except ValidationError as exc:
                    return error_response(422, "validation_failed", validation_details(exc))
                return await handler(request, *args, **kwargs)

            wrapped = moved(handler, checked)
        document(
            wrapped,
            body=body,
            query=query,
            status=status,
            errors=errors,
            idempotency_key=idempotency_key,
            signed_in=signed_in,
            min_version=min_version,
            response=response,
            content_type=content_type,
            description=description,
        )
        return wrapped

    return decorate
