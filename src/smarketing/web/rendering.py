"""How every page answers: sign-in and role checks, full page or htmx partial, domain errors on forms.

Views stay thin: they parse a form, call an action, and hand the outcome to these
helpers, so that permissions, partial rendering and error display work the same on
every page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from smarketing.core.errors import DomainError, NotAllowed, NotFound

# Names an action uses for a field, mapped to the names of the web forms' fields.
FIELD_ALIASES = {
    "owner_id": "owner",
    "company_id": "company",
    "first_campaign_id": "first_campaign",
    "contact_ids": "contacts",
    "at": "occurred_at",
}


def page(capability: str | None = None) -> Callable:
    """Require a signed-in user (and `capability`, when given); domain refusals become 403/404."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                if request.htmx:
                    # htmx would swap the sign-in page into a fragment; send the browser there instead.
                    login = redirect_to_login(request.htmx.current_url or request.get_full_path())
                    return HttpResponseClientRedirect(login.url)
                return redirect_to_login(request.get_full_path())
            if capability and not request.user.can(capability):
                raise PermissionDenied(_("Your role does not allow this page."))
            try:
                return view(request, *args, **kwargs)
            except NotAllowed as exc:
                raise PermissionDenied(exc.message) from exc
            except NotFound as exc:
                raise Http404(exc.message) from exc

        return wrapped

    return decorator


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The full page, or only `partial` (plus the flash messages, out of band) for htmx."""
    if partial and request.htmx and not request.htmx.boosted:
        html = render_to_string(partial, context, request)
        html += render_to_string("web/_messages.html", {"oob": True}, request)
        return HttpResponse(html, status=status)
    return render(request, template, context, status=status)


def done(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful form on its own page: go to `url` (a real redirect, or htmx's)."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def error_status(error: DomainError) -> int:
    """422 for invalid input, 409 for conflicts and illegal moves: htmx swaps both (see base.html)."""
    return error.http_status if error.http_status in (409, 422) else 422


def show_problems(form: forms.Form, error: DomainError) -> None:
    """Put each problem next to its field (or on the form), and the message on the form."""
    for problem in error.problems:
        name = FIELD_ALIASES.get(problem.field, problem.field)
        if name.startswith("properties."):
            name = "prop__" + name.removeprefix("properties.")
        if name in form.fields:
            form.add_error(name, problem.message)
        else:
            form.add_error(None, f"{problem.field}: {problem.message}")
    form.add_error(None, error.message)


class problems_on:  # used like a function, in a `with` statement
    """Run an action for `form`: a domain error it raises is shown on the form, not raised.

        with problems_on(form) as outcome:
            contact = do_create_contact(...)
        if outcome.failed:
            status = outcome.status

    Refusals and missing objects still propagate, so that `page` answers 403 and 404.
    """

    def __init__(self, form: forms.Form) -> None:
        self.form = form
        self.status: int | None = None

    @property
    def failed(self) -> bool:
        return self.status is not None

    def __enter__(self) -> problems_on:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb) -> bool:
        if not isinstance(error, DomainError) or isinstance(error, NotAllowed | NotFound):
            return False
        show_problems(self.form, error)
        self.status = error_status(error)
        return True


def form_page(
    request: HttpRequest,
    form: forms.Form,
    submit: Callable[[], HttpResponse],
    template: str,
    *,
    partial: str,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """A form on its own page: shown on GET; on a valid POST, `submit` acts and answers.

    An invalid form answers 422; a domain error from `submit` is shown on the form and
    answers 422 or 409 (see `problems_on`).
    """
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            with problems_on(form) as outcome:
                return submit()
            status = outcome.status or status  # only a domain error gets here
    return render_page(
        request, template, {"form": form, **(context or {})}, partial=partial, status=status
    )
