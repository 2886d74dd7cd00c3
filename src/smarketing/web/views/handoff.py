"""Pages of the hand-off: the rep's queue (live SLA clocks), accept / reject / reassign,
the routing settings (rules, teams and their calendars, reps, reasons, fairness) and the
hand-off panel of the contact page.

Every write goes through `smarketing.handoff.actions`; these views parse the form, call
the action and render the page or the htmx partial.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta
from typing import Any

import yaml
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smarketing.analytics.periods import Period
from smarketing.core.choices import Capability
from smarketing.core.errors import DomainError, FieldProblem, ValidationFailed
from smarketing.core.models import User
from smarketing.crm.choices import Stage
from smarketing.crm.models import Contact
from smarketing.handoff.actions import (
    do_accept,
    do_delete_rule,
    do_reassign,
    do_reject,
    do_save_reason,
    do_save_rep_profile,
    do_save_rule,
    do_save_team,
)
from smarketing.handoff.choices import Availability, RejectOutcome, RuleKind, TeamKind
from smarketing.handoff.models import (
    Assignment,
    RejectionReason,
    RepProfile,
    RoutingRule,
    Team,
)
from smarketing.scoring.selectors import explain
from smarketing.sla.choices import State
from smarketing.sla.models import SlaClock
from smarketing.sla.terms import calendar_of
from smarketing.sla.working_time import parse_holidays
from smarketing.web.rendering import error_status, page, render_page

QUEUE_LIMIT = 100
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- clocks in words ---------------------------------------------------------------------


def duration_words(delta: timedelta) -> str:
    """Working time in words: "2 h 10 min", "35 min", "3 d 4 h"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    return _("%(m)d min") % {"m": minutes}


def clock_lines(clock: SlaClock | None, now: datetime) -> list[dict[str, Any]]:
    """Each commitment of a clock with its state and the working time left (or overdue)."""
    if clock is None:
        return []
    calendar = calendar_of(clock.calendar) if clock.calendar else None
    lines = []
    for c in clock.commitments:
        due, state = c["due_at"], c["state"]
        text = State(state).label
        if state in (State.OPEN, State.DUE_SOON, State.BREACHED) and due is not None:
            if now < due:
                left = calendar.between(now, due) if calendar else due - now
                text = _("%(time)s left") % {"time": duration_words(left)}
                state = State.DUE_SOON if state == State.OPEN and c["soon_at"] <= now else state
            else:
                late = calendar.between(due, now) if calendar else now - due
                text = _("overdue by %(time)s") % {"time": duration_words(late)}
                state = State.BREACHED
        lines.append({**c, "state": state, "text": text})
    return lines


# --- the queue -----------------------------------------------------------------------------


def queue_rows(rep: User | None, now: datetime, *, explain_scores: bool = True) -> list[dict]:
    """The MQLs currently with `rep` (None: the unassigned queue), hottest first."""
    contacts = list(
        Contact.objects.filter(
            lifecycle_stage=Stage.MQL,
            assignments__current=True,
            **({"assignments__rep": rep} if rep else {"assignments__rep__isnull": True}),
        )
        .select_related("company", "score")
        .prefetch_related(
            Prefetch(
                "assignments", queryset=Assignment.objects.current(), to_attr="current_assignments"
            ),
            Prefetch("sla_clocks", queryset=SlaClock.objects.open(), to_attr="open_clocks"),
        )
        .order_by("-score__total_at_update", "id")[:QUEUE_LIMIT]
    )
    rows = []
    for contact in contacts:
        score = getattr(contact, "score", None)
        clock = contact.open_clocks[-1] if contact.open_clocks else None
        rows.append(
            {
                "contact": contact,
                "score": score.total_at_update if score else None,
                "grade": score.grade if score else "",
                "why": top_reasons(contact) if explain_scores else [],
                "assignment": contact.current_assignments[0]
                if contact.current_assignments
                else None,
                "clock": clock,
                "lines": clock_lines(clock, now),
            }
        )
    return rows


