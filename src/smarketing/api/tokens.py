"""API tokens (admin): list, issue (the secret is shown once) and revoke."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from smarketing.api.auth import ADMIN, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.pagination import paginate
from smarketing.api.schemas import TokenCreated, TokenIn, TokenOut, TokenPage, TokenQuery, responses
from smarketing.core.actions import check_can, do_create_token, do_revoke_token
from smarketing.core.choices import Capability
from smarketing.core.errors import NotFound, fail
from smarketing.core.models import ApiToken, User

router = Router(tags=["tokens"])


def get_token(token_id: int) -> ApiToken:
    token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    if token is None:
        raise NotFound(f"No API token with id {token_id}.")
    return token


@router.get("/tokens", response=responses({200: TokenPage}), **scoped(ADMIN))
def list_tokens(request: HttpRequest, filters: Query[TokenQuery]):
    """Every API token with its owner, scopes and last use; never the secret."""
    check_can(actor_of(request), Capability.MANAGE_TOKENS)
    qs = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
    if filters.user:
        qs = qs.filter(user_id=filters.user)
    if filters.active is True:
        qs = qs.filter(pk__in=ApiToken.objects.active().values("pk"))
    elif filters.active is False:
        qs = qs.exclude(pk__in=ApiToken.objects.active().values("pk"))
    return paginate(qs, filters)


@router.post("/tokens", response=responses({201: TokenCreated}, 404), **scoped(ADMIN))
def create_token(request: HttpRequest, payload: TokenIn):
    """Issue a token for a user. The response holds the secret: store it, it is never shown again."""
    check_can(actor_of(request), Capability.MANAGE_TOKENS)
    with located("body"):
        user = User.objects.filter(pk=payload.user_id).first()
        if user is None:
            raise fail(
                "The token could not be issued.", user_id=f"no user with id {payload.user_id}"
            )
        if payload.expires_at is not None and payload.expires_at <= timezone.now():
            raise fail("The token could not be issued.", expires_at="must be in the future")
        token, secret = do_create_token(
            user=user,
            name=payload.name,
            scopes=payload.scopes,
            expires_at=payload.expires_at,
            actor=actor_of(request),
        )
    return Status(201, {"token": get_token(token.pk), "secret": secret})


@router.get("/tokens/{token_id}", response=responses({200: TokenOut}, 404), **scoped(ADMIN))
def get_token_detail(request: HttpRequest, token_id: int):
    check_can(actor_of(request), Capability.MANAGE_TOKENS)
    return get_token(token_id)


@router.post("/tokens/{token_id}/revoke", response=responses({200: TokenOut}, 404), **scoped(ADMIN))
def revoke_token(request: HttpRequest, token_id: int):
    """Revoke a token at once; requests with it are refused from now on."""
    check_can(actor_of(request), Capability.MANAGE_TOKENS)
    token = get_token(token_id)
    do_revoke_token(token, actor=actor_of(request))
    return get_token(token_id)
