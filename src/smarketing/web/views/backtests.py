"""Backtests: replay history with draft scoring rules or MQL criteria, next to the ones in force.

The editor's "Preview on history" button and the standalone backtest page both run
`run_backtest` and render the same results panel (figures side by side, by source and
campaign, and the lift-by-decile chart).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from smarketing.core.errors import DomainError, NotAllowed, NotFound
from smarketing.definitions.actions import to_yaml
from smarketing.definitions.selectors import active_version
from smarketing.scoring.backtest import BacktestResult, Breakdown, SideResult, run_backtest
from smarketing.web import playbook_text as words
from smarketing.web.charts import ACTIVE_COLOUR, DRAFT_COLOUR, Series, bar_chart
from smarketing.web.forms import BacktestForm
from smarketing.web.rendering import error_status, page, render_page

# The runner's notes, in the reader's language.
NOTES = {
    "Fit uses today's profiles; profile changes during the window are not replayed.": (
        lambda: _("Fit uses today's profiles; profile changes during the window are not replayed.")
    ),
}


def percent(share: float) -> str:
    return _("%(value)s%%") % {"value": number_format(share * 100, 0)}


def criteria_words(side: SideResult) -> str:
    parts = [_("score ≥ %(score)s") % {"score": words.num(side.threshold)}]
    if side.min_fit_grade:
        parts.append(_("fit grade %(grade)s or better") % {"grade": side.min_fit_grade})
    if side.min_engagement:
        parts.append(_("engagement ≥ %(points)s") % {"points": words.num(side.min_engagement)})
    return ", ".join(parts)


def suggestion_words(side: SideResult) -> str:
    if side.suggested_threshold is None:
        return "—"
    return _("%(score)s (precision %(precision)s, recall %(recall)s)") % {
        "score": words.num(side.suggested_threshold),
        "precision": percent(side.suggested_precision),
        "recall": percent(side.suggested_recall),
    }


def merged(
    draft: list[Breakdown], active: list[Breakdown] | None
) -> list[tuple[str, int, Breakdown | None, Breakdown | None]]:
    """One row per source or campaign: (label, contacts, draft figures, active figures)."""
    by_key = {b.key: b for b in active or []}
    rows = [(b.label, b.contacts, b, by_key.pop(b.key, None)) for b in draft]
    rows += [(b.label, b.contacts, None, b) for b in by_key.values()]
    return rows


def backtest_context(result: BacktestResult, *, draft_label: str) -> dict[str, Any]:
    draft, active = result.draft, result.active
    sides = [draft, active] if active else [draft]

    def row(label: str, value: Any) -> dict[str, Any]:
        return {"label": label, "values": [value(side) for side in sides]}

    figures = [
        row(_("MQLs it would have made"), lambda s: words.num(s.mqls)),
        row(_("… accepted by sales"), lambda s: words.num(s.accepted)),
        row(_("… became SQL"), lambda s: words.num(s.sql)),
        row(_("… won"), lambda s: words.num(s.won)),
        row(_("Precision (won ÷ MQLs)"), lambda s: percent(s.precision)),
        row(_("Recall (share of won deals caught)"), lambda s: percent(s.recall)),
        row(_("MQL criteria"), criteria_words),
        row(_("Suggested threshold"), suggestion_words),
    ]
    deciles = [str(d.decile) for d in draft.deciles]
    series = [Series(draft_label, DRAFT_COLOUR, [d.lift for d in draft.deciles])]
    if active:
        lifts = {d.decile: d.lift for d in active.deciles}
        series.append(
            Series(_("In force"), ACTIVE_COLOUR, [lifts.get(d.decile, 0.0) for d in draft.deciles])
        )
    chart = (
        bar_chart(
            deciles,
            series,
            title=_("Lift by score decile"),
            value_label="{}\u00d7",
            baseline=1.0,
            baseline_label=_("average"),
            axis_label=_("Score decile (1 = highest scores)"),
        )
        if deciles
        else ""
    )
    return {
        "result": result,
        "draft_label": draft_label,
        "active_label": active.label if active else "",
        "sides": sides,
        "figures": figures,
        "lift_chart": chart,
        "deciles": [
            (d, active.deciles[i] if active and i < len(active.deciles) else None)
            for i, d in enumerate(draft.deciles)
        ],
        "by_source": merged(draft.by_source, active.by_source if active else None),
        "by_campaign": merged(draft.by_campaign, active.by_campaign if active else None),
        "notes": [NOTES[n]() if n in NOTES else n for n in result.notes],
    }


@page()
def backtest_page(request: HttpRequest) -> HttpResponse:
    """The standalone what-if page: a draft rule set (and criteria) against the last N months."""
    from smarketing.web.views.definitions import can_propose, read_body

    if not can_propose(request.user):
        raise NotAllowed(_("Your role does not allow backtests."))
    outcome: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        form = BacktestForm(request.POST)
        form.is_valid()
        data = form.cleaned_data
        try:
            scoring = read_body(data["scoring"]) if data.get("scoring", "").strip() else None
            stages = read_body(data["stages"]) if data.get("stages", "").strip() else None
            result = run_backtest(scoring, draft_stages=stages, months=data.get("months") or 6)
        except (NotAllowed, NotFound):
            raise
        except DomainError as exc:
            outcome = {"error": exc.message, "problems": exc.problems}
            status = error_status(exc)
        else:
            label = _("Draft rules") if scoring is not None else _("Draft criteria")
            outcome = backtest_context(result, draft_label=label)
    else:
        scoring_version = active_version("scoring")
        form = BacktestForm(
            initial={"scoring": to_yaml(scoring_version.body) if scoring_version else ""}
        )
    if outcome is not None and request.htmx:
        return render_page(
            request,
            "web/scoring/backtest.html",
            {"bt": outcome},
            partial="web/scoring/_backtest_result.html",
            status=status,
        )
    return render_page(
        request,
        "web/scoring/backtest.html",
        {"form": form, "preview": outcome},
        status=status,
    )
