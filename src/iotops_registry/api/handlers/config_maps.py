"""ConfigMaps of an instance (``…/configMaps[/{name}]``, our extension): non-secret
configuration such as the PEM CA certificates that ``codeSigningCas`` entries name."""

from __future__ import annotations

from starlette.responses import Response

from ...errors import ApiError
from ...services import ConfigMapService
from ..call import ArmCall
from ..context import ApiContext

__all__ = ["delete", "get", "list_", "put"]


def _service(ctx: ApiContext) -> ConfigMapService:
    if ctx.config_maps is None:
        raise ApiError(
            "ConfigMaps are not enabled on this server.", code="FeatureNotEnabled", status=501
        )
    return ctx.config_maps


async def list_(ctx: ApiContext, call: ArmCall) -> Response:
    top, skip = call.paging()
    return call.page(await call.run(_service(ctx).list, call.instance_key, top, skip), top)


async def get(ctx: ApiContext, call: ArmCall) -> Response:
    doc, etag = await call.run(_service(ctx).get, call.instance_key, call.name)
    return call.document(doc, etag)


async def put(ctx: ApiContext, call: ArmCall) -> Response:
    service = _service(ctx)
    body = await call.body()
    result = await call.run(
        service.put, call.instance_key, call.name, body, call.principal, call.preconditions()
    )
    return call.written(result)


async def delete(ctx: ApiContext, call: ArmCall) -> Response:
    service = _service(ctx)
    force = call.flag("force")
    key, name, pre = call.instance_key, call.name, call.preconditions()
    await call.run(lambda: service.delete(key, name, pre, force=force))
    return call.no_content()
