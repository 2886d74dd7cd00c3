"""Shared definitions: the playbook, each definition's versions, and proposing, approving and previewing a change.

Everyone reads the playbook and the history. Marketing, the two heads and admins
propose changes; a marketing manager and a sales manager approve or reject them; the
author or an admin withdraws one. The definitions actions enforce all of this (and
raise NotAllowed); the pages only hide the buttons a role cannot use.
"""

from __future__ import annotations

from typing import Any

import yaml
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smarketing.core.choices import Role
from smarketing.core.errors import (
    DomainError,
    FieldProblem,
    NotAllowed,
    NotFound,
    ValidationFailed,
)
from smarketing.crm.choices import FUNNEL, Seniority, Stage
from smarketing.definitions.actions import (
    PROPOSER_ROLES,
    check_body,
    do_approve,
    do_import_yaml,
    do_propose,
    do_reject,
    do_withdraw,
    export_yaml,
    rule_changes,
    text_diff,
    to_yaml,
)
from smarketing.definitions.choices import OPEN_STATUSES, Kind, Status
from smarketing.definitions.models import DefinitionVersion
from smarketing.scoring.backtest import run_backtest
from smarketing.web import playbook_text as words
from smarketing.web.forms import DefinitionsImportForm, ProposalForm, RejectForm
from smarketing.web.rendering import error_status, page, render_page
from smarketing.web.views.backtests import backtest_context
from smarketing.web.views.contacts import web_actor

# The order the playbook reads in: what the stages mean first, the SLA last.
PLAYBOOK_ORDER = (Kind.STAGES, Kind.ICP, Kind.SCORING, Kind.SLA)
PREVIEWABLE = (Kind.SCORING, Kind.STAGES)
FORM_FIELDS = ("reason", "effective_at", "comment")


def kind_or_404(kind: str) -> str:
    if kind not in Kind.values:
        raise Http404(_("There is no such definition."))
    return kind


def can_propose(user: Any) -> bool:
    return user.role in PROPOSER_ROLES


def head_side(user: Any) -> str | None:
    return {Role.MARKETING_MANAGER: "marketing", Role.SALES_MANAGER: "sales"}.get(user.role)


def who(user: Any, label: str = "") -> str:
    if user is not None:
        return user.get_full_name() or user.email
    return label or _("the system")


def version_facts(version: DefinitionVersion) -> dict[str, Any]:
    """What a version page and the playbook say about a version besides its content."""
    return {
        "author": who(version.author, version.author_label),
        "marketing_by": who(version.marketing_approved_by) if version.marketing_approved_at else "",
        "sales_by": who(version.sales_approved_by) if version.sales_approved_at else "",
        "rejected_by": who(version.rejected_by) if version.rejected_at else "",
        "changed_on": version.activated_at or version.created_at,
    }


def read_body(text: str) -> Any:
    """The YAML a person typed, or a validation error that says where it breaks."""
    if not text.strip():
        raise ValidationFailed(
            _("The definition is empty."), [FieldProblem("yaml", _("write the definition here"))]
        )
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = (
            _("line %(line)s, column %(column)s")
            % {"line": mark.line + 1, "column": mark.column + 1}
            if mark
            else ""
        )
        problem = str(getattr(exc, "problem", "") or exc)
        raise ValidationFailed(
            _("The text is not valid YAML."),
            [FieldProblem("yaml", f"{problem} ({where})" if where else problem)],
        ) from None


def split_problems(form: Any, error: DomainError) -> list[FieldProblem]:
    """Problems about the form's own fields go next to them; the rest are listed by path."""
    listed = []
    for problem in error.problems:
        if problem.field in FORM_FIELDS and problem.field in form.fields:
            form.add_error(problem.field, problem.message)
        else:
            listed.append(problem)
    return listed


# --- the playbook ------------------------------------------------------------------------


