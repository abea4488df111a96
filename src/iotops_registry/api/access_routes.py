"""ARM-style routes for reaching registries through an endpoint. Mixed into ``ArmApp``.

    P/instances/{i}/registryEndpoints/{n}/test                 POST  connection test report
    P/instances/{i}/registryEndpoints/{n}/health               GET   healthState, message, times,
                                                                     last report
    P/instances/{i}/registryEndpoints/{n}/connectionSettings   GET, PUT  CA bundle, plain HTTP
                                                                     (loopback), realm hosts
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..domain import RegistryEndpointKey
from ..errors import ApiError, InvalidRequestError
from ..security import Principal
from .responses import json_text_response

if TYPE_CHECKING:
    from .context import ApiContext

__all__ = ["AccessRoutes"]


def _disabled(what: str) -> ApiError:
    return ApiError(f"{what} is not running on this server.", code="FeatureNotEnabled",
                    status=501)


class AccessRoutes(ABC):
    ctx: ApiContext

    @abstractmethod
    def _endpoint_key(self, route: Any) -> RegistryEndpointKey: ...

    async def _optional_body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise InvalidRequestError(
                "The request body is not valid JSON.", code="InvalidRequestContent"
            ) from None
        if not isinstance(data, dict):
            raise InvalidRequestError(
                "The request body must be a JSON object.", code="InvalidRequestContent"
            )
        return data

    async def _test_post(self, request: Request, route: Any, _p: Principal) -> Response:
        if self.ctx.monitor is None:
            raise _disabled("The connection tester")
        body = await self._optional_body(request)
        unknown = set(body) - {"repository"}
        if unknown:
            raise InvalidRequestError(
                f"The property '{sorted(unknown)[0]}' is not a known property.",
                code="UnknownProperty", target=sorted(unknown)[0],
            )
        repository = body.get("repository")
        if repository is not None and (not isinstance(repository, str) or not repository):
            raise InvalidRequestError(
                "repository must be a non-empty string.", code="InvalidPropertyType",
                target="repository",
            )
        key = self._endpoint_key(route)
        target = await run_in_threadpool(self.ctx.endpoints.target, key)  # 404 before any work
        report = await self.ctx.monitor.test(target, repository)
        return json_text_response(json.dumps(report))

    async def _health_get(self, request: Request, route: Any, _p: Principal) -> Response:
        if self.ctx.health is None:
            raise _disabled("Health tracking")
        record, report = await run_in_threadpool(self.ctx.health.get, self._endpoint_key(route))
        return json_text_response(json.dumps({**record.to_dict(), "lastReport": report}))

    async def _connsettings_get(self, request: Request, route: Any, _p: Principal) -> Response:
        if self.ctx.connection_settings is None:
            raise _disabled("Connection settings")
        doc = await run_in_threadpool(self.ctx.connection_settings.get, self._endpoint_key(route))
        return json_text_response(json.dumps(doc))

    async def _connsettings_put(self, request: Request, route: Any, _p: Principal) -> Response:
        if self.ctx.connection_settings is None:
            raise _disabled("Connection settings")
        body = await self._optional_body(request)
        key = self._endpoint_key(route)
        doc = await run_in_threadpool(self.ctx.connection_settings.put, key, body)
        if self.ctx.monitor is not None:
            self.ctx.monitor.schedule(key)
        return json_text_response(json.dumps(doc))
