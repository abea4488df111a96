"""ARM-style routes for synced secrets, the instance's Key Vault secrets and credential
resolution. Mixed into :class:`api.arm.ArmApp`; they share its checks and helpers.

    P/instances/{i}/syncedSecrets[/{name}]                   GET, PUT, DELETE (?force=true)
    P/instances/{i}/keyVaultSecrets[/{name}]                 GET (metadata), PUT (write-only)
    P/instances/{i}/registryEndpoints/{name}/resolveCredentials   POST (sources, never values)
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..domain import InstanceKey, RegistryEndpointKey
from ..errors import ApiError
from ..security import Principal
from ..services import (
    KeyVaultSecretService,
    Page,
    Preconditions,
    PullSecretResolver,
    SyncedSecretService,
    WriteResult,
)
from .query import query
from .responses import json_text_response

if TYPE_CHECKING:
    from .context import ApiContext

__all__ = ["SecretRoutes"]


def _disabled() -> ApiError:
    return ApiError(
        "Secret management is not configured on this server.",
        code="FeatureNotEnabled",
        status=501,
    )


class SecretRoutes(ABC):
    ctx: ApiContext

    # Shared request helpers, implemented by ArmApp.
    @abstractmethod
    def _instance_key(self, route: Any) -> InstanceKey: ...

    @abstractmethod
    async def _body(self, request: Request) -> dict[str, Any]: ...

    @staticmethod
    @abstractmethod
    def _preconditions(request: Request) -> Preconditions: ...

    @staticmethod
    @abstractmethod
    def _paging(request: Request) -> tuple[int | None, str | None]: ...

    @staticmethod
    @abstractmethod
    def _page_response(request: Request, page: Page, top: int | None) -> Response: ...

    @staticmethod
    @abstractmethod
    def _written(result: WriteResult) -> Response: ...

    @property
    def _synced(self) -> SyncedSecretService:
        if self.ctx.synced_secrets is None:
            raise _disabled()
        return self.ctx.synced_secrets

    @property
    def _kv(self) -> KeyVaultSecretService:
        if self.ctx.kv_secrets is None:
            raise _disabled()
        return self.ctx.kv_secrets

    @property
    def _resolver(self) -> PullSecretResolver:
        if self.ctx.pull_secrets is None:
            raise _disabled()
        return self.ctx.pull_secrets

    # --- synced secrets ------------------------------------------------------------------

    async def _synceds_get(self, request: Request, route: Any, _p: Principal) -> Response:
        top, skip = self._paging(request)
        page = await run_in_threadpool(self._synced.list, self._instance_key(route), top, skip)
        return self._page_response(request, page, top)

    async def _synced_get(self, request: Request, route: Any, _p: Principal) -> Response:
        doc, etag = await run_in_threadpool(self._synced.get, self._instance_key(route), route.name)
        return json_text_response(doc, headers={"ETag": etag})

    async def _synced_put(self, request: Request, route: Any, p: Principal) -> Response:
        body = await self._body(request)
        result = await run_in_threadpool(
            self._synced.put,
            self._instance_key(route),
            route.name,
            body,
            p,
            self._preconditions(request),
        )
        return self._written(result)

    async def _synced_delete(self, request: Request, route: Any, _p: Principal) -> Response:
        force = query(request).get("force", "").lower() == "true"
        await run_in_threadpool(
            lambda: self._synced.delete(
                self._instance_key(route), route.name, self._preconditions(request), force=force
            )
        )
        return Response(status_code=204)

    # --- Key Vault secrets (metadata; write-only values) ---------------------------------

    async def _kvsecrets_get(self, request: Request, route: Any, _p: Principal) -> Response:
        infos = await run_in_threadpool(self._kv.list, self._instance_key(route))
        return json_text_response(json.dumps({"value": [i.to_dict() for i in infos]}))

    async def _kvsecret_get(self, request: Request, route: Any, _p: Principal) -> Response:
        info = await run_in_threadpool(self._kv.get, self._instance_key(route), route.name)
        return json_text_response(json.dumps(info.to_dict()))

    async def _kvsecret_put(self, request: Request, route: Any, _p: Principal) -> Response:
        body = await self._body(request)
        info, created = await run_in_threadpool(
            self._kv.put, self._instance_key(route), route.name, body
        )
        return json_text_response(json.dumps(info.to_dict()), 201 if created else 200)

    # --- resolution ----------------------------------------------------------------------

    async def _resolve_post(self, request: Request, route: Any, _p: Principal) -> Response:
        fresh = query(request).get("fresh", "").lower() == "true"
        key = RegistryEndpointKey(self._instance_key(route), route.name)
        target = await run_in_threadpool(self.ctx.endpoints.target, key)
        resolved = await run_in_threadpool(lambda: self._resolver.resolve(target, fresh=fresh))
        body = {
            "status": "Resolved",
            "syncedSecret": resolved.synced_secret,
            "sources": resolved.sources,
        }
        return json_text_response(json.dumps(body))
