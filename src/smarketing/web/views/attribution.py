"""The attribution page: won revenue or pipeline of a period credited to channels or campaigns.

A GET form (so a report is a link to share) runs `AttributionRunner` and shows one
model, or every model side by side, as a table and a bar chart, with the marketing /
sales split and CSV / JSON exports of the same result.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_htmx.http import push_url

from smarketing.analytics.attribution.engine import DEFAULT_HALF_LIFE, MODELS
from smarketing.analytics.attribution.journeys import CAMPAIGN, CHANNEL, PIPELINE, WON
from smarketing.analytics.attribution.runner import (
    ALL,
    MAX_HALF_LIFE,
    MODEL_LABELS,
    AttributionInput,
    AttributionResult,
    AttributionRunner,
)
from smarketing.core.errors import DomainError
from smarketing.web.charts import Series
from smarketing.web.charts_attribution import MODEL_COLOURS, credit_bars, split_bars
from smarketing.web.forms import DATE_INPUT
from smarketing.web.rendering import error_status, page, render_page, show_problems

DEFAULT_DAYS = 90


class AttributionForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("From"), widget=DATE_INPUT)
    date_to = forms.DateField(label=gettext_lazy("To (inclusive)"), widget=DATE_INPUT)
    basis = forms.ChoiceField(
        label=gettext_lazy("Credit"),
        choices=[
            (WON, gettext_lazy("Won revenue (deals closed won in the period)")),
            (PIPELINE, gettext_lazy("Pipeline (deals created in the period)")),
        ],
    )
    model = forms.ChoiceField(
        label=gettext_lazy("Model"),
        choices=[(ALL, gettext_lazy("Compare all models")), *MODEL_LABELS.items()],
    )
    group_by = forms.ChoiceField(
        label=gettext_lazy("By"),
        choices=[(CHANNEL, gettext_lazy("Channel")), (CAMPAIGN, gettext_lazy("Campaign"))],
    )
    include_sales = forms.BooleanField(
        label=gettext_lazy("Sales activities count as touches"), required=False
    )
    half_life = forms.FloatField(
        label=gettext_lazy("Time decay half-life (days)"),
        min_value=0.01,
        max_value=MAX_HALF_LIFE,
    )

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        today = timezone.localdate()
        return {
            "date_from": today - timedelta(days=DEFAULT_DAYS - 1),
            "date_to": today,
            "basis": WON,
            "model": ALL,
            "group_by": CHANNEL,
            "include_sales": True,
            "half_life": DEFAULT_HALF_LIFE,
        }


def _bound_form(request: HttpRequest) -> AttributionForm:
    """The submitted form; on a first visit, the defaults (the last 90 days, every model)."""
    defaults = AttributionForm.defaults()
    if "date_from" not in request.GET:
        data = {k: str(v) for k, v in defaults.items() if k != "include_sales"}
        data["include_sales"] = "on"
        return AttributionForm(data)
    data = request.GET.copy()
    for key, value in defaults.items():
        if key != "include_sales" and not data.get(key):
            data[key] = str(value)
    return AttributionForm(data)


def _input(data: dict[str, Any]) -> AttributionInput:
    return AttributionInput(
        date_from=data["date_from"],
        date_to=data["date_to"],
        basis=data["basis"],
        models=MODELS if data["model"] == ALL else (data["model"],),
        group_by=data["group_by"],
        include_sales=bool(data["include_sales"]),
        half_life_days=data["half_life"],
    )


def _money(value: float) -> str:
    return number_format(value, 2, force_grouping=True)


def report_context(result: AttributionResult) -> dict[str, Any]:
    """Rows of the table (one per channel, one column per model) and the charts."""
    models = result.models
    if not models:
        return {"result": result, "models": [], "rows": []}
    # Channels in the order of the first model's credit (largest first).
    keys = [c.key for c in models[0].credits]
    by_model = [{c.key: c for c in m.credits} for m in models]
    rows = [
        {
            "key": key,
            "side": by_model[0][key].side,
            "cells": [
                {
                    "value": credits[key].value,
                    "conversions": credits[key].conversions,
                    "percent": credits[key].share * 100,
                    "se": credits[key].value_se,
                }
                for credits in by_model
            ],
        }
        for key in keys
    ]
    chart_keys = [k for k in keys if any(c[k].value > 0 or c[k].conversions > 0 for c in by_model)]
    use_value = result.value > 0
    series = [
        Series(
            m.label,
            MODEL_COLOURS[MODELS.index(m.model) % len(MODEL_COLOURS)],
            [(credits[k].value if use_value else credits[k].conversions) for k in chart_keys],
        )
        for m, credits in zip(models, by_model, strict=True)
    ]
    title = _("Credit by model") if len(models) > 1 else models[0].label
    chart = credit_bars(chart_keys, series, title=title) if chart_keys else ""
    split = split_bars(
        [
            (
                m.label,
                m.marketing_value if use_value else m.marketing_conversions,
                m.sales_value if use_value else m.sales_conversions,
            )
            for m in models
        ],
        title=_("Marketing and sales share of the credit"),
        marketing_label=_("Marketing"),
        sales_label=_("Sales"),
    )
    return {
        "result": result,
        "models": models,
        "rows": rows,
        "chart": chart,
        "split_chart": split,
        "use_value": use_value,
        "totals": [
            {
                "value": m.value,
                "conversions": m.conversions,
                "marketing": m.marketing_value if use_value else m.marketing_conversions,
                "sales": m.sales_value if use_value else m.sales_conversions,
            }
            for m in models
        ],
    }


@page()
def attribution_page(request: HttpRequest) -> HttpResponse:
    form = _bound_form(request)
    context: dict[str, Any] = {"form": form, "report": None}
    status = 200
    if form.is_bound and form.is_valid():
        try:
            result = AttributionRunner(_input(form.cleaned_data)).run()
        except DomainError as exc:
            show_problems(form, exc)
            status = error_status(exc)
        else:
            export = request.GET.get("export")
            if export == "csv":
                return _download(result.to_csv(), "text/csv", "attribution.csv")
            if export == "json":
                return _download(
                    json.dumps(result.as_dict(), indent=2), "application/json", "attribution.json"
                )
            query = {k: v for k, v in request.GET.items() if k != "export"}
            context["report"] = report_context(result)
            context["csv_url"] = f"{request.path}?{urlencode({**query, 'export': 'csv'})}"
            context["json_url"] = f"{request.path}?{urlencode({**query, 'export': 'json'})}"
    elif form.is_bound:
        status = 422
    response = render_page(
        request,
        "web/attribution/page.html",
        context,
        partial="web/attribution/_report.html",
        status=status,
    )
    if request.htmx and form.is_bound:
        query = {k: v for k, v in request.GET.items() if k != "export"}
        push_url(response, f"{request.path}?{urlencode(query)}")
    return response


def _download(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
