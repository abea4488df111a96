"""Synced secrets (``…/syncedSecrets[/{name}]``) and the instance's Key Vault secrets
(``…/keyVaultSecrets[/{name}]``: metadata, write-only values)."""

from __future__ import annotations

from starlette.responses import Response

from ...errors import ApiError
from ...services import KeyVaultSecretService, SyncedSecretService
from ..call import ArmCall
from ..context import ApiContext

__all__ = [
    "delete_synced",
    "get_kv",
    "get_synced",
    "list_kv",
    "list_synced",
    "put_kv",
    "put_synced",
]


def _disabled() -> ApiError:
    return ApiError(
        "Secret management is not configured on this server.",
        code="FeatureNotEnabled",
        status=501,
    )


def _synced(ctx: ApiContext) -> SyncedSecretService:
    if ctx.synced_secrets is None:
        raise _disabled()
    return ctx.synced_secrets


def _kv(ctx: ApiContext) -> KeyVaultSecretService:
    if ctx.kv_secrets is None:
        raise _disabled()
    return ctx.kv_secrets


async def list_synced(ctx: ApiContext, call: ArmCall) -> Response:
    top, skip = call.paging()
    page = await call.run(_synced(ctx).list, call.instance_key, top, skip)
    return call.page(page, top)


async def get_synced(ctx: ApiContext, call: ArmCall) -> Response:
    doc, etag = await call.run(_synced(ctx).get, call.instance_key, call.name)
    return call.document(doc, etag)


async def put_synced(ctx: ApiContext, call: ArmCall) -> Response:
    service = _synced(ctx)
    body = await call.body()
    result = await call.run(
        service.put, call.instance_key, call.name, body, call.principal, call.preconditions()
    )
    return call.written(result)


async def delete_synced(ctx: ApiContext, call: ArmCall) -> Response:
    service = _synced(ctx)
    force = call.flag("force")
    key, name, pre = call.instance_key, call.name, call.preconditions()
    await call.run(lambda: service.delete(key, name, pre, force=force))
    return call.no_content()


async def list_kv(ctx: ApiContext, call: ArmCall) -> Response:
    infos = await call.run(_kv(ctx).list, call.instance_key)
    return call.json({"value": [i.to_dict() for i in infos]})


async def get_kv(ctx: ApiContext, call: ArmCall) -> Response:
    info = await call.run(_kv(ctx).get, call.instance_key, call.name)
    return call.json(info.to_dict())


async def put_kv(ctx: ApiContext, call: ArmCall) -> Response:
    service = _kv(ctx)
    body = await call.body()
    info, created = await call.run(
        service.put, call.instance_key, call.name, body, call.principal
    )
    return call.json(info.to_dict(), 201 if created else 200)
