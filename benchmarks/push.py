#!/usr/bin/env python3
"""Benchmark pushes: iotops against skopeo, oras-py, curl and a minimal client, in one run.

Starts a real CNCF Distribution registry (Debian's ``docker-registry``, plain HTTP, no auth,
storage on /dev/shm: the filesystem driver's fsyncs would otherwise dominate), then for
several repetitions, every tool into fresh repositories (so no blob is skipped as present):

**big**: one artifact with one 256 MiB layer (random bytes), each tool a whole process:

- ``curl``: ``POST`` an upload session, ``curl -T`` the file as one ``PUT ?digest=`` (the
  digest computed beforehand, untimed): the registry's ingest limit, the baseline;
- ``iotops``: ``iotops artifact push REF big.bin:application/octet-stream`` (the file is
  hashed while it uploads: one read);
- ``skopeo``: ``skopeo copy oci:LAYOUT docker://REF`` (layout built untimed);
- ``oras-py``: ``Registry.push`` in a fresh Python process.

Peak RSS of each process comes from ``wait4``.

**small**: 200 artifacts of two 4 KiB files each, one repository each:

- ``iotops``: one process, the library's ``Publisher.push_files``, 4 artifacts in flight;
- ``minimal``: one process, bare httpx, 4 in flight, POST + PUT per blob and PUT manifest,
  no HEAD, no auth logic: what the protocol costs at this concurrency;
- ``skopeo-sync``: one ``skopeo sync --src dir`` process for all 200 (dir trees untimed);
- ``oras-py``: one process, sequential (oras-py has no concurrency).

**start-up**: one small artifact pushed by a whole ``iotops artifact push`` process, against
``skopeo copy oci:... docker://...`` of the same artifact, one oras-py process, and a shell
running the 7 ``curl`` requests (POST + PUT per blob, PUT manifest); median of
``--startup-runs``. Every Python child runs with bytecode caches (compiled untimed first),
as an installed package would; the 1-minute load average is recorded with each sample
(the machine may be shared: read the figures with it).

Prints Markdown tables and the ratios the targets are stated in. Usage::

    .venv/bin/python benchmarks/push.py                 # 3 repetitions
    .venv/bin/python benchmarks/push.py --reps 1 --small 50 --big-mib 64
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from pull import Registry  # the same registry set-up as the pull benchmark

PY = sys.executable
# Child processes run as a user's would: with bytecode caches (pip writes them at install;
# a PYTHONDONTWRITEBYTECODE=1 environment with no caches would recompile every module of
# the source checkout at every start, ~0.1 s more per process).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_process(args: list[str], **kwargs: object) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS KiB) of one child process; raises if it fails."""
    kwargs.setdefault("env", CHILD_ENV)
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            **kwargs)  # type: ignore[call-overload]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args[0]} failed: {stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def oci_layout(dest: Path, files: list[Path], tag: str) -> None:
    """An artifact layout (empty config, octet-stream layers) with hard-linked blobs."""
    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    layers = []
    for f in files:
        hexd = sha256_file(f)
        target = blobs / hexd
        if not target.exists():
            os.link(f, target)
        layers.append({"mediaType": "application/octet-stream", "digest": f"sha256:{hexd}",
                       "size": f.stat().st_size,
                       "annotations": {"org.opencontainers.image.title": f.name}})
    (blobs / hashlib.sha256(b"{}").hexdigest()).write_bytes(b"{}")
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "artifactType": "application/vnd.example+type",
                           "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                                      "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(),
                                      "size": 2},
                           "layers": layers}).encode()
    mhex = hashlib.sha256(manifest).hexdigest()
    (blobs / mhex).write_bytes(manifest)
    (dest / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (dest / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{mhex}",
        "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": tag}}]}))


