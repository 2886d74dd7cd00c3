"""Endpoints pointing at the test receiver, made through the actions."""

from __future__ import annotations

from smarketing.core.actors import SYSTEM
from smarketing.integrations.actions import do_create_endpoint

SIGNING_SECRET = "whsec-0123456789abcdef"
_n = iter(range(1, 10**6))


def make_endpoint(kind: str, url: str, events=("deal.won",), **settings):
    n = next(_n)
    defaults = {
        "slack": {"webhook_url": f"{url}/services/T000/B000/XXXXsecret{n:04d}"},
        "trello": {
            "base_url": url,
            "api_key": "trello-key",
            "token": "trello-token-1234abcd",
            "list_id": "list-42",
        },
        "asana": {
            "base_url": url,
            "token": "asana-pat-0000abcd9876",
            "project_gid": "1200",
            "workspace_gid": "99",
        },
        "webhook": {"url": f"{url}/hooks/smarketing", "signing_secret": SIGNING_SECRET},
    }[kind]
    return do_create_endpoint(
        name=settings.pop("name", f"{kind} {n}"),
        kind=kind,
        settings={**defaults, **settings},
        events=events,
        actor=SYSTEM,
    )
