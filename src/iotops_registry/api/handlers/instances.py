"""Instances: ``…/instances[/{instanceName}]``."""

from __future__ import annotations

from starlette.responses import Response

from ...domain import RegistryEndpointKey
from ..call import ArmCall
from ..context import ApiContext

__all__ = ["delete", "get", "list_", "patch", "put"]


async def list_(ctx: ApiContext, call: ArmCall) -> Response:
    top, skip = call.paging()
    page = await call.run(ctx.instances.list, call.subscription, call.resource_group, top, skip)
    return call.page(page, top)


async def get(ctx: ApiContext, call: ArmCall) -> Response:
    doc, etag = await call.read(ctx.instances.get, call.instance_key)
    return call.document(doc, etag)


async def put(ctx: ApiContext, call: ArmCall) -> Response:
    body = await call.body()
    key = call.instance_key
    result = await call.run(ctx.instances.put, key, body, call.principal, call.preconditions())
    if result.created and ctx.monitor is not None:
        ctx.monitor.schedule(RegistryEndpointKey(key, "default"))  # its default endpoint
    return call.written(result)


async def patch(ctx: ApiContext, call: ArmCall) -> Response:
    body = await call.body()
    result = await call.run(
        ctx.instances.patch, call.instance_key, body, call.principal, call.preconditions()
    )
    return call.written(result)


async def delete(ctx: ApiContext, call: ArmCall) -> Response:
    await call.run(ctx.instances.delete, call.instance_key, call.preconditions())
    return call.no_content()