CURL = """set -e
loc=$(curl -s -o /dev/null -w '%{redirect_url}' -X POST "http://$HOST/v2/$REPO/blobs/uploads/" \
  -D - | tr -d '\\r' | sed -n 's/^Location: //Ip')
case "$loc" in http*) ;; *) loc="http://$HOST$loc";; esac
curl -sf -o /dev/null -T "$FILE" -H 'Content-Type: application/octet-stream' "$loc&digest=$DIGEST"
"""

CURL_ONE = """set -e
for pair in $BLOBS; do
  d=${pair%%=*}; f=${pair#*=}
  loc=$(curl -s -o /dev/null -X POST "http://$HOST/v2/$REPO/blobs/uploads/" -D - \
    | tr -d '\r' | sed -n 's/^Location: //Ip')
  case "$loc" in http*) ;; *) loc="http://$HOST$loc";; esac
  curl -sf -o /dev/null -T "$f" -H 'Content-Type: application/octet-stream' "$loc&digest=$d"
done
curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "@$MANIFEST" "http://$HOST/v2/$REPO/manifests/1"
"""

ORAS_ONE = """
import sys, oras.provider
host, repo, one, two = sys.argv[1:5]
oras.provider.Registry(host, insecure=True).push(
    f"{host}/{repo}:1", files=[one, two], disable_path_validation=True, quiet=True)
"""

ORAS_BIG = """
import sys, oras.provider
host, repo, path = sys.argv[1:4]
r = oras.provider.Registry(host, insecure=True)
r.push(f"{host}/{repo}:1", files=[path], disable_path_validation=True, quiet=True)
"""

ORAS_SMALL = """
import sys, oras.provider
host, prefix, work, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
r = oras.provider.Registry(host, insecure=True)
for i in range(count):
    d = f"{work}/a{i}"
    r.push(f"{host}/{prefix}/a{i}:1", files=[f"{d}/one.bin", f"{d}/two.bin"],
           disable_path_validation=True, quiet=True)
"""

IOTOPS_SMALL = """
import asyncio, sys
from pathlib import Path
from iotops_registry.remote import RegistryClient
from iotops_registry.packaging import Publisher
host, prefix, work, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
async def main():
    async with RegistryClient(host, plain_http=True) as client:
        slots = asyncio.Semaphore(4)
        async def one(i):
            async with slots:
                d = Path(work) / f"a{i}"
                files = [(d / "one.bin", "application/octet-stream"),
                         (d / "two.bin", "application/octet-stream")]
                await Publisher(client, concurrency=2).push_files(
                    f"{prefix}/a{i}", "1", files, artifact_type="application/vnd.example+type",
                    config=None, annotations={})
        await asyncio.gather(*(one(i) for i in range(count)))
asyncio.run(main())
"""