@page()
def playbook(request: HttpRequest) -> HttpResponse:
    active = {
        v.kind: v
        for v in DefinitionVersion.objects.active().select_related(
            "author", "marketing_approved_by", "sales_approved_by"
        )
    }
    sections = []
    for kind in PLAYBOOK_ORDER:
        version = active.get(kind)
        sections.append(
            {
                "kind": kind,
                "title": Kind(kind).label,
                "version": version,
                "facts": version_facts(version) if version else None,
            }
        )
    icp = active[Kind.ICP].body if Kind.ICP in active else None
    context = {
        "sections": sections,
        "open_changes": DefinitionVersion.objects.filter(status__in=OPEN_STATUSES)
        .select_related("author")
        .order_by("kind", "number"),
        "can_propose": can_propose(request.user),
        **stages_context(active.get(Kind.STAGES)),
        **icp_context(icp),
        **scoring_context(active[Kind.SCORING].body if Kind.SCORING in active else None, icp),
        "sla": words.sla_terms(active[Kind.SLA].body) if Kind.SLA in active else None,
        "sla_body": active[Kind.SLA].body if Kind.SLA in active else None,
    }
    return render_page(request, "web/definitions/playbook.html", context)


def stages_context(version: DefinitionVersion | None) -> dict[str, Any]:
    body = version.body if version else {}
    glossary = body.get("glossary") or {}
    rows = []
    for stage in [*FUNNEL, Stage.DISQUALIFIED]:
        criteria: list[str] = []
        described = ""
        if stage == Stage.MQL:
            criteria = words.mql_words(body.get("mql"))
            described = (body.get("mql") or {}).get("description", "")
        elif stage in (Stage.SAL, Stage.SQL):
            criteria = words.stage_requirements(body.get(stage.value))
            described = (body.get(stage.value) or {}).get("description", "")
        rows.append(
            {
                "stage": stage.value,
                "meaning": glossary.get(stage.value, ""),
                "description": described,
                "criteria": criteria,
            }
        )
    return {"stage_rows": rows, "stages_notes": body.get("notes", "")}


def icp_context(icp: dict[str, Any] | None) -> dict[str, Any]:
    if not icp:
        return {"icp": None}
    seniorities = dict(Seniority.choices)
    facts = []
    if icp.get("industries"):
        facts.append((_("Industries"), ", ".join(icp["industries"])))
    if icp.get("countries"):
        facts.append((_("Countries"), ", ".join(icp["countries"])))
    if icp.get("seniorities"):
        facts.append(
            (_("Seniority"), ", ".join(str(seniorities.get(s, s)) for s in icp["seniorities"]))
        )
    if icp.get("titles"):
        facts.append((_("Titles mention"), ", ".join(icp["titles"])))
    for key, label in (
        ("employee_count", _("Employees")),
        ("annual_revenue", _("Annual revenue")),
    ):
        band = icp.get(key) or {}
        if band:
            facts.append((label, band_words(band)))
    return {"icp": icp, "icp_facts": facts}


def band_words(band: dict[str, Any]) -> str:
    low, high = band.get("min"), band.get("max")
    if low is not None and high is not None:
        return _("%(min)s to %(max)s") % {"min": words.num(low), "max": words.num(high)}
    if low is not None:
        return _("%(min)s or more") % {"min": words.num(low)}
    return _("up to %(max)s") % {"max": words.num(high)}


def scoring_context(body: dict[str, Any] | None, icp: dict[str, Any] | None) -> dict[str, Any]:
    if not body:
        return {"scoring": None}
    fit = body.get("fit") or {}
    engagement = body.get("engagement") or {}
    fit_rules = [
        {
            "id": rule.get("id", ""),
            "label": rule.get("label") or rule.get("id", ""),
            "condition": words.fit_condition(rule, icp),
            "points": words.points(rule.get("points")),
            "negative": float(rule.get("points") or 0) < 0,
        }
        for rule in fit.get("rules") or []
    ]
    engagement_rules = [
        {
            "id": rule.get("id", ""),
            "label": rule.get("label") or rule.get("id", ""),
            "match": words.engagement_match(rule),
            "points": words.points(rule.get("points")),
            "repeat": words.engagement_repeat(rule),
            "negative": float(rule.get("points") or 0) < 0,
        }
        for rule in engagement.get("rules") or []
    ]
    matrix = [
        {
            "grade": grade,
            "cells": [
                {"cell": f"{grade}{level}", "heat": heat(grade, level)} for level in words.LEVELS
            ],
        }
        for grade in words.GRADES
    ]
    return {
        "scoring": body,
        "fit_rules": fit_rules,
        "engagement_rules": engagement_rules,
        "grade_bands": words.grade_bands(fit),
        "level_bands": words.level_bands(engagement),
        "decay": words.decay_words(engagement),
        "matrix": matrix,
    }


