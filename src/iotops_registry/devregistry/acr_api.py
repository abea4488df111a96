"""ACR's listing API (``/acr/v1/``) for the development registry, as ACR clients call it.

``azure-containerregistry`` lists repositories and tags through it, not through ``/v2/``:

* ``GET /acr/v1/_catalog?n&last`` → ``{"repositories": [...]}`` (scope
  ``registry:catalog:*``), paged with ``Link: </acr/v1/_catalog?last=X&n=N>; rel="next"``;
* ``GET /acr/v1/{repo}/_tags?n&last&orderby&digest`` → ``{"registry", "imageName", "tags":
  [{"name", "digest", "createdTime", "lastUpdateTime", "signed", "changeableAttributes"}]}``
  and ``GET /acr/v1/{repo}/_tags/{tag}`` → ``{"registry", "imageName", "tag": {...}}``;
* ``GET /acr/v1/{repo}`` → the repository's properties (counts, times).

Repository calls need ``repository:{repo}:metadata_read``, which every holder of ``pull``
gets. Without a token (or with one that lacks the scope) the answer is ACR's: 401 with a
challenge naming the realm, the service and the scope. The catalog comes from the registry
(with a short-lived token the front mints for itself); tags, digests and times from the
registry's own storage, which this server owns: the tag's ``current/link`` names its digest,
and the links' times are when a tag was first and last pointed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..asgi import JsonApp
from ..errors import ApiError, AuthenticationError, InvalidRequestError, NotFoundError
from .backend import Backend
from .policy import METADATA_READ
from .signing import TokenSigner

__all__ = ["AcrMetadataApp"]

log = logging.getLogger("iotops_registry.devregistry")

# The OCI distribution grammar: no '..', no empty or absolute segments.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_REPO = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_MAX_PAGE = 1000
_DEFAULT_PAGE = 100
_CHANGEABLE = {"deleteEnabled": True, "writeEnabled": True, "readEnabled": True,
               "listEnabled": True}


def _errors(status: int, code: str, message: str, headers: dict[str, str] | None = None
            ) -> Response:
    body = {"errors": [{"code": code, "message": message, "detail": None}]}
    return Response(json.dumps(body), status, headers=headers, media_type="application/json")


def _iso(timestamp: float) -> str:
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


@dataclass(frozen=True)
class _Tag:
    name: str
    digest: str
    created: float
    updated: float

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": self.digest,
            "createdTime": _iso(self.created),
            "lastUpdateTime": _iso(self.updated),
            "signed": False,
            "changeableAttributes": dict(_CHANGEABLE),
        }


class _Storage:
    """Read-only views of Distribution's filesystem layout (``docker/registry/v2``)."""

    def __init__(self, root: Path) -> None:
        self.root = root / "docker" / "registry" / "v2" / "repositories"

    def repository(self, repo: str) -> Path | None:
        path = self.root / repo
        return path if (path / "_manifests").is_dir() else None

    def tags(self, repo: str) -> list[_Tag]:
        base = self.repository(repo)
        if base is None:
            raise NotFoundError(f"The repository '{repo}' is not known to the registry.",
                                code="NAME_UNKNOWN")
        found: list[_Tag] = []
        tags_dir = base / "_manifests" / "tags"
        if not tags_dir.is_dir():
            return found
        for entry in tags_dir.iterdir():
            tag = self._tag(entry)
            if tag is not None:
                found.append(tag)
        return found

    def tag(self, repo: str, name: str) -> _Tag | None:
        base = self.repository(repo)
        if base is None:
            return None
        return self._tag(base / "_manifests" / "tags" / name)

    @staticmethod
    def _tag(entry: Path) -> _Tag | None:
        link = entry / "current" / "link"
        try:
            digest = link.read_text("ascii").strip()
            updated = link.stat().st_mtime
        except (OSError, UnicodeDecodeError):
            return None  # deleted meanwhile, or not a tag
        if not _DIGEST.match(digest):
            return None
        created = updated
        index = entry / "index" / "sha256"
        try:
            for pointed in index.iterdir():
                created = min(created, (pointed / "link").stat().st_mtime)
        except OSError:
            pass
        return _Tag(entry.name, digest, created, updated)

    def manifest_count(self, repo: str) -> int:
        base = self.repository(repo)
        revisions = base / "_manifests" / "revisions" / "sha256" if base else None
        try:
            return sum(1 for _ in revisions.iterdir()) if revisions else 0
        except OSError:
            return 0