MINIMAL_SMALL = """
import asyncio, hashlib, json, sys
from pathlib import Path
import httpx
host, prefix, work, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
EMPTY = b"{}"
async def blob(c, repo, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    r = await c.post(f"/v2/{repo}/blobs/uploads/")
    loc = r.headers["location"]
    url = loc + ("&" if "?" in loc else "?") + "digest=" + d
    (await c.put(url, content=data,
                 headers={"Content-Type": "application/octet-stream"})).raise_for_status()
    return {"mediaType": "application/octet-stream", "digest": d, "size": len(data)}
async def main():
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(base_url=f"http://{host}", limits=limits) as c:
        slots = asyncio.Semaphore(4)
        async def one(i):
            async with slots:
                repo = f"{prefix}/a{i}"
                d = Path(work) / f"a{i}"
                cfg = await blob(c, repo, EMPTY)
                layers = [await blob(c, repo, (d / n).read_bytes())
                          for n in ("one.bin", "two.bin")]
                cfg["mediaType"] = "application/vnd.oci.empty.v1+json"
                m = json.dumps({"schemaVersion": 2, "mediaType":
                                "application/vnd.oci.image.manifest.v1+json", "config": cfg,
                                "layers": layers}).encode()
                (await c.put(f"/v2/{repo}/manifests/1", content=m, headers={
                    "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
                 ).raise_for_status()
        await asyncio.gather(*(one(i) for i in range(count)))
asyncio.run(main())
"""


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--startup-runs", type=int, default=10)
    args = parser.parse_args()
    for tool in ("skopeo", "curl", "docker-registry"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing (apt-get install skopeo curl docker-registry)")
    iotops = [PY, "-m", "iotops_registry"]
    import iotops_registry  # only to find the package: compile its bytecode, untimed

    subprocess.run([PY, "-m", "compileall", "-q", str(Path(iotops_registry.__file__).parent)],
                   check=True, env=CHILD_ENV, stdout=subprocess.DEVNULL)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    loads: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(dir=shm) as root_text, \
            tempfile.TemporaryDirectory() as work_text:
        root, work = Path(root_text), Path(work_text)
        registry = Registry(root / "registry")
        registry.start()
        host = registry.host
        try:
            big = work / "big.bin"
            with big.open("wb") as f:
                for _ in range(args.big_mib):
                    f.write(os.urandom(1 << 20))
            digest = "sha256:" + sha256_file(big)
            oci_layout(work / "big-layout", [big], "1")
            for i in range(args.small):
                d = work / "small" / f"a{i}"
                d.mkdir(parents=True)
                (d / "one.bin").write_bytes(os.urandom(4096))
                (d / "two.bin").write_bytes(os.urandom(4096))
            # skopeo sync reads dir-transport trees: made once with skopeo, untimed.
            dirs = work / "dirs"
            dirs.mkdir()
            for i in range(args.small):
                layout = work / "small-layouts" / f"a{i}"
                oci_layout(layout, [work / "small" / f"a{i}" / n for n in ("one.bin", "two.bin")],
                           "1")
                subprocess.run(["skopeo", "--insecure-policy", "copy", f"oci:{layout}:1",
                                f"dir:{dirs / f'a{i}'}"], check=True, capture_output=True)
            results: dict[str, list[tuple[float, float, int]]] = {}

            def record(name: str, value: tuple[float, float, int]) -> None:
                results.setdefault(name, []).append(value)
                loads.setdefault(name, []).append(os.getloadavg()[0])

            for rep in range(args.reps):
                record("big curl", run_process(["sh", "-c", CURL], env={
                    **CHILD_ENV, "HOST": host, "REPO": f"curl/big{rep}", "FILE": str(big),
                    "DIGEST": digest}))
                record("big iotops", run_process([*iotops, "artifact", "push",
                                                  f"{host}/iotops/big{rep}:1",
                                                  f"{big}:application/octet-stream",
                                                  "--plain-http", "-o", "none"]))
                record("big skopeo", run_process(["skopeo", "--insecure-policy", "copy",
                                                  "--dest-tls-verify=false",
                                                  f"oci:{work / 'big-layout'}:1",
                                                  f"docker://{host}/skopeo/big{rep}:1"]))
                record("big oras-py", run_process([PY, "-c", ORAS_BIG, host, f"oras/big{rep}",
                                                   str(big)], cwd=str(work)))
                small = [host, "", str(work / "small"), str(args.small)]
                record("small iotops", run_process([PY, "-c", IOTOPS_SMALL, host,
                                                    f"iotops-s{rep}", *small[2:]]))
                record("small minimal-j4", run_process([PY, "-c", MINIMAL_SMALL, host,
                                                        f"min-s{rep}", *small[2:]]))
                record("small skopeo-sync", run_process([
                    "skopeo", "--insecure-policy", "sync", "--src", "dir", "--dest", "docker",
                    "--dest-tls-verify=false", str(dirs), f"{host}/sync-s{rep}"]))
                record("small oras-py", run_process([PY, "-c", ORAS_SMALL, host, f"oras-s{rep}",
                                                     *small[2:]], cwd=str(work)))
            one = work / "small" / "a0"
            layout0 = work / "small-layouts" / "a0"
            index0 = json.loads((layout0 / "index.json").read_text())
            mfile = layout0 / "blobs" / "sha256" / index0["manifests"][0]["digest"][7:]
            mdoc = json.loads(mfile.read_text())
            pairs = " ".join(f"{d['digest']}={layout0 / 'blobs' / 'sha256' / d['digest'][7:]}"
                             for d in [mdoc["config"], *mdoc["layers"]])
            for run in range(args.startup_runs):
                record("one iotops", run_process([*iotops, "artifact", "push",
                                                  f"{host}/start/i{run}:1",
                                                  f"{one / 'one.bin'}:application/octet-stream",
                                                  f"{one / 'two.bin'}:application/octet-stream",
                                                  "--plain-http", "-o", "none"]))
                record("one skopeo", run_process(["skopeo", "--insecure-policy", "copy",
                                                  "--dest-tls-verify=false",
                                                  f"oci:{work / 'small-layouts' / 'a0'}:1",
                                                  f"docker://{host}/start/s{run}:1"]))
                record("one oras-py", run_process([PY, "-c", ORAS_ONE, host, f"start/o{run}",
                                                   str(one / "one.bin"), str(one / "two.bin")],
                                                  cwd=str(work)))
                record("one curl", run_process(["sh", "-c", CURL_ONE], env={
                    **CHILD_ENV, "HOST": host, "REPO": f"start/c{run}", "BLOBS": pairs,
                    "MANIFEST": str(mfile)}))
        finally:
            registry.stop()
    report(results, loads, args)


def report(results: dict[str, list[tuple[float, float, int]]], loads: dict[str, list[float]],
           args: argparse.Namespace) -> None:
    print(f"\nPython {sys.version.split()[0]}, {os.cpu_count()} CPUs, reps {args.reps}, "
          f"big {args.big_mib} MiB, small {args.small}, start-up runs {args.startup_runs}\n")
    print("| workload / tool | min s | median s | max s | CPU s (median) | peak RSS MiB "
          "| load avg (1 min) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    med: dict[str, float] = {}
    for name, values in results.items():
        walls = [v[0] for v in values]
        med[name] = median(walls)
        load = loads[name]
        print(f"| {name} | {min(walls):.3f} | {med[name]:.3f} | {max(walls):.3f} | "
              f"{median([v[1] for v in values]):.2f} | {max(v[2] for v in values) / 1024:.0f} "
              f"| {min(load):.1f}-{max(load):.1f} |")
    mib = args.big_mib

    def ratio(a: str, b: str) -> str:
        return f"{med[b] / med[a]:.2f}" if a in med and b in med else "n/a"

    big_pct = 100 * med["big curl"] / med["big iotops"]
    j4 = med["small minimal-j4"] / med["small iotops"]
    print("\nRatios (medians):")
    print(f"- big: iotops {mib / med['big iotops']:.0f} MiB/s = {big_pct:.0f} % of curl's raw "
          f"PUT (aim >= 95 %); vs skopeo x{ratio('big iotops', 'big skopeo')}, vs oras-py "
          f"x{ratio('big iotops', 'big oras-py')}")
    print(f"- small: iotops x{ratio('small iotops', 'small skopeo-sync')} faster than skopeo "
          f"sync (aim >= 2); minimal-j4 / iotops = {j4:.2f} (aim >= 0.83, i.e. within 1.2x); "
          f"vs oras-py x{ratio('small iotops', 'small oras-py')}")
    one = med["one iotops"]
    print(f"- one small artifact, whole process: iotops / skopeo = "
          f"{one / med['one skopeo']:.2f} (aim <= 1.5); iotops / oras-py = "
          f"{one / med['one oras-py']:.2f}; iotops / curl (7 curl processes) = "
          f"{one / med['one curl']:.2f}")


if __name__ == "__main__":
    main()