def heat(grade: str, level: int) -> int:
    """0 (coldest) to 6 (hottest): how urgent a cell of the fit-by-engagement matrix is."""
    return 6 - words.GRADES.index(grade) - (level - 1)


# --- versions --------------------------------------------------------------------------


@page()
def definition_index(request: HttpRequest) -> HttpResponse:
    return redirect("web:playbook")


@page()
def version_list(request: HttpRequest, kind: str) -> HttpResponse:
    kind = kind_or_404(kind)
    versions = list(
        DefinitionVersion.objects.of(kind)
        .select_related("author", "marketing_approved_by", "sales_approved_by", "rejected_by")
        .order_by("-number")
    )
    for version in versions:
        version.facts = version_facts(version)
    context = {
        "kind": kind,
        "kind_label": Kind(kind).label,
        "versions": versions,
        "can_propose": can_propose(request.user),
        "previewable": kind in PREVIEWABLE,
    }
    return render_page(request, "web/definitions/versions.html", context)


def comparison_base(version: DefinitionVersion) -> DefinitionVersion | None:
    """What a version is read against: the version in force for an open change, else its predecessor."""
    others = DefinitionVersion.objects.of(version.kind).exclude(pk=version.pk)
    if version.status in OPEN_STATUSES or version.status in (Status.REJECTED, Status.WITHDRAWN):
        active = others.active().first()
        if version.status in OPEN_STATUSES and active is not None:
            return active
        return version.based_on or active
    return (
        others.filter(number__lt=version.number, activated_at__isnull=False)
        .order_by("-number")
        .first()
    )


def diff_lines(lines: list[str]) -> list[tuple[str, str]]:
    """Each line of a unified diff with the class that colours it."""
    out = []
    for line in lines:
        if line.startswith(("+++", "---")):
            css = "file"
        elif line.startswith("@@"):
            css = "hunk"
        elif line.startswith("+"):
            css = "add"
        elif line.startswith("-"):
            css = "del"
        else:
            css = "same"
        out.append((css, line))
    return out


def readable_changes(
    base: DefinitionVersion | None, version: DefinitionVersion
) -> list[dict[str, Any]]:
    icp = DefinitionVersion.objects.active().of(Kind.ICP).values_list("body", flat=True).first()
    rows = []
    for change in rule_changes(base, version):
        before, after = change.get("before") or {}, change.get("after") or {}
        rule = after or before
        rows.append(
            {
                "rule": change["rule"],
                "change": change["change"],
                "section": rule.get("section", ""),
                "label": rule.get("label") or change["rule"],
                "before": words.rule_summary(before, icp) if before else "",
                "after": words.rule_summary(after, icp) if after else "",
                "keys": words.key_changes(before, after) if before and after else [],
            }
        )
    return rows


def version_context(
    request: HttpRequest, version: DefinitionVersion, reject_form: RejectForm | None = None
) -> dict[str, Any]:
    user = request.user
    base = comparison_base(version)
    side = head_side(user)
    is_open = version.status in OPEN_STATUSES
    own_side_done = side is not None and getattr(version, f"{side}_approved_at") is not None
    return {
        "kind": version.kind,
        "kind_label": Kind(version.kind).label,
        "version": version,
        "facts": version_facts(version),
        "base": base,
        "diff": diff_lines(text_diff(base, version)),
        "changes": readable_changes(base, version) if version.kind == Kind.SCORING else [],
        "yaml": to_yaml(version.body),
        "can_approve": side is not None and version.status == Status.PENDING and not own_side_done,
        "own_side_done": own_side_done,
        "can_reject": side is not None and is_open,
        "can_withdraw": is_open and (user.pk == version.author_id or user.role == Role.ADMIN),
        "can_propose": can_propose(user),
        "reject_form": reject_form or RejectForm(),
    }


