"""Registry endpoints, ``…/registryEndpoints[/{name}]``, and their actions: ``test``,
``health``, ``connectionSettings`` and ``resolveCredentials``. An action loads the endpoint
once, through the endpoint service, and passes it down."""

from __future__ import annotations

from starlette.responses import Response

from ...domain import parse_model
from ...domain.connection import ConnectionTestBody, VerifyArtifactBody
from ...errors import ApiError, FailedDependencyError, InvalidRequestError, ResolutionFailed
from ...services import Page
from ..call import ArmCall
from ..context import ApiContext

__all__ = [
    "delete",
    "get",
    "get_connection_settings",
    "get_health",
    "list_",
    "pull_connector_metadata",
    "put",
    "put_connection_settings",
    "resolve_credentials",
    "test",
    "verify_artifact",
]


def _disabled(what: str) -> ApiError:
    return ApiError(
        f"{what} is not running on this server.", code="FeatureNotEnabled", status=501
    )


async def list_(ctx: ApiContext, call: ArmCall) -> Response:
    top, skip = call.paging()
    parent = call.instance_key
    page = await call.read(ctx.endpoints.list, parent, top, skip)
    if call.expand_health():
        assert ctx.health is not None
        page = Page(await call.run(ctx.health.expand, parent, page.documents), page.next_token)
    return call.page(page, top)


async def get(ctx: ApiContext, call: ArmCall) -> Response:
    if ctx.endpoints.async_reads:
        doc, etag = await ctx.endpoints.aget(call.endpoint_key)
    else:
        doc, etag = await call.read(ctx.endpoints.get, call.endpoint_key)
    if call.expand_health():
        assert ctx.health is not None
        (doc,) = await call.run(ctx.health.expand, call.instance_key, [doc])
    return call.document(doc, etag)


async def put(ctx: ApiContext, call: ArmCall) -> Response:
    body = await call.body()
    key = call.endpoint_key
    result = await call.run(ctx.endpoints.put, key, body, call.principal, call.preconditions())
    if ctx.monitor is not None:
        ctx.monitor.schedule(key)  # health follows in the background; PUT never waits
    if ctx.resolver is not None:
        ctx.resolver.endpoint_changed(key)  # what pulls through it is resolved again
    return call.written(result)


async def delete(ctx: ApiContext, call: ArmCall) -> Response:
    key, pre, force = call.endpoint_key, call.preconditions(), call.flag("force")
    deleted = await call.run(lambda: ctx.endpoints.delete(key, pre, force=force))
    if deleted and force and ctx.resolver is not None:
        ctx.resolver.endpoint_changed(key)  # its users now fail, and say why
    return call.no_content()


# --- actions ---------------------------------------------------------------------------------


async def test(ctx: ApiContext, call: ArmCall) -> Response:
    if ctx.monitor is None:
        raise _disabled("The connection tester")
    body = parse_model(ConnectionTestBody, await call.body(optional=True))
    target = await call.run(ctx.endpoints.target, call.endpoint_key)  # 404 before any work
    return call.json(await ctx.monitor.test(target, body.repository))


async def get_health(ctx: ApiContext, call: ArmCall) -> Response:
    if ctx.health is None:
        raise _disabled("Health tracking")
    record, report = await call.run(ctx.health.get, call.endpoint_key)
    return call.json({**record.to_dict(), "lastReport": report})


async def get_connection_settings(ctx: ApiContext, call: ArmCall) -> Response:
    if ctx.connection_settings is None:
        raise _disabled("Connection settings")
    return call.json(await call.run(ctx.connection_settings.get, call.endpoint_key))


async def put_connection_settings(ctx: ApiContext, call: ArmCall) -> Response:
    if ctx.connection_settings is None:
        raise _disabled("Connection settings")
    body = await call.body(optional=True)
    key = call.endpoint_key
    doc = await call.run(ctx.connection_settings.put, key, body)
    if ctx.monitor is not None:
        ctx.monitor.schedule(key)
    return call.json(doc)


async def resolve_credentials(ctx: ApiContext, call: ArmCall) -> Response:
    resolver = ctx.pull_secrets
    if resolver is None:
        raise ApiError(
            "Secret management is not configured on this server.",
            code="FeatureNotEnabled",
            status=501,
        )
    fresh = call.flag("fresh")
    target = await call.run(ctx.endpoints.target, call.endpoint_key)
    resolved = await call.run(lambda: resolver.resolve(target, fresh=fresh))
    return call.json(
        {"status": "Resolved", "syncedSecret": resolved.synced_secret, "sources": resolved.sources}
    )


async def verify_artifact(ctx: ApiContext, call: ArmCall) -> Response:
    """The endpoint's signature policy applied to one artifact: pulled through the endpoint
    with its own credentials, verified against its code-signing CAs."""
    if ctx.signatures is None or ctx.code_signing is None:
        raise _disabled("Signature verification")
    body = parse_model(VerifyArtifactBody, await call.body())
    target = await call.run(ctx.endpoints.target, call.endpoint_key)
    cas = await call.run(ctx.code_signing.resolve, target.ca_sources)
    repository, found, check = await ctx.signatures.check_artifact(target, cas, body.artifact)
    digest = getattr(found, "digest", found)  # a Descriptor, a bare Digest, or None
    where = f"{target.registry}/{repository}"
    return call.json({
        "artifact": f"{where}@{digest}" if digest else where,
        "digest": str(digest) if digest else None,
        **check.to_dict(),
    })


async def pull_connector_metadata(ctx: ApiContext, call: ArmCall) -> Response:
    """The connector metadata a reference names, pulled through this endpoint (with its own
    authentication method) and validated: what a template from metadata starts from."""
    if ctx.resolver is None:
        raise _disabled("The resolver")
    body = await call.body()
    ref = body.get("reference") if isinstance(body, dict) else None
    if not isinstance(ref, str) or not ref or len(ref) > 1024:
        raise InvalidRequestError("Give the metadata's reference: {\"reference\": "
                                  "\"host/path/x-metadata:1.0.0\"}.", code="InvalidReference",
                                  target="reference")
    target = await call.run(ctx.endpoints.target, call.endpoint_key)
    try:
        return call.json(await ctx.resolver.connector_metadata(target, ref))
    except ResolutionFailed as exc:
        raise FailedDependencyError(exc.message, code=exc.reason, target="reference") from None
