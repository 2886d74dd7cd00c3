"""Users and roles (admin), and `GET /me`: who the caller is and what they may do."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Status

from smarketing.api.auth import ADMIN, READ, actor_of, principal_of, scoped
from smarketing.api.errors import located
from smarketing.api.pagination import paginate
from smarketing.api.schemas import (
    ActiveChange,
    MeOut,
    RoleChange,
    UserIn,
    UserOut,
    UserPage,
    UserQuery,
    responses,
)
from smarketing.core.actions import (
    check_can,
    do_change_user_role,
    do_create_user,
    do_set_user_active,
)
from smarketing.core.choices import Capability
from smarketing.core.errors import NotFound, fail
from smarketing.core.models import User

router = Router(tags=["users"])


def get_user(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


@router.get("/me", response=responses({200: MeOut}), **scoped(READ))
def me(request: HttpRequest):
    """The caller: their user, how they signed in and the scopes they hold."""
    principal = principal_of(request)
    return {
        "user": principal.user,
        "via": principal.via,
        "scopes": sorted(principal.scopes),
        "token": principal.token,
    }


@router.get("/users", response=responses({200: UserPage}), **scoped(ADMIN))
def list_users(request: HttpRequest, filters: Query[UserQuery]):
    """Everyone who can sign in, with their role (admins only)."""
    check_can(actor_of(request), Capability.MANAGE_USERS)
    qs = User.objects.all()
    for word in filters.q.split():
        qs = qs.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
        )
    if filters.role:
        qs = qs.filter(role=filters.role)
    if filters.active is not None:
        qs = qs.filter(is_active=filters.active)
    return paginate(qs.order_by("email", "id"), filters)


@router.post("/users", response=responses({201: UserOut}, 409), **scoped(ADMIN))
def create_user(request: HttpRequest, payload: UserIn):
    """Add a person with a role (admins only). Without a password they cannot sign in yet."""
    languages = ["", *(code for code, _ in settings.LANGUAGES)]
    with located("body"):
        if payload.language not in languages:
            raise fail("The user could not be created.", language=f"must be one of {languages}")
        user = do_create_user(
            email=payload.email,
            password=payload.password,
            role=payload.role,
            first_name=payload.first_name,
            last_name=payload.last_name,
            language=payload.language,
            actor=actor_of(request),
        )
    return Status(201, user)


@router.get("/users/{user_id}", response=responses({200: UserOut}, 404), **scoped(ADMIN))
def get_user_detail(request: HttpRequest, user_id: int):
    check_can(actor_of(request), Capability.MANAGE_USERS)
    return get_user(user_id)


@router.post("/users/{user_id}/role", response=responses({200: UserOut}, 404), **scoped(ADMIN))
def change_role(request: HttpRequest, user_id: int, payload: RoleChange):
    """Give the user another role (admins only); the change is in the audit log."""
    check_can(actor_of(request), Capability.MANAGE_USERS)
    user = get_user(user_id)
    with located("body"):
        return do_change_user_role(user, payload.role, actor=actor_of(request))


@router.post("/users/{user_id}/active", response=responses({200: UserOut}, 404), **scoped(ADMIN))
def set_active(request: HttpRequest, user_id: int, payload: ActiveChange):
    """Deactivate a user (they can no longer sign in and their tokens stop working) or reactivate."""
    actor = actor_of(request)
    check_can(actor, Capability.MANAGE_USERS)
    user = get_user(user_id)
    if not payload.active and actor.user is not None and actor.user.pk == user.pk:
        raise fail("You cannot deactivate yourself.", **{"body.active": "would lock you out"})
    return do_set_user_active(user, payload.active, actor=actor)
