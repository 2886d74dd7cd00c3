"""Settings: custom properties, users and roles, API tokens, and who may see them."""

import pytest
from django.urls import reverse

from smarketing.core.models import ApiToken, AuditEntry, User, hash_token
from smarketing.crm.models import PropertyDefinition
from smarketing.web.tests.conftest import HTMX, signed_in

pytestmark = pytest.mark.django_db


def test_properties_are_listed_and_defined_by_managers(rep_client, sales_manager):
    assert rep_client.get(reverse("web:properties")).status_code == 200
    assert rep_client.get(reverse("web:property_create")).status_code == 403
    client = signed_in(sales_manager)
    bad = client.post(
        reverse("web:property_create"),
        {"object_type": "contact", "name": "Bad Name", "type": "choice", "choices": ""},
    )
    assert bad.status_code == 422
    assert "must start with a letter" in bad.content.decode()
    assert "needs at least one option" in bad.content.decode()
    ok = client.post(
        reverse("web:property_create"),
        {
            "object_type": "contact",
            "name": "plan",
            "label": "Plan",
            "type": "choice",
            "choices": "Basic\nPro\n",
        },
    )
    assert ok.status_code == 302
    assert PropertyDefinition.objects.get(name="plan").choices == ["Basic", "Pro"]
    assert "Basic, Pro" in client.get(reverse("web:properties")).content.decode()
    clash = client.post(
        reverse("web:property_create"), {"object_type": "contact", "name": "plan", "type": "text"}
    )
    assert clash.status_code == 409


@pytest.mark.parametrize("name", ["web:users", "web:user_create", "web:tokens", "web:token_create"])
def test_sales_rep_is_refused_users_and_tokens(rep_client, name):
    response = rep_client.get(reverse(name))
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


def test_refusal_for_htmx_is_a_plain_403(rep_client):
    assert rep_client.get(reverse("web:users"), **HTMX).status_code == 403


def test_admin_creates_users_and_changes_roles(admin_user):
    client = signed_in(admin_user)
    assert client.get(reverse("web:users")).status_code == 200
    bad = client.post(
        reverse("web:user_create"),
        {"email": "not-an-email", "role": "sales_rep", "password": "short"},
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "is not a valid email address" in html and "at least 8 characters" in html
    ok = client.post(
        reverse("web:user_create"),
        {
            "email": "Nuevo@Example.com",
            "first_name": "Nuevo",
            "role": "sales_rep",
            "password": "long-enough-1",
            "language": "es",
        },
    )
    assert ok.status_code == 302
    person = User.objects.get(email="nuevo@example.com")
    assert (person.role, person.language) == ("sales_rep", "es")
    assert person.check_password("long-enough-1")
    duplicate = client.post(
        reverse("web:user_create"),
        {"email": "nuevo@example.com", "role": "marketing", "password": "long-enough-1"},
    )
    assert duplicate.status_code == 409

    role = client.post(
        reverse("web:user_role", args=[person.pk]), {f"role{person.pk}-role": "sales_manager"}
    )
    assert role.status_code == 302
    assert User.objects.get(pk=person.pk).role == "sales_manager"
    unknown = client.post(
        reverse("web:user_role", args=[person.pk]), {f"role{person.pk}-role": "boss"}
    )
    assert unknown.status_code == 422

    off = client.post(reverse("web:user_active", args=[person.pk]), {"active": "0"})
    assert off.status_code == 302 and not User.objects.get(pk=person.pk).is_active
    client.post(reverse("web:user_active", args=[person.pk]), {"active": "1"})
    assert User.objects.get(pk=person.pk).is_active
    assert AuditEntry.objects.filter(action="user.role_changed", object_id=str(person.pk)).exists()


def test_rep_cannot_post_to_user_actions(rep_client, marketer):
    response = rep_client.post(
        reverse("web:user_role", args=[marketer.pk]), {f"role{marketer.pk}-role": "admin"}
    )
    assert response.status_code == 403
    assert User.objects.get(pk=marketer.pk).role == "marketing"
    assert (
        rep_client.post(reverse("web:user_active", args=[marketer.pk]), {"active": "0"}).status_code
        == 403
    )


def test_token_is_shown_once_then_only_its_prefix(admin_user, marketer):
    client = signed_in(admin_user)
    bad = client.post(
        reverse("web:token_create"), {"name": "Site", "user": marketer.pk, "scopes": []}
    )
    assert bad.status_code == 422 and "give at least one scope" in bad.content.decode()
    response = client.post(
        reverse("web:token_create"),
        {"name": "Website", "user": marketer.pk, "scopes": ["ingest", "read"]},
        **HTMX,
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    raw = html.split('id="raw-token" type="text" readonly value="')[1].split('"')[0]
    token = ApiToken.objects.get(name="Website")
    assert token.key_hash == hash_token(raw) and token.scopes == ["ingest", "read"]
    listing = client.get(reverse("web:tokens")).content.decode()
    assert token.prefix in listing and raw not in listing

    revoke = client.post(reverse("web:token_revoke", args=[token.pk]))
    assert revoke.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked" in client.get(reverse("web:tokens")).content.decode()


def test_rep_cannot_revoke_tokens(rep_client, admin_user):
    from smarketing.core.actions import do_create_token

    token, _raw = do_create_token(user=admin_user, name="CI", scopes=["read"], actor=admin_user)
    assert rep_client.post(reverse("web:token_revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_admin_cannot_deactivate_themselves(admin_user):
    client = signed_in(admin_user)
    response = client.post(
        reverse("web:user_active", args=[admin_user.pk]), {"active": "0"}, follow=True
    )
    assert "You cannot deactivate yourself." in response.content.decode()
    assert User.objects.get(pk=admin_user.pk).is_active
