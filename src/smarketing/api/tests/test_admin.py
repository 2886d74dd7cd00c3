"""Users, roles and API tokens over the API (admins only)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from smarketing.api.tests.conftest import Api, error_of, fields_of
from smarketing.core.models import ApiToken, AuditEntry, User
from smarketing.core.testing import PASSWORD

pytestmark = pytest.mark.django_db


def test_admin_creates_a_user_and_changes_their_role(admin_api, admin_user):
    created = admin_api.post(
        "/users",
        {
            "email": "New.Rep@Acme.test",
            "password": PASSWORD,
            "role": "sales_rep",
            "first_name": "Nia",
        },
    )
    assert created.status_code == 201, created.content
    user = created.json()
    assert user["email"] == "new.rep@acme.test" and user["role"] == "sales_rep"
    assert "password" not in user
    assert User.objects.get(pk=user["id"]).check_password(PASSWORD)

    taken = admin_api.post(
        "/users", {"email": "new.rep@acme.test", "password": PASSWORD, "role": "marketing"}
    )
    assert taken.status_code == 409
    short = admin_api.post(
        "/users", {"email": "x@acme.test", "password": "short", "role": "marketing"}
    )
    assert short.status_code == 422 and fields_of(short) == {"body.password"}
    assert error_of(short)["problems"][0]["value"] is None, "a password is never echoed"
    bad_role = admin_api.post("/users", {"email": "y@acme.test", "role": "overlord"})
    assert bad_role.status_code == 422 and fields_of(bad_role) == {"body.role"}
    bad_language = admin_api.post(
        "/users", {"email": "z@acme.test", "role": "marketing", "language": "klingon"}
    )
    assert bad_language.status_code == 422 and fields_of(bad_language) == {"body.language"}

    promoted = admin_api.post(f"/users/{user['id']}/role", {"role": "sales_manager"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "sales_manager"
    audit = AuditEntry.objects.get(action="user.role_changed")
    assert audit.actor == admin_user and "api" in audit.actor_label

    deactivated = admin_api.post(f"/users/{user['id']}/active", {"active": False})
    assert deactivated.status_code == 200 and deactivated.json()["is_active"] is False
    myself = admin_api.post(f"/users/{admin_user.pk}/active", {"active": False})
    assert myself.status_code == 422


def test_user_list_filters(admin_api, rep, marketer):
    def emails(**params):
        response = admin_api.get("/users", params)
        assert response.status_code == 200, response.content
        return [u["email"] for u in response.json()["items"]]

    assert set(emails()) >= {rep.email, marketer.email}
    assert emails(role="sales_rep") == [rep.email]
    assert emails(q=marketer.email.split("@")[0]) == [marketer.email]
    assert admin_api.get(f"/users/{rep.pk}").json()["email"] == rep.email


def test_token_issue_shows_the_secret_once_and_revoke_stops_it(admin_api, rep):
    issued = admin_api.post(
        "/tokens", {"user_id": rep.pk, "name": "Website", "scopes": ["ingest", "read"]}
    )
    assert issued.status_code == 201, issued.content
    body = issued.json()
    secret = body["secret"]
    assert secret.startswith("smk_") and body["token"]["scopes"] == ["ingest", "read"]
    token_id = body["token"]["id"]
    assert secret not in admin_api.get("/tokens").content.decode()
    assert secret not in admin_api.get(f"/tokens/{token_id}").content.decode()
    assert ApiToken.objects.get(pk=token_id).key_hash != secret

    website = Api(secret)
    assert website.get("/contacts").status_code == 200
    revoked = admin_api.post(f"/tokens/{token_id}/revoke")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert revoked.json()["revoked_at"]
    assert website.get("/contacts").status_code == 401


def test_token_rules(admin_api, rep):
    admin_for_rep = admin_api.post("/tokens", {"user_id": rep.pk, "scopes": ["admin"]})
    assert admin_for_rep.status_code == 422
    unknown_scope = admin_api.post("/tokens", {"user_id": rep.pk, "scopes": ["root"]})
    assert unknown_scope.status_code == 422 and fields_of(unknown_scope) == {"body.scopes.0"}
    no_scope = admin_api.post("/tokens", {"user_id": rep.pk, "scopes": []})
    assert no_scope.status_code == 422
    past = (timezone.now() - timedelta(days=1)).isoformat()
    expired = admin_api.post("/tokens", {"user_id": rep.pk, "scopes": ["read"], "expires_at": past})
    assert expired.status_code == 422 and fields_of(expired) == {"body.expires_at"}
    nobody = admin_api.post("/tokens", {"user_id": 999999, "scopes": ["read"]})
    assert nobody.status_code == 422 and fields_of(nobody) == {"body.user_id"}
    assert not ApiToken.objects.filter(user=rep).exists()


def test_token_list_filters(admin_api, admin_user, rep):
    from smarketing.api.tests.conftest import token_for

    token_for(rep, ["read"])
    revoked = admin_api.post("/tokens", {"user_id": rep.pk, "scopes": ["ingest"]}).json()["token"]
    admin_api.post(f"/tokens/{revoked['id']}/revoke")
    mine = admin_api.get("/tokens", {"user": rep.pk}).json()
    assert mine["count"] == 2
    active = admin_api.get("/tokens", {"user": rep.pk, "active": "true"}).json()["items"]
    assert [t["scopes"] for t in active] == [["read"]]
    inactive = admin_api.get("/tokens", {"active": "false"}).json()["items"]
    assert [t["id"] for t in inactive] == [revoked["id"]]
