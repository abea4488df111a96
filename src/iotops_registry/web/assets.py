"""The portal's static files, served from memory under ``/-/static/`` with cache-busting URLs.

Each URL carries a hash of the file's content (``/-/static/portal.css?v=1a2b3c4d5e6f``). A
request with the current hash may be cached for a year; any other is served ``no-cache``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from .headers import security_headers

__all__ = ["StaticAssets"]

STATIC_DIR = Path(__file__).parent / "static"
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class _Asset:
    body: bytes
    media_type: str
    version: str


class StaticAssets:
    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self._assets: dict[str, _Asset] = {}
        for path in sorted(directory.iterdir()):
            media_type = _TYPES.get(path.suffix)
            if path.is_file() and media_type:
                body = path.read_bytes()
                version = hashlib.sha256(body).hexdigest()[:12]
                self._assets[path.name] = _Asset(body, media_type, version)

    def url(self, name: str) -> str:
        return f"/-/static/{name}?v={self._assets[name].version}"

    async def serve(self, request: Request) -> Response:
        asset = self._assets.get(request.path_params["name"])
        headers = security_headers()
        if asset is None:
            return Response("Not found", status_code=404, media_type="text/plain", headers=headers)
        fresh = request.query_params.get("v") == asset.version
        headers["Cache-Control"] = "public, max-age=31536000, immutable" if fresh else "no-cache"
        headers["ETag"] = f'"{asset.version}"'
        if request.headers.get("if-none-match") == headers["ETag"]:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)
