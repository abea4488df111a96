"""One routed, authenticated ARM request, as a handler sees it, with the request helpers the
handlers share (body, preconditions, paging, rendering)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..asgi import read_json
from ..domain import InstanceKey, RegistryEndpointKey
from ..errors import InvalidRequestError
from ..security import Principal
from ..services import Page, Preconditions, WriteResult
from ..services.common import MAX_PAGE_SIZE
from .query import query, query_ci
from .responses import json_text_response, warning_header
from .table import Route

__all__ = ["ArmCall"]

T = TypeVar("T")


@dataclass
class ArmCall:
    request: Request
    route: Route
    segments: list[str]
    principal: Principal
    max_body_bytes: int
    inline_reads: bool = False

    def param(self, name: str) -> str:
        for segment, value in zip(self.route.segments, self.segments, strict=True):
            if segment.param == name:
                return value
        raise KeyError(name)

    @property
    def name(self) -> str:
        """The name of the resource the route addresses (its type's own parameter)."""
        return self.param(self.route.resource_type.param)

    @property
    def subscription(self) -> str:
        return self.segments[1]

    @property
    def resource_group(self) -> str | None:
        return self.segments[3] if "resourceGroupName" in self.route.params else None

    @property
    def instance_key(self) -> InstanceKey:
        rg = self.resource_group
        assert rg is not None
        return InstanceKey(self.subscription, rg, self.param("instanceName"))

    @property
    def endpoint_key(self) -> RegistryEndpointKey:
        return RegistryEndpointKey(self.instance_key, self.param("registryEndpointName"))

    # --- running service calls -----------------------------------------------------------

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store read. SQLite reads in WAL mode never wait for a writer and take tens
        of microseconds, less than a hop to a worker thread, so they run inline."""
        if self.inline_reads:
            return fn(*args)
        return await run_in_threadpool(fn, *args)

    @staticmethod
    async def run(fn: Callable[..., T], *args: Any) -> T:
        """Run a service call in a worker thread (writes, vault and network calls)."""
        return await run_in_threadpool(fn, *args)

    # --- the request ---------------------------------------------------------------------

    async def body(self, *, optional: bool = False) -> dict[str, Any]:
        return await read_json(self.request, self.max_body_bytes, optional=optional)

    def flag(self, name: str) -> bool:
        """A ``?name=true`` query flag."""
        return query(self.request).get(name, "").lower() == "true"

    def preconditions(self) -> Preconditions:
        headers = self.request.headers
        return Preconditions(
            if_match=headers.get("if-match"), if_none_match=headers.get("if-none-match")
        )

    def paging(self) -> tuple[int | None, str | None]:
        params = query_ci(self.request)
        top_raw = params.get("$top")
        top: int | None = None
        if top_raw is not None:
            if not top_raw.isdigit() or not 1 <= int(top_raw) <= MAX_PAGE_SIZE:
                raise InvalidRequestError(
                    f"$top must be an integer from 1 to {MAX_PAGE_SIZE}.",
                    code="InvalidTop",
                    target="$top",
                )
            top = int(top_raw)
        return top, params.get("$skiptoken")

    def expand_health(self) -> bool:
        if b"expand" not in self.request.scope.get("query_string", b"").lower():
            return False
        expand = query_ci(self.request).get("$expand", "")
        return "healthstatus" in [e.strip().lower() for e in expand.split(",")]

    # --- answers -------------------------------------------------------------------------

    def page(self, page: Page, top: int | None) -> Response:
        request = self.request
        body = '{"value":[' + ",".join(page.documents) + "]"
        if page.next_token:
            qs = f"api-version={quote(query(request)['api-version'])}"
            if top is not None:
                qs += f"&$top={top}"
            qs += f"&$skipToken={quote(page.next_token)}"
            expand = query_ci(request).get("$expand")
            if expand:
                qs += f"&$expand={quote(expand)}"
            link = f"{str(request.base_url).rstrip('/')}{request.url.path}?{qs}"
            body += ',"nextLink":' + json.dumps(link)
        return json_text_response(body + "}")

    @staticmethod
    def written(result: WriteResult) -> Response:
        headers = {"ETag": result.etag}
        if result.warnings:
            headers["Warning"] = warning_header(result.warnings)
        return json_text_response(result.document, 201 if result.created else 200, headers)

    @staticmethod
    def document(doc: str, etag: str) -> Response:
        return json_text_response(doc, headers={"ETag": etag})

    @staticmethod
    def json(body: Any, status: int = 200) -> Response:
        return json_text_response(json.dumps(body), status)

    @staticmethod
    def no_content() -> Response:
        return Response(status_code=204)
