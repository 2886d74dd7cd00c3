"""One error body for every failure of the REST API.

Every error, whatever raised it, is rendered as::

    {"error": {"code": "...", "message": "...", "problems": [{"field": "...", "message": "...", "value": ...}]}}

Domain errors keep their own status and code; request validation becomes 422 with
field paths (`body.email`, `query.limit`); malformed JSON is 400; unknown ids and URLs
404; authentication 401 and missing scopes or roles 403. Anything unexpected is logged
and answered with a plain 500 that never carries a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.responses import NinjaJSONEncoder

from smarketing.core.errors import DomainError, FieldProblem

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("smarketing.api")

# Input that is never echoed back in an error body.
SECRET_FIELDS = {"password", "secret", "token"}


class BatchTooLarge(DomainError):
    code = "batch_too_large"
    http_status = 413


class InsufficientScope(DomainError):
    """The credential is valid but was not granted the scope this operation needs."""

    code = "insufficient_scope"
    http_status = 403


def error_body(code: str, message: str, problems: Sequence[FieldProblem] = ()) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "problems": [
                {"field": p.field, "message": p.message, "value": _safe_value(p.field, p.value)}
                for p in problems
            ],
        }
    }


def error_response(
    status: int, code: str, message: str, problems: Sequence[FieldProblem] = ()
) -> HttpResponse:
    body = json.dumps(error_body(code, message, problems), cls=NinjaJSONEncoder)
    return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")


def _safe_value(field: str, value: Any) -> Any:
    """Echo scalar input so a client can see what was wrong; never secrets or whole documents."""
    if field.rsplit(".", 1)[-1] in SECRET_FIELDS:
        return None
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "…"
    if isinstance(value, list | tuple):
        scalars = all(v is None or isinstance(v, str | int | float | bool) for v in value)
        return list(value) if scalars and len(value) <= 20 else None
    if isinstance(value, dict):
        return None
    return str(value)[:200]


@contextmanager
def located(prefix: str) -> Iterator[None]:
    """Report the field problems of domain errors raised inside at `prefix.<field>`.

    Actions name fields as they know them (`email`); the API names them by where they
    were sent (`body.email`, `query.stage`), like request validation does.
    """
    try:
        yield
    except DomainError as exc:
        exc.problems = [
            replace(p, field=f"{prefix}.{p.field}" if p.field else prefix) for p in exc.problems
        ]
        raise


def _problems_from_validation(errors: list[dict[str, Any]]) -> list[FieldProblem]:
    problems = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        problems.append(
            FieldProblem(".".join(loc), err.get("msg", "is not valid"), err.get("input"))
        )
    return problems


def _malformed_body_message(exc: HttpError) -> tuple[str, str]:
    cause = exc.__cause__
    if isinstance(cause, json.JSONDecodeError):
        return (
            "malformed_json",
            f"The request body is not valid JSON ({cause.msg} at line {cause.lineno}, "
            f"column {cause.colno}).",
        )
    if isinstance(cause, UnicodeDecodeError):
        return "malformed_json", "The request body is not valid UTF-8 JSON."
    return "bad_request", exc.message


def install_error_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default handlers so every failure renders the one error body."""

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return error_response(exc.http_status, exc.code, exc.message, exc.problems)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        return error_response(
            422,
            "validation_failed",
            "The request is not valid.",
            _problems_from_validation(exc.errors),
        )

    @api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = exc.message
        if message == "Unauthorized":
            message = "Authentication required: send 'Authorization: Bearer <token>' or sign in."
        response = error_response(401, "unauthenticated", message)
        response["WWW-Authenticate"] = 'Bearer realm="smarketing"'
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, DomainError):
            return domain_error(request, exc.__cause__)
        if exc.status_code == 400:
            code, message = _malformed_body_message(exc)
            return error_response(400, code, message)
        if exc.status_code == 403 and "CSRF" in exc.message:
            return error_response(
                403, "csrf_failed", "The CSRF check failed: send the X-CSRFToken header."
            )
        codes = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 429: "throttled"}
        return error_response(exc.status_code, codes.get(exc.status_code, "error"), exc.message)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(404, "not_found", "Not found.")

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        from django.conf import settings

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return error_response(
            413,
            "payload_too_large",
            f"The request body is larger than the {limit} bytes allowed.",
        )

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        return error_response(
            500,
            "server_error",
            "Something went wrong on our side; the error was logged. Nothing was half-written.",
        )


def json_errors_for_plain_views(view: Any) -> Any:
    """Wrap a URL view outside ninja's operations (405s, the API root) to answer in the error body."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return not_found_response(request)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            converted = error_response(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; use {allowed}.",
            )
            converted["Allow"] = allowed
            return converted
        return response

    wrapper.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    return wrapper


def not_found_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return error_response(404, "not_found", f"There is no API endpoint at {request.path}.")
