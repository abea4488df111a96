"""Dataflow profiles, dataflow graphs and Akri connector templates (the resources that pull
through registry endpoints), and their actions ``resolve`` and ``resolution``. One set of
handlers: the route's resource type says which service."""

from __future__ import annotations

from starlette.responses import Response

from ...domain import DATAFLOW_GRAPHS, ResourceKey
from ...errors import ApiError
from ...services import ResourceService
from ..call import ArmCall
from ..context import ApiContext

__all__ = ["delete", "get", "get_resolution", "list_", "put", "resolve"]


def _service(ctx: ApiContext, call: ArmCall) -> ResourceService:
    service = ctx.resources.get(call.route.resource_type.segment)
    if service is None:
        raise ApiError("This resource type is not served here.", code="FeatureNotEnabled",
                       status=501)
    return service


def _profile(call: ArmCall, service: ResourceService) -> str:
    return call.param("dataflowProfileName") if service.kind == DATAFLOW_GRAPHS else ""


def _key(call: ArmCall, service: ResourceService) -> ResourceKey:
    return service.key(call.instance_key, call.name, _profile(call, service))


async def list_(ctx: ApiContext, call: ArmCall) -> Response:
    service = _service(ctx, call)
    top, skip = call.paging()
    page = await call.read(service.list, call.instance_key, top, skip, _profile(call, service))
    return call.page(page, top)


async def get(ctx: ApiContext, call: ArmCall) -> Response:
    service = _service(ctx, call)
    doc, etag = await call.read(service.get, _key(call, service))
    return call.document(doc, etag)


async def put(ctx: ApiContext, call: ArmCall) -> Response:
    service = _service(ctx, call)
    body = await call.body()
    key = _key(call, service)
    result, resolvable = await call.run(
        service.put, key, body, call.principal, call.preconditions()
    )
    if resolvable and ctx.resolver is not None:
        ctx.resolver.schedule(key)  # PUT answers Accepted; the resolver follows
    return call.written(result)


async def delete(ctx: ApiContext, call: ArmCall) -> Response:
    service = _service(ctx, call)
    await call.run(service.delete, _key(call, service), call.preconditions())
    return call.no_content()


async def resolve(ctx: ApiContext, call: ArmCall) -> Response:
    """Resolve now and answer the resource as it then is."""
    service = _service(ctx, call)
    key = _key(call, service)
    await call.run(service.get, key)  # 404 before any work
    if ctx.resolver is None:
        raise ApiError("The resolver is not running on this server.", code="FeatureNotEnabled",
                       status=501)
    await ctx.resolver.resolve_now(key)
    doc, etag = await call.run(service.get, key)
    return call.document(doc, etag)


async def get_resolution(ctx: ApiContext, call: ArmCall) -> Response:
    service = _service(ctx, call)
    return call.json(await call.run(service.resolution, _key(call, service)))
