"""The closed-loop report pages: funnel, stage velocity, source and campaign quality.

Each page is a GET form (so a report is a link to share): the period, the view (funnel),
a breakdown and a few segment filters. The form runs the same runner as the API and the
CLI; htmx swaps only the result when a filter changes, and `?format=csv|json` downloads
the same result (`analytics.exports`). Every signed-in user can read them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_htmx.http import push_url

from smarketing.analytics import exports
from smarketing.analytics.funnel import FunnelInput, FunnelResult, run_funnel
from smarketing.analytics.periods import PERIOD_HELP
from smarketing.analytics.sources import SourcesInput, SourcesResult, run_sources
from smarketing.analytics.velocity import (
    STEP_KEYS,
    TOUCH_TO_WON,
    VelocityInput,
    VelocityResult,
    run_velocity,
    step_label,
)
from smarketing.core.errors import DomainError
from smarketing.crm.choices import Channel, ObjectType
from smarketing.crm.models import Campaign, PropertyDefinition
from smarketing.handoff.models import Team
from smarketing.web.charts_reports import (
    BarSeries,
    FunnelBar,
    Line,
    funnel_bars,
    side_bars,
    trend_lines,
)
from smarketing.web.rendering import error_status, page, render_page, show_problems

DEFAULT_PERIOD = "last-30-days"
FILTER_KEYS = (
    "period",
    "view",
    "by",
    "original_source",
    "campaign",
    "owner",
    "team",
    "fit_grade",
    "country",
)


class ReportForm(forms.Form):
    """The filters every report page shares (the view only on the funnel)."""

    period = forms.CharField(label=gettext_lazy("Period"), help_text=PERIOD_HELP, max_length=40)
    view = forms.ChoiceField(
        label=gettext_lazy("View"),
        required=False,
        choices=[
            ("cohort", gettext_lazy("Cohort: the period's new MQLs, followed")),
            ("period", gettext_lazy("Period: stage moves in the period")),
        ],
    )
    by = forms.ChoiceField(label=gettext_lazy("Break down by"), required=False)
    original_source = forms.ChoiceField(label=gettext_lazy("Source"), required=False)
    campaign = forms.ChoiceField(label=gettext_lazy("Campaign"), required=False)
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)
    team = forms.ChoiceField(label=gettext_lazy("Team"), required=False)
    fit_grade = forms.ChoiceField(
        label=gettext_lazy("Fit grade"),
        required=False,
        choices=[("", gettext_lazy("Every grade")), *((g, g) for g in ("A", "B", "C", "D"))],
    )
    country = forms.CharField(label=gettext_lazy("Country"), required=False, max_length=64)

    def __init__(self, data: Any, *, kind: str) -> None:
        super().__init__(data)
        if kind != "funnel":
            del self.fields["view"]
        if kind == "sources":
            del self.fields["by"]
        else:
            properties = PropertyDefinition.objects.filter(object_type=ObjectType.CONTACT)
            self.fields["by"].choices = [
                ("", _("Nothing (all contacts)")),
                ("original_source", _("Original source")),
                ("campaign", _("Campaign")),
                ("owner", _("Owner")),
                ("team", _("Team")),
                ("country", _("Country")),
                ("fit_grade", _("Fit grade")),
                *(
                    (f"property:{name}", label or name)
                    for name, label in properties.values_list("name", "label")
                ),
            ]
        self.fields["original_source"].choices = [
            ("", _("Every source")),
            *Channel.choices,
            ("none", _("No source")),
        ]
        users = get_user_model().objects.filter(is_active=True).order_by("first_name", "email")
        self.fields["owner"].choices = [
            ("", _("Every owner")),
            *(
                (str(pk), f"{first} {last}".strip() or email)
                for pk, first, last, email in users.values_list(
                    "pk", "first_name", "last_name", "email"
                )
            ),
            ("none", _("No owner")),
        ]
        self.fields["team"].choices = [
            ("", _("Every team")),
            *((str(pk), name) for pk, name in Team.objects.values_list("pk", "name")),
            ("none", _("No team")),
        ]
        self.fields["campaign"].choices = [
            ("", _("Every campaign")),
            *((str(pk), name) for pk, name in Campaign.objects.values_list("pk", "name")),
            ("none", _("No campaign")),
        ]


def percent(share: float | None) -> str:
    if share is None:
        return "—"
    # number_format cuts the digits off; round first so 2/3 reads 66.7 %.
    return _("%(value)s %%") % {"value": number_format(round(share * 100, 1), 1)}


def days(value: float | None) -> str:
    return "—" if value is None else number_format(round(value, 1), 1)


def money(value: Any) -> str:
    return "—" if value is None else number_format(value, 2, force_grouping=True)


# ---- per report -----------------------------------------------------------------------------


def funnel_context(result: FunnelResult) -> dict[str, Any]:
    cohort = result.input.view == "cohort"
    total = result.total
    bars = [
        FunnelBar(
            s.label,
            s.count,
            "" if s.conversion is None else percent(s.conversion),
        )
        for s in total.stages
    ]
    title = _("Cohort funnel") if cohort else _("Stage moves in the period")
    stages = [
        {
            "stage": s,
            "conversion": percent(s.conversion),
            "drop_off": percent(s.drop_off),
            "value": money(s.value),
            "value_drop_off": percent(s.value_drop_off),
            "median_days": days(s.median_days),
        }
        for s in total.stages
    ]
    groups = [
        {
            "group": g,
            "cells": [{"count": s.count, "conversion": percent(s.conversion)} for s in g.stages],
        }
        for g in result.groups
    ]
    return {
        "cohort": cohort,
        "chart": funnel_bars(bars, title=title),
        "stages": stages,
        "stage_labels": [s.label for s in total.stages],
        "groups": groups,
    }


def velocity_context(result: VelocityResult) -> dict[str, Any]:
    months = [str(p.month) for p in result.trend]
    lines = [
        Line(step_label(key), [p.step(key).median_days for p in result.trend])
        for key in [*STEP_KEYS, TOUCH_TO_WON]
        if any(p.step(key).count for p in result.trend)
    ]
    chart = trend_lines(months, lines, title=_("Median days per month"), unit=" d") if lines else ""

    def steps(items):
        return [
            {
                "step": s,
                "median_days": days(s.median_days),
                "p75_days": days(s.p75_days),
                "median_hours": days(s.median_hours),
                "p75_hours": days(s.p75_hours),
            }
            for s in items
        ]

    return {
        "chart": chart,
        "steps": steps(result.total.steps),
        "groups": [{"group": g, "steps": steps(g.steps)} for g in result.groups],
        "step_labels": [s.label for s in result.total.steps],
    }


def sources_context(result: SourcesResult) -> dict[str, Any]:
    def rows(items):
        return [
            {
                "row": r,
                "acceptance": percent(r.acceptance_rate),
                "mql_to_sql": percent(r.mql_to_sql),
                "sql_to_won": percent(r.sql_to_won),
                "pipeline": money(r.pipeline),
                "won": money(r.won),
                "cost": money(r.cost),
                "cost_per_mql": money(r.cost_per_mql),
                "cost_per_sql": money(r.cost_per_sql),
                "cost_per_customer": money(r.cost_per_customer),
                "roi": percent(r.roi),
            }
            for r in items
        ]

    shown = [r for r in result.channels if r.won or r.cost][:10]
    chart = (
        side_bars(
            [r.label for r in shown],
            [
                BarSeries(_("Won revenue"), "#2a9d8f", [float(r.won) for r in shown]),
                BarSeries(_("Cost"), "#e76f51", [float(r.cost) for r in shown]),
            ],
            title=_("Won revenue and cost by channel"),
        )
        if shown
        else ""
    )
    return {"chart": chart, "channels": rows(result.channels), "campaigns": rows(result.campaigns)}


REPORTS: dict[str, tuple[Any, Callable, Callable, str]] = {
    "funnel": (FunnelInput, run_funnel, funnel_context, gettext_lazy("Funnel")),
    "velocity": (VelocityInput, run_velocity, velocity_context, gettext_lazy("Stage velocity")),
    "sources": (SourcesInput, run_sources, sources_context, gettext_lazy("Sources and campaigns")),
}


def _report_page(request: HttpRequest, kind: str) -> HttpResponse:
    make_input, run, build, title = REPORTS[kind]
    data = request.GET.copy()
    if not data.get("period"):
        data["period"] = DEFAULT_PERIOD
    form = ReportForm(data, kind=kind)
    params = {k: data[k] for k in FILTER_KEYS if k in form.fields and data.get(k)}
    context: dict[str, Any] = {"form": form, "kind": kind, "title": title, "result": None}
    status = 200
    try:
        result = run(make_input.from_params(params))
    except DomainError as exc:
        show_problems(form, exc)
        status = error_status(exc)
    else:
        fmt = request.GET.get("format")
        if fmt in exports.FORMATS:
            return exports.download(result, fmt, f"{kind}-{params['period']}")
        query = urlencode(params)
        context.update(
            result=result,
            notes=getattr(result, "notes", []),
            csv_url=f"{request.path}?{urlencode({**params, 'format': 'csv'})}",
            json_url=f"{request.path}?{urlencode({**params, 'format': 'json'})}",
            **build(result),
        )
        context["query"] = query
    body = f"web/reports/_{kind}.html"
    context.update(intro=f"web/reports/_{kind}_intro.html", body=body)
    response = render_page(request, "web/reports/page.html", context, partial=body, status=status)
    if request.htmx and status == 200:
        push_url(response, f"{request.path}?{context['query']}")
    return response


@page()
def report_funnel(request: HttpRequest) -> HttpResponse:
    return _report_page(request, "funnel")


@page()
def report_velocity(request: HttpRequest) -> HttpResponse:
    return _report_page(request, "velocity")


@page()
def report_sources(request: HttpRequest) -> HttpResponse:
    return _report_page(request, "sources")


__all__ = ["report_funnel", "report_sources", "report_velocity"]
