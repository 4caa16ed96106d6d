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
