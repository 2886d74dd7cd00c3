"""Settings pages: custom properties, users and roles, API tokens."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smarketing.core.actions import (
    do_change_user_role,
    do_create_token,
    do_create_user,
    do_revoke_token,
    do_set_user_active,
)
from smarketing.core.choices import ROLE_CAPABILITIES, Capability, Role
from smarketing.core.errors import DomainError, NotAllowed, NotFound
from smarketing.core.models import ApiToken, User
from smarketing.crm.actions import do_define_property
from smarketing.crm.models import PropertyDefinition
from smarketing.web.forms import PropertyDefinitionForm, TokenForm, UserCreateForm, UserRoleForm
from smarketing.web.rendering import (
    done,
    error_status,
    form_page,
    page,
    render_page,
    show_problems,
)
from smarketing.web.views.contacts import web_actor

# --- custom properties ---------------------------------------------------------------------


@page()
def property_list(request: HttpRequest) -> HttpResponse:
    definitions = PropertyDefinition.objects.order_by("object_type", "label")
    return render_page(request, "web/settings/properties.html", {"definitions": definitions})


@page(Capability.MANAGE_PROPERTIES)
def property_create(request: HttpRequest) -> HttpResponse:
    form = PropertyDefinitionForm(request.POST or None)

    def define() -> HttpResponse:
        data = form.cleaned_data
        defn = do_define_property(
            object_type=data["object_type"],
            name=data["name"].strip(),
            label=data["label"].strip(),
            type=data["type"],
            choices=form.option_list(),
            description=data["description"].strip(),
            actor=web_actor(request),
        )
        messages.success(request, _("Property %(label)s defined.") % {"label": defn.label})
        return done(request, reverse("web:properties"))

    return form_page(
        request,
        form,
        define,
        "web/settings/property_form.html",
        partial="web/settings/_property_form.html",
    )


# --- users ---------------------------------------------------------------------------------


def users_context(**extra) -> dict:
    users = list(User.objects.order_by("-is_active", "first_name", "last_name", "email"))
    for user in users:
        user.role_form = extra.pop(f"role{user.pk}", None) or UserRoleForm(
            prefix=f"role{user.pk}", initial={"role": user.role}
        )
    role_capabilities = [
        (role.label, [c.label for c in Capability if c in ROLE_CAPABILITIES.get(role, set())])
        for role in Role
    ]
    return {"users": users, "role_capabilities": role_capabilities, **extra}


@page(Capability.MANAGE_USERS)
def user_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "web/settings/users.html", users_context())


@page(Capability.MANAGE_USERS)
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)

    def create() -> HttpResponse:
        data = form.cleaned_data
        user = do_create_user(
            email=data["email"],
            password=data["password"],
            role=data["role"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            language=data["language"],
            actor=web_actor(request),
        )
        messages.success(request, _("User %(email)s created.") % {"email": user.email})
        return done(request, reverse("web:users"))

    return form_page(
        request, form, create, "web/settings/user_form.html", partial="web/settings/_user_form.html"
    )


@require_POST
@page(Capability.MANAGE_USERS)
def user_role(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    prefix = f"role{user.pk}"
    form = UserRoleForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            do_change_user_role(user, form.cleaned_data["role"], actor=web_actor(request))
        except (NotAllowed, NotFound):
            raise
        except DomainError as exc:
            show_problems(form, exc)
            return render_page(
                request,
                "web/settings/users.html",
                users_context(**{prefix: form}),
                status=error_status(exc),
            )
        messages.success(
            request,
            _("%(email)s is now %(role)s.")
            % {"email": user.email, "role": user.get_role_display()},
        )
        return redirect("web:users")
    return render_page(
        request, "web/settings/users.html", users_context(**{prefix: form}), status=422
    )


@require_POST
@page(Capability.MANAGE_USERS)
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    if user == request.user and not active:
        # Nobody would be left to undo it if the last admin locked themselves out.
        messages.error(request, _("You cannot deactivate yourself."))
        return redirect("web:users")
    try:
        do_set_user_active(user, active, actor=web_actor(request))
    except (NotAllowed, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if active:
            messages.success(request, _("%(email)s can sign in again.") % {"email": user.email})
        else:
            messages.success(request, _("%(email)s can no longer sign in.") % {"email": user.email})
    return redirect("web:users")


# --- API tokens ----------------------------------------------------------------------------


def tokens_context(**extra) -> dict:
    tokens = ApiToken.objects.select_related("user", "created_by").order_by("-created_at")
    return {"tokens": tokens, "now": timezone.now(), **extra}


@page(Capability.MANAGE_TOKENS)
def token_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "web/settings/tokens.html", tokens_context())


@page(Capability.MANAGE_TOKENS)
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)

    def create() -> HttpResponse:
        data = form.cleaned_data
        expires = data["expires_on"]
        expires_at = timezone.make_aware(datetime.combine(expires, time.min)) if expires else None
        token, raw = do_create_token(
            user=data["user"],
            name=data["name"],
            scopes=data["scopes"],
            expires_at=expires_at,
            actor=web_actor(request),
        )
        # The secret exists only in this response: it is stored hashed and never shown again.
        response = render_page(
            request,
            "web/settings/token_created.html",
            {"token": token, "raw": raw},
            partial="web/settings/_token_created.html",
        )
        response["Cache-Control"] = "no-store"
        return response

    return form_page(
        request,
        form,
        create,
        "web/settings/token_form.html",
        partial="web/settings/_token_form.html",
    )


@require_POST
@page(Capability.MANAGE_TOKENS)
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    do_revoke_token(token, actor=web_actor(request))
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("web:tokens")
