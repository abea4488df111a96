"""Unit tests of the pure validation rules."""

from __future__ import annotations

import pytest

from iotops_registry.domain import rules


@pytest.mark.parametrize(
    "host",
    [
        "myacr.azurecr.io",
        "mcr.microsoft.com",
        "ghcr.io/azure-samples/explore-iot-operations",
        "127.0.0.1:5000",
        "localhost:5000/team/sub",
        "[::1]:5000",
        "docker.io/myorg",
        "MyAcr.AzureCR.io",
        "registry-1.docker.io",
        "10.0.0.1",
    ],
)
def test_good_hosts(host: str) -> None:
    assert rules.check_host(host) is None


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("https://myacr.azurecr.io", "Drop 'https://' and use 'myacr.azurecr.io'"),
        ("oci://x.io/", "Drop 'oci://'"),
        ("my acr.io", "whitespace"),
        ("me@x.io", "user information"),
        ("x.io?a=b", "query"),
        ("x.io#frag", "query"),
        ("x.io:0", "port"),
        ("x.io:abc", "port"),
        ("x.io/", "path prefix"),
        ("x.io//a", "path segment ''"),
        ("x.io/A", "path segment 'A'"),
        ("-x.io", "not a valid host name"),
        ("x..io", "not a valid host name"),
        ("[::1", "closing"),
        ("[zz::1]", "IPv6"),
        ("999.1.1.1", "IPv4"),
        ("ab", "3 to 63"),
    ],
)
def test_bad_hosts(host: str, fragment: str) -> None:
    problem = rules.check_host(host)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("abc", True),
        ("a-b-c", True),
        ("a" * 63, True),
        ("0ab", True),
        ("ab", False),
        ("a" * 64, False),
        ("Abc", False),
        ("-ab", False),
        ("ab-", False),
        ("a_b", False),
    ],
)
def test_resource_names(name: str, ok: bool) -> None:
    assert (rules.check_resource_name(name) is None) is ok


def test_scope_audience_guid_k8s() -> None:
    assert rules.check_scope("https://containerregistry.azure.net/.default") is None
    assert rules.check_scope("https://containerregistry.azure.net") is not None
    assert rules.check_audience("https://management.azure.com/") is None
    assert rules.check_audience("http://management.azure.com/") is not None
    assert rules.check_audience("/relative") is not None
    assert rules.check_guid("00000000-0000-0000-0000-000000000000", "x") is None
    assert rules.check_guid("0000", "x") is not None
    assert rules.check_k8s_name("my-secret.v1", "s") is None
    assert rules.check_k8s_name("My_Secret", "s") is not None
    assert rules.check_resource_group("My.RG(1)") is None
    assert rules.check_resource_group("rg.") is not None


def test_trailing_newline_is_rejected() -> None:
    assert rules.check_resource_name("abc\n") is not None
    assert rules.check_guid("11111111-2222-3333-4444-555555555555\n", "x") is not None
    assert rules.check_k8s_name("abc\n", "s") is not None
    assert rules.check_host("x.io\n") is not None


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.1:5000", True), ("localhost:80", True), ("[::1]:5000", True),
    ("::1", True), ("myacr.azurecr.io", False), ("10.0.0.1:5000", False), ("[fe80::1]", False),
])
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert rules.is_loopback_host(host) is loopback
