"""Serve a :class:`Runtime`: sockets, uvicorn servers on one event loop, signals, the registry
child and ``endpoints.json``. All listeners start before ``endpoints.json`` is written, and
all stop together (the registry child with them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Generator
from typing import Any

import uvicorn

from ..console import access_logged
from ..devregistry import find_registry_binary
from ..errors import ConfigurationError
from ..netutil import format_host_port
from .build import Runtime, build
from .http_limits import HEADER_TIMEOUT, MAX_HEAD_BYTES, limited_protocol
from .options import LOOPBACK, PORT_FLAGS, Ports, ServeOptions
from .standins import Listener

__all__ = ["bind", "run", "serve"]

log = logging.getLogger("iotops_registry.server")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to :func:`serve`, which stops every server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


ABORT_EXTENSION = "iotops.abort"


def _with_abort(app: Any) -> Any:
    """``app`` with ``scope["extensions"]["iotops.abort"]``: a callable that cuts the
    client's TCP connection at once, with no answer (the dev registry's upload fault). ASGI
    has no message for that; uvicorn's ``send`` is a method of the request's cycle, which
    holds the transport, so this must wrap the app outermost, before any middleware wraps
    ``send``. ``tests/test_devregistry_front.py`` fails if uvicorn changes that."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        abort = getattr(transport, "abort", None)  # uvloop's TLS transport too
        if scope.get("type") == "http" and callable(abort):
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}),
                                             ABORT_EXTENSION: abort}}
        await app(scope, receive, send)

    return wrapped


def _uvicorn_config(
    listener: Listener, log_level: str, header_timeout: float = HEADER_TIMEOUT
) -> uvicorn.Config:
    """A listener's settings; without a certificate it serves plain HTTP (the IMDS).
    ``proxy_headers=False``: the peer address is the socket's, never X-Forwarded-For."""
    return uvicorn.Config(
        _with_abort(access_logged(listener.app)),
        log_config=None,  # uvicorn's records go through the console set up by `iotops serve`
        proxy_headers=listener.proxy_headers,
        ssl_certfile=listener.cert_file,
        ssl_keyfile=listener.key_file,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=3,
        http=limited_protocol(header_timeout, MAX_HEAD_BYTES),
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
    )


