"""The process's one HTTP server: whatever routes the adapters bring, plus health and metrics.

- `GET /healthz`: liveness. 200 while the event loop answers.
- `GET /readyz`: readiness. 200 when the database answers and every configured adapter is
  connected; 503 with a short JSON reason otherwise (and while shutting down).
- `GET /metrics`: Prometheus' text format.

A middleware gives each request an id (bound to its log lines and to the work it starts,
and sent back as `X-Request-Id`), times it for the latency histogram, and logs it: at
DEBUG when it was answered with a success within `SLOW_REQUEST_SECONDS`, else at INFO.

Every application starts from `application()`, whose guards hold on every path: a body
declared over 1 MiB gets 413, a compressed body 415 (bodies are read as sent: the HTTP
parser would inflate a compressed one as it arrives, before any handler could refuse it,
and a few kB of gzip become seconds of CPU), and `serve` closes idle connections.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from adapters.ops.logs import bound, new_id
from adapters.ops.metrics import Metrics
from adapters.ops.readiness import Readiness, is_ready
from bot.errors import ConfigError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

OPS_PATHS = ("/healthz", "/readyz", "/metrics")
SHUTDOWN_TIMEOUT_SECONDS = 5.0
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
METHODS = {"GET", "POST", "HEAD"}
MAX_BODY_BYTES = 1024 * 1024
KEEPALIVE_SECONDS = 75.0  # an idle connection, or one whose request never completes, is closed
# A request answered with a success within this is logged at DEBUG (the latency histogram
# counts it): a line per request was most of a busy process's logging CPU. An error answer,
# or a slower one, is logged at INFO.
SLOW_REQUEST_SECONDS = 1.0


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """413 for a body declared over the limit, 415 for a compressed one, before anything
    reads it (a body sent without its length is cut off at the limit where it is read)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_BODY_BYTES, request.content_length)
    if request.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity"):
        raise web.HTTPUnsupportedMediaType(text="compressed request bodies are not accepted")
    return await handler(request)


def application() -> web.Application:
    """An aiohttp application with the guards every path of leanon's server has."""
    return web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_guard])


def runner(application: web.Application) -> web.AppRunner:
    """The runner for `application`: bodies never inflated, idle connections closed."""
    return web.AppRunner(application, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
                         auto_decompress=False, keepalive_timeout=KEEPALIVE_SECONDS)


def _has_get(application: web.Application, path: str) -> bool:
    return any(route.method == "GET" and route.resource is not None
               and route.resource.canonical == path for route in application.router.routes())


def install(application: web.Application, readiness: Readiness, metrics: Metrics) -> None:
    """Add the health, readiness and metrics routes and the request middleware."""

    async def healthz(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    async def readyz(request: web.Request) -> web.StreamResponse:
        status = await readiness.status()
        if is_ready(status):
            return web.json_response({"status": "ready", "checks": status})
        reason = "; ".join(f"{name}: {value}" for name, value in status.items() if value != "ok")
        return web.json_response({"status": "not ready", "reason": reason, "checks": status},
                                 status=503)

    async def metrics_page(request: web.Request) -> web.StreamResponse:
        body, content_type = metrics.exposition(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})

    handlers = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics_page}
    application.add_routes([web.get(path, handler) for path, handler in handlers.items()
                            if not _has_get(application, path)])  # Slack's app has a /healthz
    application.middlewares.append(_observe(metrics))


def _observe(metrics: Metrics) -> Middleware:
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("X-Request-Id", "")
        request_id = given if REQUEST_ID.fullmatch(given) else new_id()
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        start = time.perf_counter()
        status = 500
        with bound(request_id=request_id):
            try:
                response = await handler(request)
                status = response.status
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                elapsed = time.perf_counter() - start
                metrics.labelled(metrics.http_seconds, route, method, str(status)).observe(elapsed)
                routine = route in OPS_PATHS or (
                    status < 400 and elapsed < SLOW_REQUEST_SECONDS)
                level = logging.DEBUG if routine else logging.INFO
                if log.isEnabledFor(level):
                    log.log(level, "request served", extra={
                        "method": method, "route": route, "status": status,
                        "duration_ms": round(elapsed * 1000, 1)})
        response.headers["X-Request-Id"] = request_id
        return response

    return observe


async def serve(application: web.Application, host: str, port: int) -> web.AppRunner:
    """Start listening; ConfigError (one line) when the address can't be used."""
    serving = runner(application)
    await serving.setup()
    try:
        await web.TCPSite(serving, host, port).start()
    except OSError as exc:
        await serving.cleanup()
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(f"LEANON_HOST/LEANON_PORT: cannot listen on {host}:{port} "
                          f"({why})") from None
    log.info("HTTP server listening", extra={"host": host, "port": bound_port(serving)})
    return serving


def bound_port(runner: web.AppRunner) -> int:
    """The port the server listens on (useful when it was started on port 0)."""
    return int(runner.addresses[0][1])
