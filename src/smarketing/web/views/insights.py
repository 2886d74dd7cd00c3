"""Insights pages: the Monday dashboard, the claim check, goals and the scorecards.

Each page parses its query, calls the runner in `smarketing.analytics` and renders the
result with the charts of `web.charts_insights`; the same runners serve the API and CLI.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from smarketing.analytics.actions import (
    can_manage_goals,
    do_create_goal,
    do_delete_goal,
    do_update_goal,
)
from smarketing.analytics.claims import DEFAULT_COMPARE, METRICS, check_claim
from smarketing.analytics.dashboard import WEEKLY_METRICS, DashboardInput, run_dashboard
from smarketing.analytics.exports import FORMATS, download
from smarketing.analytics.goals import goals_progress
from smarketing.analytics.models import Baseline, Goal, TargetKind
from smarketing.analytics.scorecards import scorecard
from smarketing.core.actors import as_actor
from smarketing.core.errors import ValidationFailed
from smarketing.handoff.models import Team
from smarketing.web.charts import ACTIVE_COLOUR, DRAFT_COLOUR, Series
from smarketing.web.charts_insights import (
    claim_chart,
    fmt,
    goals_chart,
    hbar_chart,
    weekly_chart,
)
from smarketing.web.rendering import done, page, problems_on, render_page

STATUS_LABELS = {
    "on_track": gettext_lazy("On track"),
    "at_risk": gettext_lazy("At risk"),
    "behind": gettext_lazy("Behind"),
    "met": gettext_lazy("Met"),
    "missed": gettext_lazy("Missed"),
    "not_started": gettext_lazy("Not started"),
}
WEEKLY_LABELS = {
    "new_leads": gettext_lazy("New leads"),
    "mqls": gettext_lazy("MQLs"),
    "sqls": gettext_lazy("SQLs"),
    "won_deals": gettext_lazy("Won deals"),
    "won_revenue": gettext_lazy("Won revenue"),
}


def goal_rows(goals) -> list[dict[str, Any]]:
    return [
        {
            "goal": g,
            "status_label": STATUS_LABELS.get(g.status, g.status),
            "actual": fmt(g.actual, g.kind),
            "target": fmt(g.target, g.kind),
            "forecast": fmt(g.forecast, g.kind),
            "pace_needed": fmt(g.pace_needed, "ratio" if g.kind == "count" else g.kind),
            "current_pace": fmt(g.current_pace, "ratio" if g.kind == "count" else g.kind),
        }
        for g in goals
    ]


# ---- dashboard -----------------------------------------------------------------------------


@page()
def dashboard(request: HttpRequest) -> HttpResponse:
    errors: list[str] = []
    try:
        inp = DashboardInput.from_params(request.GET)
    except ValidationFailed as error:
        errors = [f"{p.field}: {p.message}" for p in error.problems]
        inp = DashboardInput.from_params({})
    result = run_dashboard(inp)
    fmt_ = request.GET.get("format")
    if fmt_ in FORMATS:
        return download(result, fmt_, f"dashboard-{inp.week}")
    funnel_stages = result.funnel.total.stages if result.funnel is not None else []
    weeks = result.weeks
    sources = result.sources
    credits = (
        result.attribution.models[0].credits
        if result.attribution and result.attribution.models
        else []
    )
    compliance = result.compliance
    sales = compliance.total
    context = {
        "result": result,
        "inp": inp,
        "errors": errors,
        "funnel_chart": hbar_chart(
            [s.label for s in funnel_stages],
            [s.count for s in funnel_stages],
            title=_("Funnel: contacts that became MQL in %(period)s, and how far they got")
            % {"period": inp.period},
        ),
        "funnel_stages": funnel_stages,
        "goals": goal_rows(result.goals),
        "goals_chart": goals_chart(result.goals),
        "weekly_chart": weekly_chart(
            [w.week[-3:] for w in weeks],
            [
                Series(
                    str(WEEKLY_LABELS["mqls"]), DRAFT_COLOUR, [w.values["mqls"] or 0 for w in weeks]
                ),
                Series(
                    str(WEEKLY_LABELS["sqls"]),
                    ACTIVE_COLOUR,
                    [w.values["sqls"] or 0 for w in weeks],
                ),
            ],
            title=_("MQLs and SQLs per week"),
        ),
        "week_columns": [WEEKLY_LABELS[k] for k in WEEKLY_METRICS],
        "week_rows": [
            {
                "week": w.week,
                "current": w.current,
                "cells": [
                    fmt(w.values[k], "money" if k == "won_revenue" else "int")
                    for k in WEEKLY_METRICS
                ],
            }
            for w in weeks
        ],
        "sources_chart": hbar_chart(
            [s["label"] for s in sources],
            [s["won"] for s in sources],
            title=_("Top sources by won revenue"),
            kind="money",
        ),
        "attribution_chart": hbar_chart(
            [c.key for c in credits],
            [c.value for c in credits],
            title=_("Won revenue credited by the %(model)s model") % {"model": inp.model},
            kind="money",
            colours=[DRAFT_COLOUR if c.side == "marketing" else ACTIVE_COLOUR for c in credits],
        ),
        "attribution_split": result.attribution.models[0] if credits else None,
        "sla_sales": {
            "clocks": sales.clocks if sales else 0,
            "first_touch": fmt(sales.first_touch_met_pct / 100, "pct")
            if sales and sales.first_touch_met_pct is not None
            else "-",
            "attempts": fmt(sales.attempts_met_pct / 100, "pct")
            if sales and sales.attempts_met_pct is not None
            else "-",
            "decision": fmt(sales.decision_met_pct / 100, "pct")
            if sales and sales.decision_met_pct is not None
            else "-",
            "speed": fmt(sales.median_speed_to_lead_hours, "hours") if sales else "-",
        },
        "sla_marketing": {
            "delivered": fmt(compliance.mqls_delivered, "int"),
            "committed": fmt(compliance.mqls_committed, "int"),
            "acceptance": fmt(compliance.acceptance_rate, "pct"),
            "acceptance_committed": fmt(compliance.acceptance_committed, "pct"),
        },
    }
    return render_page(request, "web/insights/dashboard.html", context)


# ---- claim check ---------------------------------------------------------------------------


@page()
def claims(request: HttpRequest) -> HttpResponse:
    params = request.GET
    result = None
    errors: list[str] = []
    values = {
        "metric": params.get("metric", "mqls"),
        "segment": params.get("segment", ""),
        "period": params.get("period")
        or f"{timezone.localdate().replace(day=1) - timedelta(days=1):%Y-%m}",
        "compare": params.get("compare", str(DEFAULT_COMPARE)),
    }
    if "metric" in params:
        try:
            result = check_claim(**values)
        except ValidationFailed as error:
            errors = [f"{p.field}: {p.message}" for p in error.problems] or [error.message]
    context = {
        "values": values,
        "metrics": [(m.key, m.label) for m in METRICS.values()],
        "result": result,
        "errors": errors,
        "chart": claim_chart(result) if result else "",
        "rows": [{"period": p, "value": fmt(p.value, result.kind)} for p in result.periods]
        if result
        else [],
        "current": fmt(result.current.value, result.kind) if result else "",
        "expected": fmt(result.expected, result.kind) if result else "",
        "change_pct": fmt(result.change_pct, "pct")
        if result and result.change_pct is not None
        else "-",
    }
    return render_page(
        request,
        "web/insights/claims.html",
        context,
        status=422 if errors else 200,
    )


# ---- goals ---------------------------------------------------------------------------------


class GoalForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    metric = forms.ChoiceField(label=gettext_lazy("Metric"))
    target_kind = forms.ChoiceField(label=gettext_lazy("Target"), choices=TargetKind.choices)
    target_value = forms.CharField(
        label=gettext_lazy("Value"),
        help_text=gettext_lazy("A number, a share 0-1 for rates, or a change in % when relative."),
    )
    baseline = forms.ChoiceField(
        label=gettext_lazy("Compared with"), choices=[("", "-"), *Baseline.choices], required=False
    )
    period = forms.CharField(label=gettext_lazy("Period"), help_text="2026-Q4, 2026-11, 2026-W45…")
    segment = forms.CharField(
        label=gettext_lazy("Segment"), required=False, help_text="original_source=social"
    )
    team = forms.ModelChoiceField(
        label=gettext_lazy("Owner team"), queryset=Team.objects.all(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [(m.key, m.label) for m in METRICS.values()]


@page()
def goals(request: HttpRequest) -> HttpResponse:
    actor = as_actor(request.user)
    manager = can_manage_goals(actor)
    form = GoalForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not manager:
            return HttpResponse(_("Only managers and admins can set goals."), status=403)
        if form.is_valid():
            with problems_on(form) as outcome:
                goal = do_create_goal(
                    {k: v for k, v in form.cleaned_data.items() if v not in (None, "")},
                    actor=actor,
                )
            if not outcome.failed:
                messages.success(request, _("Goal %(name)s saved.") % {"name": goal.name})
                return done(request, reverse("web:goals"))
            status = outcome.status or 422
        else:
            status = 422
    progress = goals_progress(Goal.objects.select_related("team"))
    context = {
        "form": form,
        "manager": manager,
        "goals": goal_rows(progress),
        "chart": goals_chart(progress),
    }
    return render_page(request, "web/insights/goals.html", context, status=status)


def _segment_text(segment: dict) -> str:
    return "; ".join(
        f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in (segment or {}).items()
    )


@page()
def goal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    goal = get_object_or_404(Goal, pk=pk)
    actor = as_actor(request.user)
    if not can_manage_goals(actor):
        return HttpResponse(_("Only managers and admins can set goals."), status=403)
    initial = {
        "name": goal.name,
        "metric": goal.metric,
        "target_kind": goal.target_kind,
        "target_value": f"{goal.target_value.normalize():f}",
        "baseline": goal.baseline,
        "period": goal.period,
        "segment": _segment_text(goal.segment),
        "team": goal.team_id,
    }
    form = GoalForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = {**form.cleaned_data, "segment": form.cleaned_data.get("segment") or {}}
            with problems_on(form) as outcome:
                do_update_goal(goal, data, actor=actor)
            if not outcome.failed:
                messages.success(request, _("Goal %(name)s saved.") % {"name": goal.name})
                return done(request, reverse("web:goals"))
            status = outcome.status or 422
        else:
            status = 422
    return render_page(
        request, "web/insights/goal_edit.html", {"form": form, "goal": goal}, status=status
    )


@page()
@require_POST
def goal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    goal = get_object_or_404(Goal, pk=pk)
    do_delete_goal(goal, actor=request.user)
    messages.success(request, _("Goal %(name)s deleted.") % {"name": goal.name})
    return done(request, reverse("web:goals"))


# ---- scorecards ----------------------------------------------------------------------------


@page()
def scorecards(request: HttpRequest, side: str) -> HttpResponse:
    params = request.GET
    values = {
        "period": params.get("period") or f"{timezone.localdate():%Y-%m}",
        "team": params.get("team", ""),
        "rep": params.get("rep", ""),
        "segment": params.get("segment", ""),
    }
    errors: list[str] = []
    card = None
    try:
        card = scorecard(side=side, **values)
    except ValidationFailed as error:
        errors = [f"{p.field}: {p.message}" for p in error.problems] or [error.message]
    fmt_ = params.get("format")
    if card is not None and fmt_ in FORMATS:
        return download(card, fmt_, f"scorecard-{side}-{card.period}")
    table = []
    if card is not None:
        for row in card.rows:
            cells = []
            for f in card.figures:
                now, before = row.figures.get(f.key), row.previous.get(f.key)
                change = None if now is None or before is None else now - before
                cells.append(
                    {
                        "value": fmt(now, f.format),
                        "previous": fmt(before, f.format),
                        "change": change,
                    }
                )
            table.append({"row": row, "cells": cells})
    context = {
        "side": side,
        "values": values,
        "card": card,
        "errors": errors,
        "table": table,
        "teams": Team.objects.all(),
    }
    return render_page(
        request, "web/insights/scorecard.html", context, status=422 if errors else 200
    )
