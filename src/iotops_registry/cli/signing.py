"""``iotops artifact sign|verify`` and ``iotops dev ca create``: Notary Project signatures.

Plain click commands; ``cli/artifact.py`` adds the first two to the ``artifact`` group and
``cli/__init__`` the third to ``dev``. Registry access for now: ``--username`` with
``--password-stdin``, else anonymous; TLS trusts the system store, the data directory's CA
(so the registry of ``iotops serve --dev`` works as is) and ``--registry-ca-file``.
Heavy modules (remote, notary, cryptography) are imported inside the commands, so that
``iotops --help`` and the other commands do not pay for them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..config import DataDir, write_private_file
from ..errors import IotopsError
from .errors import CliError
from .options import OutputOptions, bundle, data_dir_option, output_options
from .output import Column, emit

if TYPE_CHECKING:
    from ..notary import Verdict
    from ..oci import Reference
    from ..remote import RegistryClient

__all__ = ["ca", "parse_duration", "sign", "verify"]

F = TypeVar("F", bound=Callable[..., Any])

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:(\d+)([smhdw]))+")


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w`` or combinations (``1d12h``)."""
    value = text.strip().lower()
    if not _DURATION.fullmatch(value):
        raise click.BadParameter(
            f"{text!r} is not a duration such as 90s, 30m, 24h, 7d or 1d12h"
        )
    seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([smhdw])", value))
    if seconds < 1:
        raise click.BadParameter("the duration must be at least one second")
    return dt.timedelta(seconds=seconds)


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    return None if value is None else parse_duration(value)


@dataclass(frozen=True)
class RegistryOptions:
    data_dir: Path
    username: str | None = None
    password_stdin: bool = False
    registry_ca_file: Path | None = None


def registry_options(f: F) -> F:
    names = ("data_dir", "username", "password_stdin", "registry_ca_file")
    f = bundle(f, names, RegistryOptions, "reg")
    f = click.option(
        "--registry-ca-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="PEM bundle to trust for the registry's TLS certificate, besides the system "
             "store and the data directory's CA.",
    )(f)
    f = click.option(
        "--password-stdin", is_flag=True,
        help="Read the registry password (or token) from standard input.",
    )(f)
    f = click.option(
        "--username", "-u", metavar="USER",
        help="Registry user name (with --password-stdin); anonymous without it.",
    )(f)
    return data_dir_option(f)


def _ssl_context(reg: RegistryOptions) -> ssl.SSLContext:
    context = ssl.create_default_context()
    local = DataDir(reg.data_dir).ca_path
    for path in (local if local.exists() else None, reg.registry_ca_file):
        if path is not None:
            try:
                context.load_verify_locations(cafile=str(path))
            except (OSError, ssl.SSLError) as exc:
                raise CliError(f"cannot use {path} as a CA bundle: {exc}") from None
    return context


def _client(reg: RegistryOptions, ref: Reference) -> RegistryClient:
    from ..authn import ANONYMOUS, Authenticator, BasicCredential, StaticBasic
    from ..remote import RegistryClient

    if reg.password_stdin and not reg.username:
        raise click.UsageError("--password-stdin needs --username")
    authenticator: Authenticator = ANONYMOUS
    if reg.username:
        if not reg.password_stdin:
            raise click.UsageError("--username needs --password-stdin (passwords are never "
                                   "taken as arguments)")
        password = sys.stdin.read().rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input")
        authenticator = StaticBasic(BasicCredential(reg.username, password))
    return RegistryClient(ref.registry, authenticator=authenticator, verify=_ssl_context(reg))


def _reference(text: str) -> Reference:
    from ..oci import Reference

    try:
        return Reference.parse(text)
    except IotopsError as exc:
        raise click.BadParameter(str(exc), param_hint="REF") from None


def _run(coroutine: Any) -> Any:
    try:
        return asyncio.run(coroutine)
    except IotopsError as exc:
        raise CliError(str(exc)) from None


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read the {what} {path}: {exc.strerror}") from None


