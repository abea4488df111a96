"""Container registries: ``…/providers/Microsoft.ContainerRegistry/registries[/{name}]``."""

from __future__ import annotations

from starlette.responses import Response

from ...errors import ApiError
from ...services import ContainerRegistryService
from ..call import ArmCall
from ..context import ApiContext

__all__ = ["delete", "get", "list_", "put"]


def _service(ctx: ApiContext) -> ContainerRegistryService:
    if ctx.registries is None:
        raise ApiError("Registries are not served here.", code="NotImplemented", status=501)
    return ctx.registries


async def list_(ctx: ApiContext, call: ArmCall) -> Response:
    docs = await call.run(_service(ctx).list, call.subscription, call.resource_group)
    return call.json({"value": docs})


async def get(ctx: ApiContext, call: ArmCall) -> Response:
    rg = call.resource_group
    assert rg is not None
    return call.json(await call.run(_service(ctx).get, call.subscription, rg, call.name))


async def put(ctx: ApiContext, call: ArmCall) -> Response:
    rg = call.resource_group
    assert rg is not None
    body = await call.body()
    doc, created = await call.run(_service(ctx).put, call.subscription, rg, call.name, body)
    return call.json(doc, 201 if created else 200)


async def delete(ctx: ApiContext, call: ArmCall) -> Response:
    rg = call.resource_group
    assert rg is not None
    await call.run(_service(ctx).delete, call.subscription, rg, call.name)
    return call.no_content()