def get_version(kind: str, number: int) -> DefinitionVersion:
    return get_object_or_404(
        DefinitionVersion.objects.select_related(
            "author", "marketing_approved_by", "sales_approved_by", "rejected_by", "based_on"
        ),
        kind=kind_or_404(kind),
        number=number,
    )


@page()
def version_detail(request: HttpRequest, kind: str, number: int) -> HttpResponse:
    version = get_version(kind, number)
    return render_page(request, "web/definitions/version.html", version_context(request, version))


def version_url(version: DefinitionVersion) -> str:
    return reverse("web:definition_version", args=[version.kind, version.number])


@require_POST
@page()
def version_approve(request: HttpRequest, kind: str, number: int) -> HttpResponse:
    version = get_version(kind, number)
    try:
        version = do_approve(version, actor=web_actor(request))
    except (NotAllowed, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(version_url(version))
    if version.status == Status.ACTIVE:
        messages.success(
            request, _("Version %(number)s is now in force.") % {"number": version.number}
        )
    elif version.status == Status.APPROVED:
        messages.success(
            request,
            _("Both heads approved: version %(number)s takes effect on %(when)s.")
            % {
                "number": version.number,
                "when": date_format(localtime(version.effective_at), "DATETIME_FORMAT"),
            },
        )
    else:
        messages.success(request, _("Your approval is recorded; the other head's is still needed."))
    return redirect(version_url(version))


@require_POST
@page()
def version_reject(request: HttpRequest, kind: str, number: int) -> HttpResponse:
    version = get_version(kind, number)
    form = RejectForm(request.POST)
    form.is_valid()
    try:
        do_reject(version, comment=form.cleaned_data.get("comment", ""), actor=web_actor(request))
    except (NotAllowed, NotFound):
        raise
    except ValidationFailed as exc:
        for problem in split_problems(form, exc):
            form.add_error(None, f"{problem.field}: {problem.message}")
        form.add_error(None, exc.message)
        return render_page(
            request,
            "web/definitions/version.html",
            version_context(request, version, reject_form=form),
            status=422,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(version_url(version))
    messages.success(request, _("Version %(number)s rejected.") % {"number": version.number})
    return redirect(version_url(version))


@require_POST
@page()
def version_withdraw(request: HttpRequest, kind: str, number: int) -> HttpResponse:
    version = get_version(kind, number)
    try:
        do_withdraw(version, actor=web_actor(request))
    except (NotAllowed, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(version_url(version))
    messages.success(request, _("Version %(number)s withdrawn.") % {"number": version.number})
    return redirect(version_url(version))


# --- proposing a change, with a preview on history ----------------------------------------


def proposal_context(
    request: HttpRequest,
    kind: str,
    form: ProposalForm,
    problems: list[FieldProblem] | None = None,
    preview: dict[str, Any] | None = None,
    error: str = "",
) -> dict[str, Any]:
    active = DefinitionVersion.objects.active().of(kind).first()
    return {
        "kind": kind,
        "kind_label": Kind(kind).label,
        "form": form,
        "active": active,
        "error": error,
        "problems": problems or [],
        "previewable": kind in PREVIEWABLE,
        "preview": preview,
    }


def starting_text(kind: str, source: str | None) -> str:
    """The editor starts from the version in force, or from `?from=N` (e.g. to rework a rejected one)."""
    versions = DefinitionVersion.objects.of(kind)
    version = None
    if source and source.isdigit():
        version = versions.filter(number=int(source)).first()
    version = version or versions.active().first()
    return to_yaml(version.body) if version else ""


@page()
def propose(request: HttpRequest, kind: str) -> HttpResponse:
    kind = kind_or_404(kind)
    if not can_propose(request.user):
        raise NotAllowed(
            _("Only marketing, the two heads and admins may propose changes to shared definitions.")
        )
    if request.method != "POST":
        form = ProposalForm(initial={"body": starting_text(kind, request.GET.get("from"))})
        return render_page(
            request, "web/definitions/propose.html", proposal_context(request, kind, form)
        )
    form = ProposalForm(request.POST)
    problems: list[FieldProblem] = []
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            body = read_body(data["body"])
            # Every problem at once: the text, the reason and the effective time.
            check_body(kind, body)
            version = do_propose(
                kind,
                body,
                reason=data["reason"],
                actor=web_actor(request),
                effective_at=data["effective_at"],
            )
        except (NotAllowed, NotFound):
            raise
        except DomainError as exc:
            problems = split_problems(form, exc)
            error = exc.message if problems else ""
            if not (data["reason"] or "").strip() and "reason" not in form.errors:
                form.add_error("reason", _("Say why the definition changes."))
            status = error_status(exc)
        else:
            messages.success(
                request,
                _("Version %(number)s proposed: it takes effect once both heads approve it.")
                % {"number": version.number},
            )
            return redirect(version_url(version))
    else:
        status = 422
    return render_page(
        request,
        "web/definitions/propose.html",
        proposal_context(request, kind, form, problems, error=error),
        status=status,
    )


@require_POST
@page()
def preview(request: HttpRequest, kind: str) -> HttpResponse:
    """Replay history with the draft in the editor: htmx gets the results panel, a plain post the page."""
    kind = kind_or_404(kind)
    if kind not in PREVIEWABLE:
        raise Http404(_("Only scoring rules and stage criteria can be previewed."))
    if not can_propose(request.user):
        raise NotAllowed(_("Your role does not allow previews of definition changes."))
    form = ProposalForm(request.POST)
    form.is_valid()
    months = form.cleaned_data.get("months") or 6
    status = 200
    try:
        body = read_body(form.cleaned_data.get("body", ""))
        if kind == Kind.SCORING:
            result = run_backtest(body, months=months)
        else:
            result = run_backtest(None, draft_stages=body, months=months)
    except (NotAllowed, NotFound):
        raise
    except DomainError as exc:
        outcome: dict[str, Any] = {"error": exc.message, "problems": exc.problems}
        status = error_status(exc)
    else:
        outcome = backtest_context(result, draft_label=draft_label(kind))
    if request.htmx:
        return render_page(
            request,
            "web/definitions/propose.html",
            {"bt": outcome},
            partial="web/scoring/_backtest_result.html",
            status=status,
        )
    context = proposal_context(request, kind, form, preview=outcome)
    return render_page(request, "web/definitions/propose.html", context, status=status)


def draft_label(kind: str) -> str:
    return _("Draft rules") if kind == Kind.SCORING else _("Draft criteria")


# --- YAML export and import -------------------------------------------------------------


@page()
def export(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or ""
    kinds = [kind_or_404(kind)] if kind else None
    response = HttpResponse(export_yaml(kinds), content_type="application/yaml; charset=utf-8")
    name = f"smarketing-{kind}.yaml" if kind else "smarketing-definitions.yaml"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@page()
def import_definitions(request: HttpRequest) -> HttpResponse:
    if not can_propose(request.user):
        raise NotAllowed(
            _("Only marketing, the two heads and admins may propose changes to shared definitions.")
        )
    form = DefinitionsImportForm(request.POST or None, request.FILES or None)
    problems: list[FieldProblem] = []
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                text = data["file"].read().decode("utf-8")
            except UnicodeDecodeError:
                form.add_error("file", _("The file is not UTF-8 text."))
            else:
                try:
                    proposed = do_import_yaml(
                        text,
                        reason=data["reason"],
                        actor=web_actor(request),
                        effective_at=data["effective_at"],
                    )
                except (NotAllowed, NotFound):
                    raise
                except DomainError as exc:
                    problems = split_problems(form, exc)
                    form.add_error(None, exc.message)
                    status = error_status(exc)
                else:
                    if proposed:
                        messages.success(
                            request,
                            _("Proposed: %(versions)s. Each needs both heads' approval.")
                            % {
                                "versions": ", ".join(
                                    f"{Kind(v.kind).label} v{v.number}" for v in proposed
                                )
                            },
                        )
                    else:
                        messages.info(
                            request, _("Nothing in the file differs from the definitions in force.")
                        )
                    return redirect("web:playbook")
    return render_page(
        request,
        "web/definitions/import.html",
        {"form": form, "problems": problems},
        status=status,
    )