class AcrMetadataApp(JsonApp):
    """``/acr/v1/...`` on the registry's front."""

    log = log

    def __init__(self, signer: TokenSigner, backend: Backend, storage: Path, realm: str
                 ) -> None:
        self._signer = signer
        self._backend = backend
        self._storage = _Storage(storage)
        self._realm = realm
        self._own_token: tuple[str, float] | None = None

    def render_error(self, exc: ApiError) -> Response:
        return _errors(exc.status, exc.code, exc.message, exc.headers)

    def internal_error(self, request_id: str) -> ApiError:
        return ApiError(f"The registry hit an internal error. Quote request id {request_id}.",
                        code="UNKNOWN")

    def _challenge(self, scope: str, error: str | None = None) -> AuthenticationError:
        challenge = (
            f'Bearer realm="{self._realm}",service="{self._signer.service}",scope="{scope}"'
        )
        if error:
            challenge += f',error="{error}"'
        return AuthenticationError(
            "Authentication is required." if error is None else "The token lacks the scope "
            f"{scope}.",
            code="UNAUTHORIZED",
            headers={"WWW-Authenticate": challenge},
        )

    def _authorize(self, request: Request, kind: str, name: str, action: str) -> None:
        scope = f"{kind}:{name}:{action}"
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._challenge(scope)
        try:
            claims = self._signer.verify_access(token.strip())
        except AuthenticationError:
            raise self._challenge(scope, "invalid_token") from None
        for entry in claims["access"]:
            if (
                isinstance(entry, dict)
                and entry.get("type") == kind
                and entry.get("name") == name
                and action in (entry.get("actions") or [])
            ):
                return
        raise self._challenge(scope, "insufficient_scope")

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise ApiError("Only GET is served here.", code="UNSUPPORTED", status=405,
                           headers={"Allow": "GET"})
        path = request.url.path
        prefix = "/acr/v1/"
        if not path.startswith(prefix):
            raise NotFoundError("Not found.", code="NOT_FOUND")
        rest = path[len(prefix):].rstrip("/")
        query = parse_qs(request.url.query)
        if rest == "_catalog":
            self._authorize(request, "registry", "catalog", "*")
            return await self._catalog(query)
        repo, sep, tail = rest.partition("/_tags")
        if sep and (tail == "" or tail.startswith("/")):
            self._check_repo(repo)
            self._authorize(request, "repository", repo, METADATA_READ)
            if tail:
                return await self._one_tag(repo, tail[1:])
            return await self._tags(repo, query)
        if "/_" not in rest:
            self._check_repo(rest)
            self._authorize(request, "repository", rest, METADATA_READ)
            return await self._repository(rest)
        raise NotFoundError("This part of ACR's API is not served by the development "
                            "registry.", code="NOT_FOUND")

    @staticmethod
    def _check_repo(repo: str) -> None:
        if not _REPO.match(repo) or len(repo) > 256:
            raise InvalidRequestError("The repository name is not valid.", code="NAME_INVALID")

    # --- catalog ---------------------------------------------------------------------------

    def _backend_token(self) -> str:
        now = time.time()
        if self._own_token is None or self._own_token[1] - now < 20:
            answer = self._signer.access_token(
                "iotops-registry-front",
                [{"type": "registry", "name": "catalog", "actions": ["*"]}],
                lifetime=120,
            )
            self._own_token = (str(answer["token"]), now + 120)
        return self._own_token[0]

    async def _catalog(self, query: dict[str, list[str]]) -> Response:
        params = {k: v[0] for k, v in query.items() if k in ("n", "last") and v}
        target = b"/v2/_catalog" + (b"?" + urlencode(params).encode() if params else b"")
        headers = [
            (b"host", self._signer.service.encode()),
            (b"authorization", f"Bearer {self._backend_token()}".encode()),
            (b"accept", b"application/json"),
        ]
        response = await self._backend.request("GET", target, headers)
        chunks = [chunk async for chunk in response.body()]
        if response.status != 200:
            raise ApiError("The registry did not list its repositories.", code="UNKNOWN",
                           status=502)
        out: dict[str, str] = {}
        link = response.header(b"link")
        if link:
            out["Link"] = link.decode("latin-1").replace("/v2/_catalog", "/acr/v1/_catalog")
        body = json.loads(b"".join(chunks) or b"{}")
        return Response(
            json.dumps({"repositories": body.get("repositories") or []}),
            headers=out,
            media_type="application/json",
        )

    # --- tags -------------------------------------------------------------------------------

    def _document(self, repo: str, **rest: Any) -> dict[str, Any]:
        return {"registry": self._signer.service, "imageName": repo, **rest}

    async def _tags(self, repo: str, query: dict[str, list[str]]) -> Response:
        tags = await run_in_threadpool(self._storage.tags, repo)
        n = _page_size(query)
        digest = (query.get("digest") or [""])[0]
        if digest:
            tags = [t for t in tags if t.digest == digest]
        order = (query.get("orderby") or [""])[0].lower()
        last = (query.get("last") or [""])[0]
        if order in ("timedesc", "timeasc"):
            tags.sort(key=lambda t: (t.updated, t.name), reverse=order == "timedesc")
            page, more = tags[:n], False
        else:
            tags.sort(key=lambda t: t.name)
            if last:
                tags = [t for t in tags if t.name > last]
            page, more = tags[:n], len(tags) > n
        headers = {}
        if more and page:
            following = urlencode({"last": page[-1].name, "n": n})
            headers["Link"] = f'</acr/v1/{repo}/_tags?{following}>; rel="next"'
        body = self._document(repo, tags=[t.document() for t in page])
        return Response(json.dumps(body), headers=headers, media_type="application/json")

    async def _one_tag(self, repo: str, name: str) -> Response:
        if not _TAG.match(name):
            raise InvalidRequestError("The tag is not valid.", code="TAG_INVALID")
        tag = await run_in_threadpool(self._storage.tag, repo, name)
        if tag is None:
            raise NotFoundError(f"The tag '{name}' is not in '{repo}'.", code="TAG_UNKNOWN")
        return Response(json.dumps(self._document(repo, tag=tag.document())),
                        media_type="application/json")

    async def _repository(self, repo: str) -> Response:
        def read() -> dict[str, Any]:
            tags = self._storage.tags(repo)
            times = [t.created for t in tags] + [t.updated for t in tags]
            now = time.time()
            return self._document(
                repo,
                createdTime=_iso(min(times, default=now)),
                lastUpdateTime=_iso(max(times, default=now)),
                manifestCount=self._storage.manifest_count(repo),
                tagCount=len(tags),
                changeableAttributes={**_CHANGEABLE, "teleportEnabled": False},
            )

        return Response(json.dumps(await run_in_threadpool(read)),
                        media_type="application/json")


def _page_size(query: dict[str, list[str]]) -> int:
    raw = (query.get("n") or [""])[0]
    if not raw:
        return _DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_PAGE:
        raise InvalidRequestError(f"n must be 1 to {_MAX_PAGE}.", code="PAGINATION_NUMBER_INVALID")
    return int(raw)
