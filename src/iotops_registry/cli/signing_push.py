"""``--sign`` for ``graph push`` and ``connector push``: each manifest pushed (modules, graph,
connector image, metadata) gets a Notary Project signature, attached as its referrer, as
``iotops artifact sign`` would make it. Nothing is signed unless everything was pushed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .errors import CliError
from .options import bundle

if TYPE_CHECKING:
    from ..notary import SigningIdentity
    from ..packaging import Pushed
    from ..remote import RegistryClient

__all__ = ["SignOptions", "sign_options", "sign_pushed"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class SignOptions:
    sign: bool = False
    key_file: Path | None = None
    cert_file: Path | None = None
    envelope: str = "jws"
    expiry: dt.timedelta | None = None

    def identity(self) -> SigningIdentity | None:
        """The signing key and chain, read before anything is pushed (a bad key fails
        first); None without ``--sign``."""
        if not self.sign:
            if self.key_file or self.cert_file:
                raise click.UsageError("--key and --cert sign only with --sign")
            return None
        if not self.key_file or not self.cert_file:
            raise click.UsageError("--sign needs --key KEY.pem and --cert CHAIN.pem")
        from ..errors import SigningError
        from ..notary import SigningIdentity

        try:
            return SigningIdentity.from_pem(self.key_file.read_bytes(),
                                            self.cert_file.read_bytes())
        except OSError as exc:
            raise CliError(f"Cannot read the signing key or chain: {exc.strerror}") from None
        except SigningError as exc:
            raise CliError(exc.message) from None


def _expiry(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    from .signing import parse_duration

    return None if value is None else parse_duration(value)


def sign_options(f: F) -> F:
    f = bundle(f, ("sign", "key_file", "cert_file", "envelope", "expiry"), SignOptions,
               "signing")
    options = [
        click.option("--sign", is_flag=True,
                     help="Sign every manifest pushed with a Notary Project signature "
                          "(needs --key and --cert), as `iotops artifact sign` does."),
        click.option("--key", "key_file",
                     type=click.Path(dir_okay=False, exists=True, path_type=Path),
                     help="With --sign: PEM private key (RSA or EC)."),
        click.option("--cert", "cert_file",
                     type=click.Path(dir_okay=False, exists=True, path_type=Path),
                     help="With --sign: PEM chain, signing certificate first."),
        click.option("--envelope", type=click.Choice(["jws", "cose"], case_sensitive=False),
                     default="jws", show_default=True, help="With --sign: envelope format."),
        click.option("--expiry", metavar="DURATION", callback=_expiry,
                     help="With --sign: the signatures expire after this long (e.g. 30d)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


async def sign_pushed(
    pushed: Sequence[Pushed],
    clients: Mapping[str, RegistryClient],
    identity: SigningIdentity,
    opts: SignOptions,
) -> list[dict[str, Any]]:
    """Sign each pushed manifest; ``clients``: registry host -> its client."""
    from ..notary import sign
    from ..oci import Reference

    signed = []
    for item in pushed:
        ref = Reference.parse(item.reference)
        client = clients[ref.registry]
        artifact = await client.head_manifest(ref.repository, item.digest)
        attached = await sign(client, ref.repository, artifact, identity,
                              envelope=opts.envelope.lower(), expiry=opts.expiry)
        signed.append({"reference": item.reference, "digest": str(item.digest),
                       "signature": str(attached.manifest.digest), "signer": attached.signer})
    return signed
