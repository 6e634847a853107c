"""``idgate serve``: the handlers of ``handlers.py`` on Starlette (ASGI).

Needs the optional extra ``idgate[server]`` (starlette, uvicorn); idgate's
core imports without it. The routes only move bytes between HTTP and
``Api.call``: authentication, validation, idempotency and errors all live in
the handlers, which the Splunk app serves too.
"""
from typing import Any, Optional

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
except ImportError as exc:  # pragma: no cover - depends on the environment
    from ..errors import IdgateError
    raise IdgateError("idgate serve needs the server extra: pip install 'idgate[server]' (%s)" % exc) from None

from .. import jsonfast
from ..engine import Engine
from .config import ApiConfig
from .handlers import OPERATIONS, Api, ApiError, Operation, Result
from .openapi import build_openapi


def _respond(result: Result) -> Response:
    return Response(jsonfast.dumpb(result.body), status_code=result.status, headers=result.headers,
                    media_type="application/json")


def _endpoint(api: Api, op: Operation) -> Any:
    async def endpoint(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > api.config.max_body_bytes:
            return _respond(ApiError(413, "too_large", "the body is larger than %d bytes" %
                                     api.config.max_body_bytes, "body", "body").result())
        body = await request.body() if op.mutating else None
        # the engine blocks (SQLite, executors): keep the event loop free for other callers
        result = await run_in_threadpool(
            api.call, op.name, request.headers.get("authorization"), request.path_params,
            dict(request.query_params), body, request.headers.get("idempotency-key"))
        return _respond(result)
    endpoint.__name__ = op.name
    return endpoint


def create_app(engine: Engine, api_config: ApiConfig, api: Optional[Api] = None) -> Starlette:
    api = api or Api(engine, api_config)
    document = build_openapi()
    document["servers"] = [{"url": "http://%s:%d" % (api_config.bind, api_config.port)}]
    openapi_bytes = jsonfast.dumpb(document)

    async def openapi(request: Request) -> Response:
        return Response(openapi_bytes, media_type="application/json")

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "invalid")
        return JSONResponse({"error": {"code": code, "message": "%s %s: no such operation" % (
            request.method, request.url.path)}}, status_code=status)

    routes = [Route("/openapi.json", openapi, methods=["GET"])]
    routes += [Route(op.path, _endpoint(api, op), methods=[op.method]) for op in OPERATIONS]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.api = api
    return app
