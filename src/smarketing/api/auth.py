"""Who is calling the API, and with which scopes.

Two credentials are accepted:

* `Authorization: Bearer smk_…`, an API token (stored hashed) with the scopes it was
  issued with (`ingest`, `read`, `write`, `admin`; `admin` implies the others);
* the browser session, with a CSRF token on unsafe methods; a signed-in person holds
  the scopes their role allows (`session_scopes`).

The scope is what the credential may do. The person's role is checked again by every
action (`Actor(user=..., rule="api")`), so a token never lets anyone do more than
their role allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from smarketing.api.errors import InsufficientScope
from smarketing.core.actions import authenticate_token
from smarketing.core.actors import Actor
from smarketing.core.choices import Capability, TokenScope
from smarketing.core.models import ApiToken, User

INGEST = TokenScope.INGEST.value
READ = TokenScope.READ.value
WRITE = TokenScope.WRITE.value
ADMIN = TokenScope.ADMIN.value

# Role capabilities that make a signed-in person's session carry the admin scope.
ADMIN_CAPABILITIES = (
    Capability.MANAGE_USERS,
    Capability.MANAGE_TOKENS,
    Capability.MANAGE_PROPERTIES,
)


def grants(scopes: frozenset[str] | set[str] | list[str], scope: str) -> bool:
    """Whether `scopes` allow `scope`; `admin` allows everything (as `ApiToken.has_scope`)."""
    return scope in scopes or ADMIN in scopes


def session_scopes(user: User) -> frozenset[str]:
    """The scopes a signed-in person's browser session holds, from their role."""
    scopes = {INGEST, READ}
    if user.can(Capability.EDIT_RECORDS) or user.can(Capability.MANAGE_CAMPAIGNS):
        scopes.add(WRITE)
    if any(user.can(c) for c in ADMIN_CAPABILITIES):
        scopes.add(ADMIN)
    return frozenset(scopes)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user: User
    scopes: frozenset[str]
    via: str  # "token" or "session"
    token: ApiToken | None = None

    @property
    def actor(self) -> Actor:
        return Actor(user=self.user, rule="api")

    def check_scope(self, scope: str) -> None:
        if grants(self.scopes, scope):
            return
        if self.via == "token":
            message = f"This API token lacks the '{scope}' scope."
        else:
            message = f"Your role does not grant the '{scope}' scope."
        raise InsufficientScope(message)


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`: an API token with scopes."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def __call__(self, request: HttpRequest) -> Principal | None:
        header = request.headers.get(self.header)
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        found = authenticate_token(token)
        if found is None:
            # A credential was sent and is wrong: say so rather than fall back to the session.
            raise AuthenticationError(message="The API token is invalid, expired or revoked.")
        principal = Principal(
            user=found.user, scopes=frozenset(found.scopes), via="token", token=found
        )
        principal.check_scope(self.scope)
        return principal


class SessionCookie(APIKeyCookie):
    """The signed-in browser session; unsafe methods need the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Principal | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        # Only a signed-in browser is exposed to CSRF; check it once we know it is one.
        if check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed")
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        user = request.user
        principal = Principal(user=user, scopes=session_scopes(user), via="session")  # type: ignore[arg-type]
        principal.check_scope(self.scope)
        return principal


def require(scope: str) -> list[BearerToken | SessionCookie]:
    """The auth list for an operation needing `scope`: a token first, else the session."""
    return [BearerToken(scope), SessionCookie(scope)]


def scoped(scope: str) -> dict:
    """Keyword arguments for a route: its auth and the scope, documented in OpenAPI."""
    return {"auth": require(scope), "openapi_extra": {"x-required-scope": scope}}


def principal_of(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined,return-value]


def actor_of(request: HttpRequest) -> Actor:
    return principal_of(request).actor