def top_reasons(contact: Contact, count: int = 3) -> list[str]:
    """The rules that gave the most points now: why the lead is hot."""
    explanation = explain(contact, history_points=1)
    if explanation is None:
        return []
    parts = [(r["points"], r["label"]) for r in explanation.fit_rules] + [
        (r["now"], r["label"]) for r in explanation.engagement_rules
    ]
    parts = sorted((p for p in parts if p[0] > 0), key=lambda p: -p[0])[:count]
    return [f"{label} (+{points:.0f})" for points, label in parts]


def is_manager(user: User) -> bool:
    return user.can(Capability.REASSIGN)


def queue_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    now = timezone.now()
    rep = user
    managers = is_manager(user)
    reps = []
    if managers:
        reps = list(
            User.objects.filter(rep_profile__isnull=False, is_active=True).order_by("email")
        )
        chosen = request.GET.get("rep") or request.POST.get("rep_view")
        if chosen and chosen.isdigit():
            rep = get_object_or_404(User, pk=int(chosen))
    return {
        "rows": queue_rows(rep, now),
        "unassigned": queue_rows(None, now, explain_scores=False) if managers else [],
        "viewed_rep": rep,
        "is_manager": managers,
        "reps": reps,
        "reasons": list(RejectionReason.objects.filter(active=True).order_by("position", "code")),
        "outcomes": RejectOutcome.choices,
        "now": now,
    }


@page(Capability.REVIEW_LEADS)
def queue(request: HttpRequest) -> HttpResponse:
    """The rep's MQLs, hottest first, with live SLA clocks (the table refreshes every 30 s)."""
    return render_page(
        request,
        "web/handoff/queue.html",
        queue_context(request),
        partial="web/handoff/_queue_table.html",
    )


def _queue_answer(request: HttpRequest, status: int = 200) -> HttpResponse:
    """After an action: the refreshed table for htmx, or back to the queue page."""
    if request.htmx:
        return render_page(
            request,
            "web/handoff/queue.html",
            queue_context(request),
            partial="web/handoff/_queue_table.html",
            status=status,
        )
    url = reverse("web:queue")
    rep_view = request.POST.get("rep_view")
    return redirect(f"{url}?rep={rep_view}" if rep_view else url)


def _report(request: HttpRequest, error: DomainError) -> int:
    details = "; ".join(f"{p.field}: {p.message}" for p in error.problems)
    messages.error(request, f"{error.message} {details}".strip())
    return error_status(error)


@require_POST
@page(Capability.REVIEW_LEADS)
def accept(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=contact_id)
    try:
        do_accept(contact, actor=request.user, note=request.POST.get("note", ""))
    except ValidationFailed as error:
        return _queue_answer(request, _report(request, error))
    messages.success(
        request, _("%(name)s accepted: now a sales accepted lead.") % {"name": contact}
    )
    return _queue_answer(request)


@require_POST
@page(Capability.REVIEW_LEADS)
def reject(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=contact_id)
    try:
        review = do_reject(
            contact,
            reason=request.POST.get("reason", ""),
            note=request.POST.get("note", ""),
            outcome=request.POST.get("outcome") or None,
            actor=request.user,
        )
    except ValidationFailed as error:
        return _queue_answer(request, _report(request, error))
    messages.success(
        request,
        _("%(name)s rejected (%(reason)s): %(outcome)s.")
        % {"name": contact, "reason": review.reason.label, "outcome": review.get_outcome_display()},
    )
    return _queue_answer(request)


@require_POST
@page(Capability.REASSIGN)
def reassign(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=contact_id)
    rep_id = request.POST.get("rep", "")
    rep = get_object_or_404(User, pk=int(rep_id)) if rep_id.isdigit() else None
    try:
        do_reassign(contact, rep, actor=request.user, reason=request.POST.get("reason", ""))
    except ValidationFailed as error:
        return _queue_answer(request, _report(request, error))
    messages.success(
        request,
        _("%(name)s handed to %(rep)s.")
        % {"name": contact, "rep": rep.email if rep else _("the unassigned queue")},
    )
    return _queue_answer(request)


# --- the contact page's panel ---------------------------------------------------------------


