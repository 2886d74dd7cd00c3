"""Fixtures for API tests: clients that speak JSON with a bearer token of chosen scopes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from smarketing.core.actions import do_create_token
from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.testing import make_user

BASE = "/api/v1"


class Api:
    """A JSON client for /api/v1 with an optional bearer token."""

    def __init__(self, token: str | None = None, client: Client | None = None):
        self.client = client or Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _url(self, path: str) -> str:
        return BASE + path

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any):
        return self.client.get(self._url(path), params or {}, headers=self.headers, **kw)

    def post(self, path: str, body: Any = None, *, raw: str | bytes | None = None, **kw: Any):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            self._url(path), data, content_type="application/json", headers=self.headers, **kw
        )

    def patch(self, path: str, body: Any, **kw: Any):
        return self.client.patch(
            self._url(path),
            json.dumps(body),
            content_type="application/json",
            headers=self.headers,
            **kw,
        )

    def delete(self, path: str, **kw: Any):
        return self.client.delete(self._url(path), headers=self.headers, **kw)


def token_for(user, scopes: list[str], **extra: Any) -> str:
    _, raw = do_create_token(user=user, name="test", scopes=scopes, actor=SYSTEM, **extra)
    return raw


@pytest.fixture
def api_as(db):
    """`api_as(user, ["read"])` → an Api client with a fresh token for that user."""

    def build(user, scopes: list[str]) -> Api:
        return Api(token_for(user, scopes))

    return build


@pytest.fixture
def admin_api(admin_user) -> Api:
    return Api(token_for(admin_user, ["admin"]))


@pytest.fixture
def writer(db):
    return make_user(Role.MARKETING_MANAGER)


@pytest.fixture
def writer_api(writer) -> Api:
    """A marketing manager with read and write scopes: the everyday integration."""
    return Api(token_for(writer, ["read", "write"]))


@pytest.fixture
def rep_api(rep) -> Api:
    return Api(token_for(rep, ["read", "write"]))


@pytest.fixture
def ingest_api(marketer) -> Api:
    return Api(token_for(marketer, ["ingest"]))


def error_of(response) -> dict[str, Any]:
    """The error object of a response, after checking it has the one error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "problems"}, error
    assert isinstance(error["message"], str) and error["message"]
    for problem in error["problems"]:
        assert set(problem) == {"field", "message", "value"}, problem
    return error


def fields_of(response) -> set[str]:
    return {p["field"] for p in error_of(response)["problems"]}