# --- sign ------------------------------------------------------------------------------------


@click.command("sign")
@click.argument("reference", metavar="REF")
@click.option("--key", "key_file", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="PEM private key (RSA 2048/3072/4096 or EC P-256/384/521).")
@click.option("--cert", "cert_file", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="PEM certificate chain: the signing certificate first, then its CAs up "
                   "to the root.")
@click.option("--envelope", type=click.Choice(["jws", "cose"], case_sensitive=False),
              default="jws", show_default=True, help="Signature envelope format.")
@click.option("--expiry", metavar="DURATION", callback=_duration,
              help="Make the signature expire after this long, e.g. 24h, 30d, 1d12h.")
@registry_options
@output_options
def sign(
    reference: str,
    key_file: Path,
    cert_file: Path,
    envelope: str,
    expiry: dt.timedelta | None,
    reg: RegistryOptions,
    out: OutputOptions,
) -> None:
    """Sign the artifact REF (host[:port]/repo:tag or @digest) with a Notary Project
    signature and push it as a referrer, as `notation sign` does.

    A tag is resolved to its digest first; the digest is what is signed.
    """
    from ..errors import SigningError
    from ..notary import SigningIdentity
    from ..notary import sign as sign_artifact

    ref = _reference(reference)
    try:
        identity = SigningIdentity.from_pem(_read(key_file, "key"), _read(cert_file, "chain"))
    except SigningError as exc:
        raise CliError(exc.message) from None

    async def run() -> dict[str, Any]:
        async with _client(reg, ref) as client:
            artifact = await client.head_manifest(ref.repository, ref.ref)
            attached = await sign_artifact(
                client, ref.repository, artifact, identity, envelope=envelope, expiry=expiry
            )
        signed = attached.envelope
        return {
            "artifact": f"{ref.registry}/{ref.repository}@{artifact.digest}",
            "artifactDescriptor": artifact.to_dict(),
            "signatureManifest": attached.manifest.to_dict(),
            "envelope": signed.descriptor().to_dict(),
            "signer": attached.signer,
            "signingTime": _iso(signed.signing_time),
            "expiry": _iso(signed.expiry) if signed.expiry else None,
        }

    result = _run(run())
    emit(result, out, SIGN_COLUMNS)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


SIGN_COLUMNS: list[Column] = [
    ("Artifact", lambda d: d.get("artifact")),
    ("Signature", lambda d: (d.get("signatureManifest") or {}).get("digest")),
    ("Envelope", lambda d: (d.get("envelope") or {}).get("mediaType")),
    ("Signer", lambda d: d.get("signer")),
    ("Expiry", lambda d: d.get("expiry")),
]


# --- verify ----------------------------------------------------------------------------------


