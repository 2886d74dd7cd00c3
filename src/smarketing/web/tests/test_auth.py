"""Signing in and out, the navigation shell, the language preference."""

import pytest
from django.conf import settings
from django.urls import reverse

from smarketing.core.models import User
from smarketing.web.tests.conftest import HTMX, signed_in

pytestmark = pytest.mark.django_db


def test_pages_need_sign_in(client):
    response = client.get(reverse("web:contacts"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("web:login"))


def test_htmx_request_without_session_redirects_the_browser(client):
    response = client.get(reverse("web:contacts"), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("web:login"))


def test_sign_in_with_email_and_password(client, rep, password):
    response = client.post(reverse("web:login"), {"username": rep.email, "password": password})
    assert response.status_code == 302
    assert response.url == reverse("web:home")
    home = client.get(reverse("web:home"))
    assert home.status_code == 200
    assert rep.get_full_name() in home.content.decode()


def test_wrong_password_shows_an_error(client, rep):
    response = client.post(reverse("web:login"), {"username": rep.email, "password": "nope-nope"})
    assert response.status_code == 200
    assert "alert-error" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_out_needs_post_and_ends_the_session(rep):
    client = signed_in(rep)
    response = client.post(reverse("web:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_navigation_hides_what_the_role_cannot_do(rep, admin_user):
    rep_page = signed_in(rep).get(reverse("web:settings")).content.decode()
    assert reverse("web:users") not in rep_page
    assert reverse("web:tokens") not in rep_page
    assert reverse("admin:index") not in rep_page
    assert reverse("web:import") not in rep_page
    admin_page = signed_in(admin_user).get(reverse("web:settings")).content.decode()
    for name in ("web:users", "web:tokens", "web:import", "web:properties"):
        assert reverse(name) in admin_page
    assert reverse("admin:index") in admin_page


def test_language_switch_is_stored_on_the_user(rep):
    client = signed_in(rep)
    response = client.post(
        reverse("web:set_language"), {"language": "es", "next": reverse("web:contacts")}
    )
    assert response.status_code == 302
    assert response.url == reverse("web:contacts")
    rep.refresh_from_db()
    assert rep.language == "es"
    page = client.get(reverse("web:contacts")).content.decode()
    assert "Contactos" in page and '<html lang="es">' in page


def test_user_preference_beats_the_browser_language(rep):
    rep.language = "es"
    rep.save(update_fields=["language"])
    page = signed_in(rep).get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Inicio" in page


def test_anonymous_visitors_get_the_browser_language_or_a_cookie(client):
    page = client.get(reverse("web:login"), HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content.decode()
    assert "Iniciar sesión" in page
    client.post(reverse("web:set_language"), {"language": "en", "next": reverse("web:login")})
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client.get(reverse("web:login"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Sign in" in page


def test_language_switch_ignores_unknown_languages_and_foreign_redirects(rep):
    client = signed_in(rep)
    response = client.post(
        reverse("web:set_language"), {"language": "xx", "next": "https://evil.example/"}
    )
    assert response.url == reverse("web:home")
    assert User.objects.get(pk=rep.pk).language == ""
