"""Signing in and out, and the language a person reads the app in."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from smarketing.core.actions import do_set_user_language
from smarketing.web.forms import LanguageForm


class SignInView(auth_views.LoginView):
    template_name = "web/sign_in.html"
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    pass


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Store the language as the user's preference (or in a cookie before signing in)."""
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("web:home")
    response = redirect(next_url)
    form = LanguageForm(request.POST)
    if form.is_valid():
        language = form.cleaned_data["language"]
        if request.user.is_authenticated:
            do_set_user_language(request.user, language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response
