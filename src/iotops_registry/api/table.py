"""The shape of the ARM route table: resource types, their operations and actions.

A :class:`ResourceType` row names its path segment, its parent, the rule its name follows,
the handler of each verb (on the collection and on one resource), its actions and its
api-versions. :func:`compile_routes` turns the rows into :class:`Route` objects; the router,
the 404/405 answers, the RBAC action each operation needs and ``/openapi.json`` all come from
them. The rows themselves are in ``api.routes``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from starlette.responses import Response

from ..domain import PROVIDER

if TYPE_CHECKING:
    from .call import ArmCall
    from .context import ApiContext

__all__ = [
    "Action",
    "Handler",
    "NameRule",
    "Operation",
    "QueryParam",
    "ResourceType",
    "Route",
    "compile_routes",
]

Handler = Callable[["ApiContext", "ArmCall"], Awaitable[Response]]
# A name rule returns None when the name is fine, else the problem (domain.rules style).
NameRule = Callable[[str], "str | None"]
Verb = Literal["GET", "PUT", "PATCH", "DELETE", "POST"]
_RBAC_VERB = {"GET": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete",
              "POST": "action"}  # POST on a collection: ``…/catalog/sync/action``


@dataclass(frozen=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Operation:
    """One verb on one route."""

    handler: Handler
    operation_id: str
    summary: str
    responses: dict[int, type[BaseModel] | None]  # status -> answer model (None: no body)
    body: type[BaseModel] | None = None  # the request body's wire model
    body_required: bool = True
    query: tuple[QueryParam, ...] = ()
    long_running: bool = False


@dataclass(frozen=True)
class Action:
    """A child path of one resource: ``…/registryEndpoints/{name}/test``. A POST is an ARM
    action (RBAC ``…/test/action``); GET and PUT read and write a sub-resource."""

    name: str  # the path segment, as ARM spells it: resolveCredentials
    operations: dict[Verb, Operation]


@dataclass(frozen=True)
class ResourceType:
    # The collection's path segment: registryEndpoints; a path of fixed segments for a view
    # under its parent: catalog/graphs.
    segment: str
    param: str  # the name's path parameter: registryEndpointName
    parent: ResourceType | None = None
    name_rule: NameRule | None = None  # None: the service checks the name itself
    name_schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    collection: dict[Verb, Operation] = field(default_factory=dict)
    item: dict[Verb, Operation] = field(default_factory=dict)
    actions: tuple[Action, ...] = ()
    # The list across a whole subscription (instances only): GET on /subscriptions/{s}/...
    subscription_collection: dict[Verb, Operation] = field(default_factory=dict)
    api_versions: tuple[str, ...] = ()
    provider: str = PROVIDER  # the namespace: Microsoft.ContainerRegistry for registries

    @property
    def chain(self) -> tuple[ResourceType, ...]:
        """This type and its ancestors, outermost first."""
        return (*(self.parent.chain if self.parent else ()), self)

    @property
    def type_name(self) -> str:
        """``Microsoft.IoTOperations/instances/registryEndpoints``."""
        return "/".join([self.chain[0].provider, *(t.segment for t in self.chain)])


# A path segment: a literal (matched case-insensitively, as ARM does) or a parameter.
@dataclass(frozen=True)
class Segment:
    literal: str | None = None
    param: str | None = None


@dataclass(frozen=True)
class Route:
    kind: Literal["collection", "resource", "action"]
    resource_type: ResourceType
    segments: tuple[Segment, ...]
    operations: dict[Verb, Operation]
    action: str | None = None  # the action's segment, for kind == "action"

    @property
    def template(self) -> str:
        return "/" + "/".join(
            s.literal if s.literal is not None else "{" + str(s.param) + "}"
            for s in self.segments
        )

    @property
    def allow(self) -> str:
        return ", ".join(self.operations)

    @property
    def api_versions(self) -> tuple[str, ...]:
        return self.resource_type.api_versions

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(s.param for s in self.segments if s.param is not None)

    def rbac_action(self, verb: str) -> str:
        """The ARM RBAC action this verb on this route needs (checked by authorization)."""
        base = self.resource_type.type_name
        if self.kind == "action":
            assert self.action is not None
            if verb == "POST":
                return f"{base}/{self.action}/action"
            return f"{base}/{self.action}/{_RBAC_VERB[verb]}"
        return f"{base}/{_RBAC_VERB[verb]}"

    def name_checks(self) -> tuple[tuple[int, str, NameRule], ...]:
        """(segment index, parameter, rule) for every name on the path that has a rule."""
        rules = {t.param: t.name_rule for t in self.resource_type.chain if t.name_rule}
        return tuple(
            (i, s.param, rules[s.param])
            for i, s in enumerate(self.segments)
            if s.param is not None and s.param in rules
        )


_SUB = (Segment("subscriptions"), Segment(param="subscriptionId"))
_RG = (Segment("resourceGroups"), Segment(param="resourceGroupName"))


def _provider(t: ResourceType) -> tuple[Segment, ...]:
    return (Segment("providers"), Segment(t.chain[0].provider))


def _literals(segment: str) -> tuple[Segment, ...]:
    return tuple(Segment(part) for part in segment.split("/"))


def compile_routes(types: tuple[ResourceType, ...]) -> tuple[Route, ...]:
    """Every route of the rows: collections, resources, actions, subscription lists."""
    routes: list[Route] = []
    for t in types:
        path: tuple[Segment, ...] = (*_SUB, *_RG, *_provider(t))
        for ancestor in t.chain[:-1]:
            path += (*_literals(ancestor.segment), Segment(param=ancestor.param))
        collection = (*path, *_literals(t.segment))
        item = (*collection, Segment(param=t.param))
        if t.subscription_collection:
            routes.append(
                Route(
                    "collection",
                    t,
                    (*_SUB, *_provider(t), Segment(t.segment)),
                    t.subscription_collection,
                )
            )
        if t.collection:
            routes.append(Route("collection", t, collection, t.collection))
        if t.item:
            routes.append(Route("resource", t, item, t.item))
        for action in t.actions:
            routes.append(
                Route(
                    "action",
                    t,
                    (*item, Segment(action.name)),
                    action.operations,
                    action.name,
                )
            )
    return tuple(routes)
