"""The ``/graphql`` endpoint: POST for operations, GET serves GraphiQL.

Before strawberry sees a request: the body is read by the one JSON reader (:mod:`service.jsonio`),
and the document is checked against the budgets of :mod:`service.api.graphql.limits` (size, nesting,
tokens, fragments, aliases, root fields, fields, depth, cost). Operations that need no database
(anonymous ones, which can only introspect, and introspection-only ones) run in a worker thread with
a small per-process cap, so a costly introspection never holds the event loop.

The outcome of the budget check is remembered per distinct document (:class:`CheckCache`), so a
repeated document is not parsed and costed again.

An anonymous caller pays, from its address's budget, the estimated cost or the CPU time the request
was measured to take (``limits.graphql_anonymous_cost_per_cpu_ms``, plus :data:`UNMEASURED_CPU_MS`),
whichever is more; once refused it is refused again unread until its ``Retry-After``, each refusal
held ``limits.graphql_anonymous_refusal_delay_ms`` (see docs/limits.md).

Introspection results are cached per schema (this module's one schema, so per process): an
introspection-only operation without errors is executed once per distinct (query text, operation name,
variables) and answered from the cache afterwards (at most :data:`INTROSPECTION_CACHE_SIZE` entries,
least recently used forgotten first), unless it is trivial (cost up to
:data:`INLINE_INTROSPECTION_COST`, such as ``{ __typename }``: executed at once). It is executed in
a child process (:mod:`service.api.graphql.introspection`), which answers the encoded JSON body: a
schema walk is CPU-bound Python that would otherwise hold this process's GIL, and the event loop with
it. An answer with errors, or no child, falls back to the worker thread. The standard introspection
query costs about 70,000 units; a cached answer costs an anonymous caller
1/:data:`CACHED_COST_DIVISOR` of that from their budget.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import anyio
import anyio.to_thread
from cross_web import HTTPException as TransportError
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.types import ExecutionResult

from service import jsonio
from service.api.deps import client_ip
from service.api.graphql.context import Context, get_context
from service.api.graphql.introspection import IntrospectionProcess
from service.api.graphql.limits import CheckCache, GraphQLLimitExceeded, GraphQLRateLimited
from service.api.graphql.schema import schema
from service.api.web.ide import html_page, offline_graphiql
from service.config import LimitSettings
from service.errors import FieldError
from service.verification.ratelimit import Limiter, make_limiter

PATH = "/graphql"
ResultT = TypeVar("ResultT")
INTROSPECTION_CACHE_SIZE = 16
CACHED_COST_DIVISOR = 100
#: Introspection-only operations up to this cost run on the event loop (no child, no cache): ``{
#: __typename }``, one ``__type(name:) { name }``. Strawberry takes about 1 ms of CPU per field for
#: these (20 aliased ``__typename`` took 20 ms on the event loop), so anything larger goes to the child.
INLINE_INTROSPECTION_COST = 5
#: The child process that executes introspection for this process (started with the application, see
#: :func:`start_introspection`, or on first use).
INTROSPECTION = IntrospectionProcess(schema._schema)
#: CPU milliseconds every anonymous request is charged on top of what is measured: reading the body,
#: the HTTP exchange and the response, which happen outside the router.
UNMEASURED_CPU_MS = 2
#: Clients remembered as refused (each until its Retry-After), least recently refused forgotten first.
REFUSED_CLIENTS = 10_000


async def start_introspection(limits: LimitSettings) -> None:
    """Start the introspection process with the application when ``limits.graphql_introspection_process``
    says so (the application's lifespan calls this)."""
    if limits.graphql_introspection_process == "at_startup":
        await anyio.to_thread.run_sync(INTROSPECTION.start)


@dataclasses.dataclass
class EncodedResult(ExecutionResult):
    """An introspection answer with its JSON body encoded once, in the worker thread: a cached answer
    is sent without serializing hundreds of kilobytes on the event loop again."""

    body: bytes | None = None


class _EncodedResponse(dict[str, Any]):
    """What :meth:`ProblemGraphQLRouter.process_result` hands to ``encode_json`` for such an answer."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body


def _encoded(result: ExecutionResult) -> EncodedResult:
    body = None
    if not result.errors:
        body = json.dumps(process_result(result), separators=(",", ":")).encode("utf-8")
    return EncodedResult(data=result.data, errors=result.errors, extensions=result.extensions, body=body)


class IntrospectionCache:
    """Results of introspection-only operations, which depend on nothing but the schema."""

    def __init__(self, size: int = INTROSPECTION_CACHE_SIZE) -> None:
        self.size = size
        self._results: OrderedDict[tuple[str, str | None, str], EncodedResult] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    @staticmethod
    def key(request_data: GraphQLRequestData) -> tuple[str, str | None, str] | None:
        try:
            variables = json.dumps(request_data.variables or {}, sort_keys=True)
        except (TypeError, ValueError):
            return None
        return (str(request_data.query), request_data.operation_name, variables)

    def get(self, key: tuple[str, str | None, str]) -> EncodedResult | None:
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
                self.hits += 1
            return found

    def put(self, key: tuple[str, str | None, str], result: EncodedResult) -> None:
        if result.errors or result.body is None:
            return  # only complete answers are worth repeating
        with self._lock:
            self._results[key] = result
            while len(self._results) > self.size:
                self._results.popitem(last=False)


class ProblemGraphQLRouter(GraphQLRouter[Context, None]):
    """Transport-level failures (body not JSON, no query, wrong media type) become RFC 9457 problem
    documents like every other 4xx of the API, instead of strawberry's plain-text answers."""

    def __init__(self, *args: Any, limits: LimitSettings, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._threads: anyio.CapacityLimiter | None = None
        self._budgets: Limiter | None = None
        self.introspection_cache = IntrospectionCache()
        self.checks = CheckCache()
        #: Client address -> monotonic time until which its anonymous requests are refused unread.
        self._refused: OrderedDict[str, float] = OrderedDict()

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().run(*args, **kwargs)
        except TransportError as exc:
            raise HTTPException(exc.status_code, exc.reason) from exc

    def decode_json(self, data: str | bytes) -> object:
        return jsonio.loads(
            data, max_depth=self.limits.max_json_depth, max_values=self.limits.max_json_values
        )

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """GraphiQL with its scripts and styles served by the service (no CDN)."""
        return html_page(offline_graphiql(self.graphql_ide_html))

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        parent = super().execute_single
        call = (request, request_adapter, sub_response, context, root_value, request_data)
        if not isinstance(request_data.query, str):
            return await parent(*call)
        limits = context.settings.limits
        anonymous = context.principal is None
        ip = client_ip(request) if anonymous else ""
        if anonymous:
            await self._still_refused(ip, limits)  # a caller just refused: refused again unread
        started = time.thread_time()  # the check runs here, on this thread, without awaiting
        try:
            checked = self.checks.check(
                request_data.query,
                schema._schema,
                limits,
                anonymous=anonymous,
                variables=request_data.variables,
            )
        except GraphQLLimitExceeded:
            if anonymous:  # refused, but the work of refusing is the caller's
                refusing = _cpu_cost(limits, time.thread_time() - started)
                await self._budget(request, context).debit(ip, refusing)
            raise
        cpu = time.thread_time() - started
        # Only POST runs operations (a GET is refused by strawberry, so never answered from the cache).
        introspection_only = (
            checked is not None and checked.introspection_only and request_adapter.method == "POST"
        )
        if not anonymous and not introspection_only:
            return await parent(*call)
        key = self.introspection_cache.key(request_data) if introspection_only else None
        cached = self.introspection_cache.get(key) if key is not None else None
        cost = checked.cost if checked is not None else 1
        charged = 0
        if anonymous:
            estimate = cost // CACHED_COST_DIVISOR if cached else cost
            charged = max(1, estimate, _cpu_cost(limits, cpu))
            await self._charge(request, context, ip, charged)
        if cached is not None:
            return cached
        answer: ExecutionResult
        if key is None:
            answer, spent = await self._threaded(lambda: _timed(lambda: asyncio.run(parent(*call))), limits)
        elif cost <= INLINE_INTROSPECTION_COST:
            # ``{ __typename }`` and the like: cheaper here than a trip to the child, and never queued
            # behind someone's schema walk.
            begun = time.thread_time()
            answer = await parent(*call)
            spent = time.thread_time() - begun
        else:
            # Executed and encoded in the child process (else in the worker thread); cached when complete.
            answer, spent = await self._introspect(call, parent, limits)
            self.introspection_cache.put(key, answer)
        if anonymous:
            extra = _cpu_cost(limits, cpu + spent) - charged
            if extra > 0:
                await self._budget(request, context).debit(ip, extra)
        return answer

    async def _introspect(
        self, call: tuple[Any, ...], parent: Callable[..., Any], limits: LimitSettings
    ) -> tuple[EncodedResult, float]:
        """An introspection-only operation executed in the child process, else in the worker thread:
        the answer and the CPU seconds it took."""
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(limits.graphql_threaded_operations)
        request_data: GraphQLRequestData = call[-1]
        query, variables, operation = request_data.query, request_data.variables, request_data.operation_name
        done = await anyio.to_thread.run_sync(
            lambda: INTROSPECTION.run(str(query), variables, operation), limiter=self._threads
        )
        if done is not None:
            return EncodedResult(data=None, errors=None, body=done.body), done.cpu_seconds
        return await self._threaded(lambda: _timed(lambda: _encoded(asyncio.run(parent(*call)))), limits)

    async def _threaded(self, work: Callable[[], ResultT], limits: LimitSettings) -> ResultT:
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(limits.graphql_threaded_operations)
        # A loop of its own in the thread: such operations touch neither the session nor the app's loop.
        return await anyio.to_thread.run_sync(work, limiter=self._threads)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if isinstance(result, EncodedResult) and result.body is not None:
            return _EncodedResponse(result.body)  # type: ignore[return-value]
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> str | bytes:
        if isinstance(data, _EncodedResponse):
            return data.body
        return super().encode_json(data)

    def _budget(self, request: Any, context: Context) -> Limiter:
        if self._budgets is None:
            limits = context.settings.limits
            self._budgets = make_limiter(
                request.app.state,
                context.settings,
                "graphql",
                limits.graphql_anonymous_cost_per_minute,
                limits.graphql_anonymous_cost_burst,
                10_000,
            )
        return self._budgets

    async def _still_refused(self, ip: str, limits: LimitSettings) -> None:
        """429, before the document is even parsed, for a client refused moments ago (until the wait
        it was given is over): a client retrying in a loop costs the least we can make it."""
        until = self._refused.get(ip)
        if until is None:
            return
        left = until - time.monotonic()
        if left <= 0:
            self._refused.pop(ip, None)
            return
        await _refusal_delay(limits, left)
        _rate_limited(left)

    async def _charge(self, request: Any, context: Context, ip: str, cost: int) -> None:
        """Anonymous callers spend their IP's cost budget (``limits.graphql_anonymous_cost_*``)."""
        wait = await self._budget(request, context).acquire(ip, float(max(1, cost)))
        if wait is not None:
            self._refused[ip] = time.monotonic() + wait
            self._refused.move_to_end(ip)
            while len(self._refused) > REFUSED_CLIENTS:
                self._refused.popitem(last=False)
            await _refusal_delay(context.settings.limits, wait)
            _rate_limited(wait)


async def _refusal_delay(limits: LimitSettings, wait: float) -> None:
    """Hold a refused anonymous request ``limits.graphql_anonymous_refusal_delay_ms`` (at most
    ``wait``) before answering: the connection stays idle, and the client cannot ask again meanwhile."""
    delay = min(limits.graphql_anonymous_refusal_delay_ms / 1000, wait)
    if delay > 0:
        await asyncio.sleep(delay)


def _rate_limited(wait: float) -> NoReturn:
    seconds = max(1, math.ceil(wait))
    message = f"anonymous GraphQL cost budget of this client spent; retry in {seconds} s"
    refusal = GraphQLRateLimited(
        f"{message} (limits.graphql_anonymous_cost_per_minute)",
        [FieldError("body.query", message, "graphql_anonymous_cost_per_minute")],
    )
    refusal.retry_after = seconds
    raise refusal


def _cpu_cost(limits: LimitSettings, cpu_seconds: float) -> int:
    """What ``cpu_seconds`` of measured work (plus :data:`UNMEASURED_CPU_MS`) costs an anonymous
    caller: ``limits.graphql_anonymous_cost_per_cpu_ms`` units per millisecond."""
    return math.ceil((cpu_seconds * 1000 + UNMEASURED_CPU_MS) * limits.graphql_anonymous_cost_per_cpu_ms)


def _timed(work: Callable[[], ResultT]) -> tuple[ResultT, float]:
    """``work()`` and the CPU seconds this thread spent on it (call it in the worker thread)."""
    started = time.thread_time()
    result = work()
    return result, time.thread_time() - started


def graphql_router(limits: LimitSettings | None = None) -> GraphQLRouter[Context, None]:
    return ProblemGraphQLRouter(
        schema,
        limits=limits or LimitSettings(),
        path=PATH,
        context_getter=get_context,
        graphql_ide="graphiql",
        # Operations only by POST: a GET must never be able to run anything (nor cache a token's reads).
        allow_queries_via_get=False,
        subscription_protocols=(),
        # Its contract is openapi/schema.graphql, not the REST OpenAPI document.
        include_in_schema=False,
    )
