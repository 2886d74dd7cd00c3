"""Who may call what: tokens and their scopes, sessions and roles, CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from smarketing.api.router import api
from smarketing.api.tests.conftest import Api, error_of, token_for
from smarketing.core.actions import do_change_user_role, do_revoke_token, do_set_user_active
from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.models import ApiToken, User
from smarketing.core.testing import PASSWORD, make_contact, make_user
from smarketing.crm.models import Contact, PropertyDefinition

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401_with_the_error_body():
    response = Api().get("/contacts")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer smk_0000_wrong", "Bearer "])
def test_a_wrong_token_is_401(header, rep):
    response = Client().get("/api/v1/contacts", headers={"Authorization": header})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_another_auth_scheme_is_not_a_token(rep):
    response = Client().get("/api/v1/contacts", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401


def test_a_revoked_token_is_refused(rep):
    raw = token_for(rep, ["read"])
    assert Api(raw).get("/contacts").status_code == 200
    do_revoke_token(ApiToken.objects.get(user=rep), actor=SYSTEM)
    response = Api(raw).get("/contacts")
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


def test_an_expired_token_is_refused(rep):
    raw = token_for(rep, ["read"], expires_at=timezone.now() + timedelta(hours=1))
    assert Api(raw).get("/contacts").status_code == 200
    ApiToken.objects.filter(user=rep).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Api(raw).get("/contacts").status_code == 401


def test_the_token_of_a_deactivated_user_is_refused(rep):
    raw = token_for(rep, ["read"])
    do_set_user_active(rep, False, actor=SYSTEM)
    assert Api(raw).get("/contacts").status_code == 401


def test_an_ingest_only_token_cannot_read_contacts(ingest_api):
    make_contact(email="someone@acme.test")
    response = ingest_api.get("/contacts")
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "insufficient_scope"
    assert "'read'" in error["message"]
    assert ingest_api.get("/touches").status_code == 403
    assert ingest_api.get("/me").status_code == 403


def test_an_ingest_only_token_may_post_touches_and_nothing_else(ingest_api):
    touch = {"email": "new@acme.test", "type": "page_view"}
    assert ingest_api.post("/touches", touch).status_code == 201
    assert ingest_api.post("/touches/batch", {"items": [touch]}).status_code == 200
    assert ingest_api.post("/contacts", {"email": "x@acme.test"}).status_code == 403
    assert Contact.objects.filter(email="x@acme.test").count() == 0


def test_a_read_token_cannot_write(api_as, rep):
    reader = api_as(rep, ["read"])
    assert reader.get("/contacts").status_code == 200
    response = reader.post("/contacts", {"email": "x@acme.test"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "insufficient_scope"
    assert not Contact.objects.exists()


def test_a_write_token_cannot_touch_admin_endpoints(writer_api):
    for response in (
        writer_api.get("/users"),
        writer_api.get("/tokens"),
        writer_api.post("/users", {"email": "n@acme.test", "role": "admin", "password": PASSWORD}),
        writer_api.post("/properties", {"object_type": "contact", "name": "plan"}),
    ):
        assert response.status_code == 403, response.content
        assert error_of(response)["code"] == "insufficient_scope"
    assert not User.objects.filter(email="n@acme.test").exists()
    assert not PropertyDefinition.objects.exists()


def test_a_sales_rep_token_cannot_manage_users_or_tokens(rep_api, rep):
    assert rep_api.get("/users").status_code == 403
    assert rep_api.get("/tokens").status_code == 403
    response = rep_api.post("/tokens", {"user_id": rep.pk, "scopes": ["admin"]})
    assert response.status_code == 403
    assert rep_api.post(f"/users/{rep.pk}/role", {"role": "admin"}).status_code == 403
    rep.refresh_from_db()
    assert rep.role == Role.SALES_REP
    assert ApiToken.objects.filter(user=rep).count() == 1


def test_a_sales_rep_session_cannot_manage_users_or_tokens(rep):
    client = Client()
    client.force_login(rep)
    session = Api(client=client)
    assert session.get("/contacts").status_code == 200
    for response in (
        session.get("/users"),
        session.get("/tokens"),
        session.post("/users", {"email": "n@acme.test", "role": "admin", "password": PASSWORD}),
        session.post("/tokens", {"user_id": rep.pk, "scopes": ["read"]}),
        session.post(f"/users/{rep.pk}/role", {"role": "admin"}),
    ):
        assert response.status_code == 403, response.content
    rep.refresh_from_db()
    assert rep.role == Role.SALES_REP
    assert not User.objects.filter(email="n@acme.test").exists()
    assert not ApiToken.objects.exists()


def test_the_role_is_enforced_even_with_an_admin_scoped_token(admin_user):
    """An admin's token keeps its scopes after a demotion; the role check still stops them."""
    raw = token_for(admin_user, ["admin"])
    do_change_user_role(admin_user, Role.SALES_REP, actor=SYSTEM)
    demoted = Api(raw)
    assert demoted.get("/users").status_code == 403
    response = demoted.post(
        "/users", {"email": "n@acme.test", "role": "admin", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert not User.objects.filter(email="n@acme.test").exists()


def test_a_manager_session_may_define_properties_but_not_manage_users(marketing_manager):
    client = Client()
    client.force_login(marketing_manager)
    session = Api(client=client)
    response = session.post("/properties", {"object_type": "contact", "name": "plan"})
    assert response.status_code == 201, response.content
    assert session.get("/users").status_code == 403
    me = session.get("/me").json()
    assert me["via"] == "session" and "admin" in me["scopes"]


def test_a_session_write_needs_the_csrf_token(rep, password):
    client = Client(enforce_csrf_checks=True)
    assert client.login(email=rep.email, password=password)
    session = Api(client=client)
    refused = session.post("/contacts", {"email": "csrf@acme.test"})
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "csrf_failed"
    assert not Contact.objects.exists()

    client.get("/api/v1/docs")  # sets the CSRF cookie, as any page of the app does
    session.headers["X-CSRFToken"] = client.cookies["csrftoken"].value
    accepted = session.post("/contacts", {"email": "csrf@acme.test"})
    assert accepted.status_code == 201, accepted.content
    assert Contact.objects.get().email == "csrf@acme.test"


def test_an_anonymous_write_is_401_not_a_csrf_failure():
    client = Client(enforce_csrf_checks=True)
    response = Api(client=client).post("/contacts", {"email": "x@acme.test"})
    assert response.status_code == 401


def test_a_bad_token_is_refused_even_with_a_session(rep):
    """A credential that was sent and is wrong is an error, not a reason to fall back."""
    client = Client()
    client.force_login(rep)
    response = client.get("/api/v1/contacts", headers={"Authorization": "Bearer smk_x_wrong"})
    assert response.status_code == 401


def test_me_describes_the_token(api_as, marketer):
    response = api_as(marketer, ["read", "ingest"]).get("/me")
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == marketer.email
    assert body["via"] == "token"
    assert body["scopes"] == ["ingest", "read"]
    assert body["token"]["prefix"] and body["token"]["active"] is True
    assert "secret" not in body["token"] and "key_hash" not in body["token"]


# POSTs that compute an answer from the body and store nothing (the body is too large for a
# query string), so reading is all they need.
COMPUTATIONS = {("post", "/api/v1/attribution/paths")}


def test_every_operation_documents_its_scope_and_writes_never_need_only_read():
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    operations = [
        (method, path, op) for path, item in schema["paths"].items() for method, op in item.items()
    ]
    assert len(operations) > 30
    for method, path, op in operations:
        scope = op.get("x-required-scope")
        assert scope in {"ingest", "read", "write", "admin"}, (method, path)
        assert op.get("security"), (method, path)
        if method != "get" and (method, path) not in COMPUTATIONS:
            assert scope != "read", (method, path)
        if path.startswith(("/api/v1/users", "/api/v1/tokens")):
            assert scope == "admin", (method, path)
    ingest_ops = {(m, p) for m, p, op in operations if op["x-required-scope"] == "ingest"}
    assert ingest_ops == {("post", "/api/v1/touches"), ("post", "/api/v1/touches/batch")}


def test_a_token_is_stored_hashed(admin_user):
    raw = token_for(make_user(Role.MARKETING), ["read"])
    stored = ApiToken.objects.order_by("-id").first()
    assert raw not in (stored.key_hash, stored.prefix)
    assert raw.split("_")[1] == stored.prefix
