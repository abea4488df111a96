"""Who is on the other end of a loopback TCP connection (Linux ``/proc/net/tcp``).

IMDS answers without any credential: on Azure the host network is the boundary. Here the
boundary is the machine, which other users may share; and the tokens the endpoint mints are
accepted by the ARM API. So the endpoint answers only processes of the server's own user
(or root), who can read the data directory and its signing key anyway.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

__all__ = ["allowed_uids", "peer_uid"]

_TABLES = {socket.AF_INET: Path("/proc/net/tcp"), socket.AF_INET6: Path("/proc/net/tcp6")}


def allowed_uids() -> frozenset[int]:
    return frozenset({os.getuid(), 0})


def _hex_address(host: str, port: int) -> str:
    """An address as ``/proc/net/tcp`` prints it: the IP in host byte order, then the port."""
    packed = ipaddress.ip_address(host).packed
    # The kernel prints each 32-bit word of the address in host (little-endian) order.
    words = [packed[i : i + 4] for i in range(0, len(packed), 4)]
    hexed = "".join(int.from_bytes(w, "little").to_bytes(4, "big").hex() for w in words)
    return f"{hexed.upper()}:{port:04X}"


def peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid owning the client socket of the connection ``client`` → ``server``."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(client[0]).version == 6 else socket.AF_INET
    except ValueError:
        return None
    local, remote = _hex_address(*client), _hex_address(*server)
    try:
        lines = _TABLES[family].read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        # sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
        if len(fields) > 7 and fields[1] == local and fields[2] == remote:
            try:
                return int(fields[7])
            except ValueError:
                return None
    return None
