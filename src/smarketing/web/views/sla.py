"""The SLA board: who is breaching now, what is due soon, waivers, remedies and the sweep."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smarketing.analytics.periods import Period
from smarketing.core.choices import Capability
from smarketing.core.errors import DomainError, IllegalTransition, ValidationFailed
from smarketing.sla.actions import do_record_remedy, do_waive, sweep
from smarketing.sla.choices import Commitment, State
from smarketing.sla.compliance import run_compliance
from smarketing.sla.models import SlaClock, SlaEvent
from smarketing.web.rendering import error_status, page, render_page
from smarketing.web.views.handoff import clock_lines

BOARD_LIMIT = 200


def board_context() -> dict[str, Any]:
    now = timezone.now()
    base = SlaClock.objects.select_related("contact", "rep", "team").order_by(
        "rep__email", "first_touch_due_at", "id"
    )
    breaching = list(base.breaching()[:BOARD_LIMIT])
    due_soon = list(
        base.open()
        .exclude(pk__in=[c.pk for c in breaching])
        .filter(
            Q(first_touch_state=State.DUE_SOON)
            | Q(attempts_state=State.DUE_SOON)
            | Q(decision_state=State.DUE_SOON)
        )[:BOARD_LIMIT]
    )
    groups = [
        {"rep": rep, "clocks": [{"clock": c, "lines": clock_lines(c, now)} for c in clocks]}
        for rep, clocks in groupby(breaching, key=lambda c: c.rep)
    ]
    last = SlaEvent.objects.filter(rule="sla sweep").order_by("-id").first()
    context = {
        "groups": groups,
        "due_soon": [{"clock": c, "lines": clock_lines(c, now)} for c in due_soon],
        "open_count": SlaClock.objects.open().count(),
        "last_sweep_event": last,
        "commitments": Commitment.choices,
        "escalated_open": SlaClock.objects.open().filter(escalated_at__isnull=False).count(),
    }
    period = Period.containing(now, "month")
    context["compliance"] = run_compliance(period.start_at, period.end_at)
    context["compliance_period"] = period
    return context


@page(Capability.WAIVE_SLA)
def sla_board(request: HttpRequest) -> HttpResponse:
    """Managers: open clocks with a breach (by rep), due soon, and what to do about them."""
    return render_page(
        request, "web/sla/board.html", board_context(), partial="web/sla/_board_body.html"
    )


def _board_answer(request: HttpRequest, status: int = 200) -> HttpResponse:
    if request.htmx:
        return render_page(
            request,
            "web/sla/board.html",
            board_context(),
            partial="web/sla/_board_body.html",
            status=status,
        )
    return redirect(reverse("web:sla_board"))


def _fail(request: HttpRequest, error: DomainError) -> HttpResponse:
    details = "; ".join(f"{p.field}: {p.message}" for p in error.problems)
    messages.error(request, f"{error.message} {details}".strip())
    return _board_answer(request, error_status(error))


@require_POST
@page(Capability.WAIVE_SLA)
def sla_waive(request: HttpRequest, clock_id: int) -> HttpResponse:
    clock = get_object_or_404(SlaClock, pk=clock_id)
    commitment = request.POST.get("commitment", "")
    try:
        do_waive(clock, commitment, reason=request.POST.get("reason", ""), actor=request.user)
    except (ValidationFailed, IllegalTransition) as error:
        return _fail(request, error)
    messages.success(
        request,
        _("%(commitment)s waived for %(contact)s.")
        % {"commitment": Commitment(commitment).label, "contact": clock.contact},
    )
    return _board_answer(request)


@require_POST
@page(Capability.WAIVE_SLA)
def sla_remedy(request: HttpRequest, clock_id: int) -> HttpResponse:
    clock = get_object_or_404(SlaClock, pk=clock_id)
    try:
        do_record_remedy(clock, note=request.POST.get("note", ""), actor=request.user)
    except ValidationFailed as error:
        return _fail(request, error)
    messages.success(request, _("Remedy recorded for %(contact)s.") % {"contact": clock.contact})
    return _board_answer(request)


@require_POST
@page(Capability.MANAGE_USERS)
def sla_sweep(request: HttpRequest) -> HttpResponse:
    """Admins: run the sweep now instead of waiting for the worker's next minute."""
    result = sweep()
    messages.success(
        request,
        _(
            "Sweep done: %(soon)d due soon, %(breached)d breached, %(escalated)d escalated, %(reassigned)d reassigned."
        )
        % {
            "soon": sum(result.due_soon.values()),
            "breached": sum(result.breached.values()),
            "escalated": result.escalated,
            "reassigned": result.reassigned,
        },
    )
    return _board_answer(request)
