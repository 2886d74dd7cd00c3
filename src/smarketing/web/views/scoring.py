"""Scores on the pages: the hottest-leads list and the score panel of the contact page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django_htmx.http import push_url

from smarketing.core.choices import Role
from smarketing.crm.choices import Stage
from smarketing.crm.models import Contact
from smarketing.definitions.selectors import rule_set_in_force
from smarketing.scoring.selectors import explain, hottest
from smarketing.web import playbook_text as words
from smarketing.web.charts import Point, line_chart
from smarketing.web.forms import HotLeadsForm
from smarketing.web.rendering import page, render_page

HOT_LIMIT = 25
RISING_DAYS = 7
# Points drawn between two touches, so the decay between them shows as a curve.
DECAY_STEPS = 6


def hot_owner(user: Any) -> Any:
    """Reps see their own leads and unassigned ones; everyone else sees all."""
    return user if user.role == Role.SALES_REP else None


@page()
def hot_leads(request: HttpRequest) -> HttpResponse:
    form = HotLeadsForm(request.GET)
    form.is_valid()
    by = form.cleaned_data.get("by") or "score"
    leads = hottest(owner=hot_owner(request.user), by=by, days=RISING_DAYS, limit=HOT_LIMIT)
    context = {
        "form": form,
        "by": by,
        "leads": leads,
        "scoring_active": bool(leads) or rule_set_in_force() is not None,
        "mine_only": hot_owner(request.user) is not None,
    }
    response = render_page(
        request, "web/scoring/hot.html", context, partial="web/scoring/_hot_results.html"
    )
    if request.htmx:
        push_url(response, f"{request.path}?by={by}" if by != "score" else request.path)
    return response


def score_panel(contact: Contact) -> dict[str, Any]:
    """What the contact page shows about a score: breakdown, chart and snapshots."""
    rule_set = rule_set_in_force()
    explanation = explain(contact, rule_set=rule_set) if rule_set is not None else None
    if explanation is None:
        return {"active": False}
    snapshots = [
        {
            **snapshot,
            "total": snapshot["fit"] + snapshot["engagement"],
            "stage_label": Stage(snapshot["stage"]).label
            if snapshot["stage"] in Stage.values
            else snapshot["reason"],
        }
        for snapshot in explanation.snapshots
    ]
    marks = [(s["at"], "MQL") for s in snapshots if s["stage"] == Stage.MQL]
    chart = line_chart(
        curve(rule_set, explanation.history),
        title=_("Score over time"),
        threshold=explanation.mql_threshold,
        threshold_label=(
            _("MQL threshold %(score)s") % {"score": words.num(explanation.mql_threshold)}
            if explanation.mql_threshold is not None
            else ""
        ),
        marks=marks,
    )
    return {
        "active": True,
        "explanation": explanation,
        "fit_rules": [
            {**rule, "points_text": words.points(rule["points"]), "negative": rule["points"] < 0}
            for rule in explanation.fit_rules
        ],
        "engagement_rules": explanation.engagement_rules,
        "decay": words.decay_of(rule_set),
        "chart": chart,
        "snapshots": snapshots,
        "became_mql": [
            _("Became an MQL on %(when)s with a score of %(score)s (%(cell)s).")
            % {
                "when": date_format(localtime(s["at"]), "DATETIME_FORMAT"),
                "score": words.num(round(s["total"])),
                "cell": s["cell"],
            }
            for s in snapshots
            if s["stage"] == Stage.MQL
        ],
    }


def curve(rule_set: Any, history: list[dict[str, Any]]) -> list[Point]:
    """The score just after each touch, with the decay between touches drawn in steps."""
    points: list[Point] = []
    for i, moment in enumerate(history):
        if points and rule_set.half_life_days is not None:
            previous = history[i - 1]
            gap = moment["at"] - previous["at"]
            fit = previous["total"] - previous["engagement"]
            for step in range(1, DECAY_STEPS + 1):
                at = previous["at"] + gap * step / (DECAY_STEPS + 1)
                age = (at - previous["at"]).total_seconds() / 86400
                points.append(Point(at, fit + previous["engagement"] * rule_set.decay_factor(age)))
            if gap > timedelta(0):
                # Just before the touch: the decayed value, then the jump it gave.
                age = gap.total_seconds() / 86400
                points.append(
                    Point(
                        moment["at"] - timedelta(microseconds=1),
                        fit + previous["engagement"] * rule_set.decay_factor(age),
                    )
                )
        points.append(Point(moment["at"], moment["total"]))
    return points