def _run_loop(coro: Any) -> None:
    """uvloop when it is installed (it comes with uvicorn[standard]), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(coro)
        return
    uvloop.run(coro)


_SCAN = 64  # ports tried after a taken nominal port that was not given explicitly


def _listen(bind: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listener says so, and without it Nagle + delayed ACK stall every response ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bind, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _listen_for(
    origin: str, host: str, port: int, explicit: bool, taken: set[int]
) -> socket.socket:
    """Listen on ``port``; a port that was not given moves to the next free one."""
    tries = 1 if explicit or port == 0 else _SCAN
    error: OSError | None = None
    for candidate in range(port, min(port + tries, 65536)):
        if candidate in taken:
            continue
        try:
            return _listen(host, candidate)
        except OSError as exc:
            error = exc
    flag = PORT_FLAGS[origin]
    why = error.strerror if error is not None else "taken by another origin of this server"
    where = format_host_port(host, port)
    if tries > 1:
        where += f" (and the {tries - 1} ports after it)"
    raise ConfigurationError(
        f"cannot listen on {where} ({flag}): {why}. Choose the port with {flag}, or use "
        "--port 0 to pick free ports."
    )


def bind(opts: ServeOptions) -> tuple[Ports, dict[str, socket.socket]]:
    """Listen on every origin's port (the stand-ins on loopback only); 0 picks a free port,
    and a port not given that is taken moves to the next free one. Returns the ports as
    bound, and the sockets by origin name."""
    asked = opts.ports()
    wanted = [("arm", opts.bind, asked.arm), ("vault", opts.bind, asked.vault)]
    wanted.append(("identity", LOOPBACK, asked.identity))
    if opts.dev:
        wanted.append(("registry", opts.registry_host, asked.registry))
    sockets: dict[str, socket.socket] = {}
    taken: set[int] = set()
    try:
        for name, host, port in wanted:
            sock = _listen_for(name, host, port, opts.is_explicit(name), taken)
            sockets[name] = sock
            taken.add(int(sock.getsockname()[1]))
    except BaseException:
        for sock in sockets.values():
            sock.close()
        raise
    got = {name: int(sock.getsockname()[1]) for name, sock in sockets.items()}
    return (
        Ports(
            arm=got["arm"],
            vault=got["vault"],
            identity=got["identity"],
            registry=got.get("registry", asked.registry),
        ),
        sockets,
    )


def serve(
    runtime: Runtime,
    sockets: dict[str, socket.socket],
    *,
    announce: Callable[[str], Any] = print,
) -> None:
    """Serve every listener of ``runtime`` on its socket until a signal (or a failure)."""
    dd, opts = runtime.data_dir, runtime.opts
    stand_ins = runtime.stand_ins
    servers = [
        (
            _Server(_uvicorn_config(listener, opts.log_level, opts.header_timeout)),
            sockets[listener.name],
        )
        for listener in runtime.listeners
    ]
    # The runtime reaches managed identities through azure-identity's
    # ManagedIdentityCredential, unchanged; unless the environment already names one, that
    # is our IMDS stand-in.
    os.environ.setdefault("AZURE_POD_IDENTITY_AUTHORITY_HOST", stand_ins.endpoints["identity"])

    def stop_all() -> None:
        for s, _ in servers:
            if s.should_exit:
                s.force_exit = True  # a second signal: stop waiting for open connections
            s.should_exit = True

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_all)
        tasks = [asyncio.create_task(s.serve(sockets=[k])) for s, k in servers]
        watcher = asyncio.create_task(stand_ins.watch())
        await runtime.start()
        try:
            while not all(s.started for s, _ in servers) and not any(t.done() for t in tasks):
                await asyncio.sleep(0.02)
            if all(s.started for s, _ in servers):
                dd.write_endpoints({**runtime.endpoints(), "pid": os.getpid()})
                _announce(runtime, announce)
            # When one server stops (a signal, or a failure), the others stop with it.
            await asyncio.wait([*tasks, watcher], return_when=asyncio.FIRST_COMPLETED)
            stop_all()
            await asyncio.gather(*tasks)
        finally:
            watcher.cancel()
            await runtime.stop()
            dd.clear_endpoints()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _terminate(_sig: int, _frame: Any) -> None:
        # Outside the event loop (start-up, clean-up) SIGTERM still ends the process through
        # every ``finally`` (endpoints.json, the store); inside it, ``stop_all`` handles it.
        raise SystemExit(0)

    stale = dd.stale_endpoints()
    if stale:
        log.warning("%s", stale)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        stand_ins.start_registry()
        _run_loop(main())
        if stand_ins.failure:
            raise ConfigurationError(stand_ins.failure)
    finally:
        signal.signal(signal.SIGTERM, previous)
        runtime.close()
        for sock in sockets.values():
            sock.close()


def _announce(runtime: Runtime, announce: Callable[[str], Any]) -> None:
    origin, dd = runtime.origin, runtime.data_dir
    announce(f"iotops-registry is serving on {origin}")
    announce(f"  ARM API:       {origin}/subscriptions/{runtime.settings.subscription_id}")
    announce(f"  OpenAPI:       {origin}/openapi.json")
    announce(f"  Vault:         {runtime.vault_origin}")
    announce(f"  Issuer:        {runtime.issuer.issuer_url}")
    for line in runtime.stand_ins.announce_lines():
        announce(line)
    announce(f"  CA bundle:     {dd.ca_path}")
    announce(f"  Data dir:      {dd.path}")
    announce("Get a token with: iotops token --data-dir " + str(dd.path))
    announce("Portal sign-in (single use, valid 15 minutes):")
    announce(f"  {runtime.portal.signin_url(origin)}")
    announce("Another sign-in URL: iotops portal-url --data-dir " + str(dd.path))


def run(opts: ServeOptions, *, announce: Callable[[str], Any] = print) -> None:
    """``iotops serve``: bind, build, serve."""
    if opts.dev:
        find_registry_binary()  # a missing registry fails the start before anything listens
    ports, sockets = bind(opts)
    try:
        runtime = build(opts, ports)
    except BaseException:
        for sock in sockets.values():
            sock.close()
        raise
    serve(runtime, sockets, announce=announce)
