"""Webhook targets: loopback, private, link-local and metadata addresses are refused."""

from __future__ import annotations

import pytest

from taskflow_notify.adapters.webhooks import HttpWebhookSender, refuse_reason
from taskflow_notify.ports import WebhookRefusedError


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.9.9.9:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "ftp://8.8.8.8/hook",
        "http://user:pw@8.8.8.8/hook",
    ],
)
def test_internal_targets_are_refused(url: str) -> None:
    with pytest.raises(WebhookRefusedError):
        HttpWebhookSender(allow_private=False).check_url(url)


def test_allowing_private_networks_still_refuses_metadata_and_link_local() -> None:
    assert refuse_reason("127.0.0.1", allow_private=True) is None
    assert refuse_reason("10.0.0.1", allow_private=True) is None
    assert refuse_reason("169.254.169.254", allow_private=True) == "a cloud metadata address"
    assert refuse_reason("169.254.10.10", allow_private=True) == "a link-local address"


def test_public_addresses_are_allowed() -> None:
    assert refuse_reason("8.8.8.8", allow_private=False) is None
    assert refuse_reason("2606:4700::1111", allow_private=False) is None


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo (client 127.0.0.1)
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo (client 8.8.8.8)
    ],
)
def test_ipv4_inside_reached_through_ipv6_translation_is_refused(address: str) -> None:
    assert refuse_reason(address, allow_private=False) is not None


def test_translated_metadata_and_tunnels_stay_refused_when_private_networks_are_allowed() -> None:
    assert refuse_reason("64:ff9b::a9fe:a9fe", allow_private=True) == "a cloud metadata address"
    assert refuse_reason("2002:a9fe:a9fe::1", allow_private=True) == "a cloud metadata address"
    assert refuse_reason("2001:0:4136:e378:8000:63bf:80ff:fffe", allow_private=True) is not None


def test_translation_to_a_public_ipv4_address_is_allowed() -> None:
    assert refuse_reason("64:ff9b::808:808", allow_private=False) is None  # NAT64 of 8.8.8.8
    assert refuse_reason("2002:808:808::1", allow_private=False) is None  # 6to4 of 8.8.8.8
