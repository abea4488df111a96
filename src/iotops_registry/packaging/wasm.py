"""WebAssembly binaries: a core module or a component, checked before it is pushed.

A WASM file starts with the magic ``\\0asm`` and a 4-byte version: ``01 00 00 00`` for a core
module, ``0d 00 01 00`` (version 0x0d, layer 1) for a component. After the header come
sections, each an id byte and a LEB128 size; walking them (without decoding their payloads)
finds a truncated file, which the runtime would refuse only after the graph is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import InvalidArtifact, Problem

__all__ = ["WasmInfo", "check_wasm", "check_wasm_file"]

MAGIC = b"\0asm"
CORE = b"\x01\x00\x00\x00"
COMPONENT_LAYER = b"\x01\x00"


@dataclass(frozen=True)
class WasmInfo:
    kind: Literal["module", "component"]
    size: int
    sections: int


def _leb128(data: memoryview, offset: int) -> tuple[int, int]:
    result = shift = 0
    for _ in range(5):  # a u32 takes at most 5 bytes
        if offset >= len(data):
            raise ValueError("truncated")
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, offset
        shift += 7
    raise ValueError("malformed section size")


def check_wasm(data: bytes, file: str) -> WasmInfo:
    """Describe ``data`` or raise :class:`InvalidArtifact` naming the first problem."""

    def refuse(message: str, fix: str) -> InvalidArtifact:
        return InvalidArtifact([Problem(file, "", message, fix)])

    if data[:4] != MAGIC:
        raise refuse("not a WebAssembly binary (no \\0asm magic)",
                     "pass the .wasm file your build produced (wasm32-wasip2 target)")
    if len(data) < 8:
        raise refuse("truncated WebAssembly binary (shorter than its 8-byte header)",
                     "rebuild the module or copy it again")
    version = data[4:8]
    if version == CORE:
        kind: Literal["module", "component"] = "module"
    elif version[2:4] == COMPONENT_LAYER:
        kind = "component"
    else:
        raise refuse(f"unsupported WebAssembly version {version.hex()}",
                     "build a core module (version 1) or a component (layer 1)")
    view = memoryview(data)
    offset, sections = 8, 0
    while offset < len(view):
        offset += 1  # section id
        try:
            size, offset = _leb128(view, offset)
        except ValueError as exc:
            raise refuse(f"{exc} WebAssembly binary (section {sections} at byte {offset})",
                         "rebuild the module or copy it again") from None
        if offset + size > len(view):
            raise refuse(
                f"truncated WebAssembly binary: section {sections} needs {size} bytes at "
                f"offset {offset}, the file has {len(view) - offset}",
                "rebuild the module or copy it again",
            )
        offset += size
        sections += 1
    return WasmInfo(kind, len(data), sections)


def check_wasm_file(path: Path) -> tuple[bytes, WasmInfo]:
    """Read and check a module file (modules are small: read whole)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = Problem(str(path), "", f"cannot read: {exc.strerror}", "")
        raise InvalidArtifact([problem]) from None
    return data, check_wasm(data, path.name)