def handoff_panel(contact: Contact, user: User) -> dict[str, Any]:
    """What the contact page shows about the hand-off: current rep, clock, history, actions."""
    now = timezone.now()
    history = list(
        Assignment.objects.filter(contact=contact)
        .select_related("rep")
        .order_by("-assigned_at", "-id")[:10]
    )
    current = next((a for a in history if a.current), None)
    clock = SlaClock.objects.open().filter(contact=contact).order_by("-started_at").first()
    reviews = list(contact.reviews.select_related("reason", "rep").order_by("-decided_at")[:5])
    can_decide = contact.lifecycle_stage == Stage.MQL and (
        is_manager(user) or (current is not None and current.rep_id == user.pk)
    )
    return {
        "handoff_contact": contact,
        "handoff_current": current,
        "handoff_history": history,
        "handoff_lines": clock_lines(clock, now),
        "handoff_reviews": reviews,
        "handoff_can_decide": can_decide and user.can(Capability.REVIEW_LEADS),
        "handoff_reasons": list(RejectionReason.objects.filter(active=True)),
        "outcomes": RejectOutcome.choices,
    }


# --- routing settings ------------------------------------------------------------------------


def hours_text(hours: list[str] | None) -> str:
    return ", ".join(hours or [])


def calendar_from_form(post: Any) -> dict[str, Any]:
    """A calendar from the editor: time zone, hours per weekday as text, holidays text."""
    hours = {}
    for day in DAYS:
        text = (post.get(f"hours_{day}") or "").strip()
        if text:
            hours[day] = [part.strip() for part in text.split(",") if part.strip()]
    holidays_text = post.get("holidays") or ""
    holidays: Any = holidays_text
    # A bad line stays as typed: the action reports every bad line with its number.
    with contextlib.suppress(ValidationFailed):
        holidays = {d.isoformat(): name for d, name in parse_holidays(holidays_text).items()}
    return {"timezone": (post.get("timezone") or "").strip(), "hours": hours, "holidays": holidays}


def holidays_text(calendar: dict[str, Any]) -> str:
    holidays = calendar.get("holidays") or {}
    if isinstance(holidays, dict):
        return "\n".join(f"{day} {name}".strip() for day, name in sorted(holidays.items()))
    if isinstance(holidays, list):
        return "\n".join(str(h) for h in holidays)
    return str(holidays)


def conditions_from_text(text: str) -> Any:
    """Rule conditions typed as YAML or JSON (an empty text is no condition)."""
    if not text.strip():
        return {}
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(
            _("The conditions are not valid YAML or JSON."),
            [FieldProblem("conditions", str(exc).splitlines()[0])],
        ) from None


def conditions_text(conditions: dict[str, Any]) -> str:
    return json.dumps(conditions, ensure_ascii=False) if conditions else ""


def routing_context(
    request: HttpRequest, errors: dict[str, DomainError] | None = None
) -> dict[str, Any]:
    teams = list(Team.objects.select_related("manager"))
    period_text = request.GET.get("period") or timezone.now().strftime("%Y-%m")
    fairness, period_error = None, None
    try:
        from smarketing.api.handoff import fairness_of

        fairness = fairness_of(Period.parse(period_text))
    except ValidationFailed as exc:
        period_error = exc.message
    return {
        "rule_rows": [
            {
                "rule": r,
                "conditions": conditions_text(r.conditions),
                "reps": [u.pk for u in r.reps.all()],
            }
            for r in RoutingRule.objects.prefetch_related("reps").order_by("position")
        ],
        "kinds": RuleKind.choices,
        "team_kinds": TeamKind.choices,
        "teams": [
            {
                "team": t,
                "timezone": (t.calendar or {}).get("timezone", "UTC"),
                "hours": [
                    (day, hours_text(((t.calendar or {}).get("hours") or {}).get(day)))
                    for day in DAYS
                ],
                "holidays": holidays_text(t.calendar or {}),
            }
            for t in teams
        ],
        "profiles": list(RepProfile.objects.select_related("user", "team").order_by("user__email")),
        "users": list(User.objects.filter(is_active=True).order_by("email")),
        "availability": Availability.choices,
        "reasons": list(RejectionReason.objects.order_by("position", "code")),
        "outcomes": RejectOutcome.choices,
        "fairness": fairness,
        "period": period_text,
        "period_error": period_error,
        "errors": errors or {},
    }


