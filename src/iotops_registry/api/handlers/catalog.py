"""The catalog, ``…/instances/{i}/catalog/{graphs|modules|connectors}[/{name}]``, its
``…/catalog/endpoints`` sync status and ``POST …/catalog/sync``. Lists are paged (``$top``,
``$skipToken``); every filter of the query model rides along in ``nextLink``."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.responses import Response

from ...errors import ApiError
from ...services.catalog import CatalogService
from ..call import ArmCall
from ..context import ApiContext
from ..query import query
from ..responses import json_text_response

__all__ = ["get_connector", "get_graph", "get_module", "list_connectors", "list_graphs",
           "list_modules", "status", "sync"]


def _service(ctx: ApiContext) -> CatalogService:
    if ctx.catalog is None:
        raise ApiError("The catalog is not running on this server.", code="FeatureNotEnabled",
                       status=501)
    return ctx.catalog


async def _list(ctx: ApiContext, call: ArmCall, kind: str) -> Response:
    params = dict(query(call.request))
    facets = params.pop("$facets", "").lower() == "true"
    page = await call.read(lambda: _service(ctx).query(call.instance_key, kind, params,
                                                       facets=facets))
    token = page.pop("nextSkipToken", None)
    if token:
        params["$skipToken"] = token
        if facets:
            params["$facets"] = "true"
        request = call.request
        page["nextLink"] = (f"{str(request.base_url).rstrip('/')}{request.url.path}?"
                            + urlencode(params))
    return json_text_response(json.dumps(page))


async def _get(ctx: ApiContext, call: ArmCall, kind: str) -> Response:
    doc = await call.read(_service(ctx).get, call.instance_key, kind, call.name)
    return call.json(doc)


async def list_graphs(ctx: ApiContext, call: ArmCall) -> Response:
    return await _list(ctx, call, "graph")


async def list_modules(ctx: ApiContext, call: ArmCall) -> Response:
    return await _list(ctx, call, "module")


async def list_connectors(ctx: ApiContext, call: ArmCall) -> Response:
    return await _list(ctx, call, "connector")


async def get_graph(ctx: ApiContext, call: ArmCall) -> Response:
    return await _get(ctx, call, "graph")


async def get_module(ctx: ApiContext, call: ArmCall) -> Response:
    return await _get(ctx, call, "module")


async def get_connector(ctx: ApiContext, call: ArmCall) -> Response:
    return await _get(ctx, call, "connector")


async def status(ctx: ApiContext, call: ArmCall) -> Response:
    key = call.instance_key
    syncing = ctx.catalog_sync.syncing(key) if ctx.catalog_sync is not None else []
    return call.json(await call.read(_service(ctx).status, key, syncing))


async def sync(ctx: ApiContext, call: ArmCall) -> Response:
    """Sync now. ``wait=false``: start it and answer 202 with the current status."""
    service = _service(ctx)
    if ctx.catalog_sync is None:
        raise ApiError("The catalog sync is not running on this server.",
                       code="FeatureNotEnabled", status=501)
    key = call.instance_key
    await call.read(service.instance, key)  # 404 before any work
    if query(call.request).get("wait", "true").lower() == "false":
        ctx.catalog_sync.schedule(key)
        return call.json(await call.read(service.status, key, ctx.catalog_sync.syncing(key)),
                         202)
    return call.json(await ctx.catalog_sync.sync_instance(key))