def _chain_rows(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """``-o table``: the chain of the signature reported, leaf first."""
    signature = verdict.get("signature") or {}
    trusted = (signature.get("trustedBy") or {}).get("sha256Fingerprint")
    rows = []
    chain = signature.get("chain") or []
    for i, cert in enumerate(chain):
        role = "signer" if i == 0 else ("root" if i == len(chain) - 1 else "intermediate")
        rows.append({**cert, "role": role, "trusted": cert["sha256Fingerprint"] == trusted,
                     "code": verdict["code"]})
    return rows or [{"role": "-", "subject": None, "code": verdict["code"]}]


VERIFY_COLUMNS: list[Column] = [
    ("Verdict", lambda d: d.get("code")),
    ("Role", lambda d: d.get("role")),
    ("Subject", lambda d: d.get("subject")),
    ("NotAfter", lambda d: d.get("notAfter")),
    ("Trusted", lambda d: d.get("trusted")),
    ("SHA256", lambda d: d.get("sha256Fingerprint")),
]


@click.command("verify")
@click.argument("reference", metavar="REF")
@click.option("--ca-file", "ca_files", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="PEM (or DER) code-signing CA certificates to trust; repeatable, and a "
                   "file may hold several.")
@click.option("--signing-authority", is_flag=True,
              help="Trust the CAs for notary.x509.signingAuthority signatures instead of "
                   "notary.x509 ones (the specification keeps the two apart).")
@click.option("--registry-endpoint", metavar="NAME",
              help="Verify through this registry endpoint instead: the server pulls with the "
                   "endpoint's credentials and checks against its code-signing CAs and "
                   "signature policy (REF may be relative to the endpoint's host).")
@click.option("-i", "--instance", help="Instance of --registry-endpoint.")
@click.option("-g", "--resource-group", help="Resource group of --registry-endpoint.")
@click.option("--server", envvar="IOTOPS_SERVER", metavar="URL",
              help="With --registry-endpoint: HTTPS URL of a remote server [default: the "
                   "server of --data-dir].")
@click.option("--subscription", envvar="IOTOPS_SUBSCRIPTION", metavar="ID",
              help="With --registry-endpoint: subscription id [default: the embedded "
                   "server's].")
@registry_options
@output_options
def verify(
    reference: str,
    ca_files: tuple[Path, ...],
    signing_authority: bool,
    registry_endpoint: str | None,
    instance: str | None,
    resource_group: str | None,
    server: str | None,
    subscription: str | None,
    reg: RegistryOptions,
    out: OutputOptions,
) -> None:
    """Verify the Notary Project signatures of REF against the given CAs, or through a
    registry endpoint (its code-signing CAs and policy).

    Succeeds (exit 0) when one signature verifies: integrity, a chain to one of the CAs,
    the signed descriptor equal to REF's, not expired, certificates valid. Otherwise prints
    the verdict and exits 1. Through an endpoint, exit 0 means the endpoint's policy allows
    the artifact (``audit`` allows what does not verify, and says so). Revocation and
    RFC 3161 timestamps are not checked.

    \b
    Examples:
      iotops artifact verify 127.0.0.1:8447/graphs/demo:1.0.0 --ca-file ca.pem
      iotops artifact verify graphs/demo:1.0.0 --registry-endpoint dev -i inst -g rg
    """
    if registry_endpoint:
        if ca_files:
            raise click.UsageError("give --ca-file or --registry-endpoint, not both")
        if not instance or not resource_group:
            raise click.UsageError("--registry-endpoint needs -i/--instance and "
                                   "-g/--resource-group")
        _verify_through_endpoint(reference, registry_endpoint, instance, resource_group,
                                 server, subscription, reg, out)
        return
    if not ca_files:
        raise click.UsageError("give --ca-file (the code-signing CAs to trust) or "
                               "--registry-endpoint")
    from ..errors import TrustStoreInvalid
    from ..notary import TrustStore
    from ..notary import verify as verify_artifact

    ref = _reference(reference)
    try:
        store = TrustStore.from_files(ca_files, signing_authority=signing_authority)
    except TrustStoreInvalid as exc:
        raise CliError(exc.message) from None

    async def run() -> Verdict:
        async with _client(reg, ref) as client:
            artifact = await client.head_manifest(ref.repository, ref.ref)
            return await verify_artifact(client, ref.repository, artifact, store)

    verdict = cast("Verdict", _run(run()))
    data = verdict.to_dict()
    if out.format == "table" and out.query is None:
        emit(_chain_rows(data), out, VERIFY_COLUMNS)
    else:
        emit(data, out)
    if not verdict.ok:
        raise CliError(f"({verdict.code}) {verdict.message}")
    click.echo(f"Verified {verdict.reference}: {verdict.message}", err=True)


ENDPOINT_COLUMNS: list[Column] = [
    ("Decision", lambda d: d.get("decision")),
    ("Policy", lambda d: d.get("policy")),
    ("Code", lambda d: d.get("code")),
    ("Signer", lambda d: d.get("signer")),
    ("Artifact", lambda d: d.get("artifact")),
]


def _verify_through_endpoint(reference: str, endpoint: str, instance: str, rg: str,
                             server: str | None, subscription: str | None,
                             reg: RegistryOptions, out: OutputOptions) -> None:
    from .client import connect, endpoint_path
    from .options import ConnectionOptions

    conn = ConnectionOptions(reg.data_dir, server, None, subscription)
    with connect(conn) as client:
        path = endpoint_path(client.subscription, rg, instance, endpoint)
        reply = client.request("POST", path + "/verifyArtifact", body={"artifact": reference})
    data = reply.body if isinstance(reply.body, dict) else {}
    if out.format == "table" and out.query is None and data.get("verdict"):
        emit(_chain_rows(data["verdict"]), out, VERIFY_COLUMNS)
    else:
        emit(data, out, ENDPOINT_COLUMNS)
    if data.get("decision") != "Allowed":
        raise CliError(f"({data.get('code')}) {data.get('message')}")
    click.echo(f"{data.get('decision')} by the {data.get('policy')} policy of endpoint "
               f"'{endpoint}': {data.get('message')}", err=True)


# --- dev ca create ---------------------------------------------------------------------------


@click.group("ca")
def ca() -> None:
    """A local code-signing CA and signing certificate, to try `iotops artifact sign` and
    `verify` (and notation) without a real CA."""


@ca.command("create")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for ca.pem, ca.key, signer.pem, signer.key and chain.pem.")
@click.option("--key-type", default="ec-p256", show_default=True,
              type=click.Choice(["ec-p256", "ec-p384", "ec-p521",
                                 "rsa-2048", "rsa-3072", "rsa-4096"]),
              help="Key type of both certificates.")
@click.option("--organization", default="iotops-registry development", show_default=True,
              help="O= of both subjects.")
@click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True,
              help="Validity of the signing certificate (the CA's is a day longer).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@output_options
def ca_create(
    out_dir: Path, key_type: str, organization: str, days: int, force: bool, out: OutputOptions
) -> None:
    """Make a code-signing root CA and a signing certificate issued by it.

    Keys are written 0600. Then: `iotops artifact sign REF --key DIR/signer.key --cert
    DIR/chain.pem` and `iotops artifact verify REF --ca-file DIR/ca.pem`.
    """
    from ..notary import create_dev_ca
    from ..notary.certificates import describe

    files = {
        "ca.pem": None, "ca.key": None, "signer.pem": None, "signer.key": None, "chain.pem": None,
    }
    existing = [name for name in files if (out_dir / name).exists()]
    if existing and not force:
        raise CliError(f"{out_dir / existing[0]} exists (use --force to overwrite)")
    made = create_dev_ca(organization=organization, key_type=key_type, days=days)
    contents = {
        "ca.pem": (made.ca_pem(), 0o644),
        "ca.key": (made.ca_key_pem(), 0o600),
        "signer.pem": (made.leaf_pem(), 0o644),
        "signer.key": (made.leaf_key_pem(), 0o600),
        "chain.pem": (made.chain_pem(), 0o644),
    }
    for name, (data, mode) in contents.items():
        write_private_file(out_dir / name, data, mode=mode)
    emit(
        {
            "directory": str(out_dir),
            "ca": {**describe(made.ca).to_dict(), "certificate": str(out_dir / "ca.pem"),
                   "key": str(out_dir / "ca.key")},
            "signer": {**describe(made.leaf).to_dict(),
                       "certificate": str(out_dir / "signer.pem"),
                       "key": str(out_dir / "signer.key"),
                       "chain": str(out_dir / "chain.pem")},
        },
        out,
        CA_COLUMNS,
    )


CA_COLUMNS: list[Column] = [
    ("Directory", lambda d: d.get("directory")),
    ("CA", lambda d: d["ca"]["subject"]),
    ("Signer", lambda d: d["signer"]["subject"]),
    ("NotAfter", lambda d: d["signer"]["notAfter"]),
]