@page(Capability.MANAGE_ROUTING)
def routing(request: HttpRequest) -> HttpResponse:
    return render_page(request, "web/handoff/routing.html", routing_context(request))


def _settings_saved(request: HttpRequest, section: str, act) -> HttpResponse:
    try:
        message = act()
    except ValidationFailed as error:
        return render_page(
            request,
            "web/handoff/routing.html",
            routing_context(request, {section: error}),
            status=error_status(error),
        )
    messages.success(request, message)
    return redirect(reverse("web:routing") + f"#{section}")


def _int_or_none(value: str | None, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed(_("Not a number."), [FieldProblem(field, "must be a whole number")])
    return int(value)


@require_POST
@page(Capability.MANAGE_ROUTING)
def save_rule(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    rule = get_object_or_404(RoutingRule, pk=rule_id) if rule_id else None
    post = request.POST

    def act() -> str:
        data = {
            "name": post.get("name", ""),
            "kind": post.get("kind", ""),
            "conditions": conditions_from_text(post.get("conditions", "")),
            "team": _int_or_none(post.get("team"), "team"),
            "reps": [int(r) for r in post.getlist("reps") if r.isdigit()],
            "active": post.get("active") == "on",
        }
        position = _int_or_none(post.get("position"), "position")
        if position is not None:
            data["position"] = position
        saved = do_save_rule(data, actor=request.user, rule=rule)
        return _("Rule “%(name)s” saved at position %(position)d.") % {
            "name": saved.name,
            "position": saved.position,
        }

    return _settings_saved(request, f"rule-{rule_id}" if rule_id else "rules", act)


@require_POST
@page(Capability.MANAGE_ROUTING)
def delete_rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    do_delete_rule(rule, actor=request.user)
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect(reverse("web:routing") + "#rules")


@require_POST
@page(Capability.MANAGE_ROUTING)
def save_team(request: HttpRequest, team_id: int | None = None) -> HttpResponse:
    team = get_object_or_404(Team, pk=team_id) if team_id else None
    post = request.POST

    def act() -> str:
        data: dict[str, Any] = {"name": post.get("name", ""), "kind": post.get("kind", "sales")}
        manager_id = _int_or_none(post.get("manager"), "manager")
        data["manager"] = User.objects.filter(pk=manager_id).first() if manager_id else None
        if post.get("timezone") is not None:
            data["calendar"] = calendar_from_form(post)
        saved = do_save_team(data, actor=request.user, team=team)
        return _("Team “%(name)s” saved.") % {"name": saved.name}

    return _settings_saved(request, f"team-{team_id}" if team_id else "teams", act)


@require_POST
@page(Capability.MANAGE_ROUTING)
def save_rep(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    post = request.POST

    def act() -> str:
        data: dict[str, Any] = {
            "team": _int_or_none(post.get("team"), "team"),
            "capacity": _int_or_none(post.get("capacity"), "capacity") or 0,
            "daily_cap": _int_or_none(post.get("daily_cap"), "daily_cap"),
            "monthly_cap": _int_or_none(post.get("monthly_cap"), "monthly_cap"),
            "availability": post.get("availability", Availability.AVAILABLE),
        }
        if data["team"] is not None:
            data["team"] = Team.objects.filter(pk=data["team"]).first() or data["team"]
        do_save_rep_profile(user, data, actor=request.user)
        return _("Routing settings of %(email)s saved.") % {"email": user.email}

    return _settings_saved(request, "reps", act)


@require_POST
@page(Capability.MANAGE_ROUTING)
def save_reason(request: HttpRequest, code: str | None = None) -> HttpResponse:
    reason = get_object_or_404(RejectionReason, code=code) if code else None
    post = request.POST

    def act() -> str:
        saved = do_save_reason(
            {
                "code": post.get("code", code or ""),
                "label": post.get("label", ""),
                "outcome": post.get("outcome", RejectOutcome.NURTURE),
                "active": post.get("active") == "on",
            },
            actor=request.user,
            reason=reason,
        )
        return _("Rejection reason “%(label)s” saved.") % {"label": saved.label}

    return _settings_saved(request, "reasons", act)
