"""Small template helpers: stage badges, sortable column headers, the navigation section."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import TextChoices
from django.utils.html import format_html
from django.utils.translation import gettext as _

from smarketing.crm.choices import DealStage, Stage

register = template.Library()

# Which navigation entry a page belongs to, by URL name prefix.
SECTIONS = {
    "home": "home",
    "dashboard": "dashboard",
    "claims": "dashboard",
    "goal": "dashboard",
    "scorecard": "dashboard",
    "report_": "reports",
    "attribution": "attribution",
    "queue": "queue",
    "sla_": "sla",
    "routing": "settings",
    "notification": "settings",
    "contact": "contacts",
    "compan": "companies",
    "deal": "deals",
    "campaign": "campaigns",
    "import": "import",
    "playbook": "playbook",
    "definition": "playbook",
    "scoring": "playbook",
    "hot_leads": "hot",
    "setting": "settings",
    "propert": "settings",
    "user": "settings",
    "token": "settings",
}


@register.simple_tag(takes_context=True)
def nav_section(context: template.Context) -> str:
    match = getattr(context.get("request"), "resolver_match", None)
    name = match.url_name if match else ""
    for prefix, section in SECTIONS.items():
        if name and name.startswith(prefix):
            return section
    return ""


def choice_badge(kind: str, choices: type[TextChoices], value: str) -> str:
    """A badge with the value's label, styled by kind and value; an unknown value shows as is."""
    try:
        label = choices(value).label
    except ValueError:
        label = value
    return format_html('<span class="badge {} {}-{}">{}</span>', kind, kind, value, label)


@register.simple_tag
def stage_badge(stage: str) -> str:
    return choice_badge("stage", Stage, stage)


@register.simple_tag
def status_badge(status: str) -> str:
    """A definition version's state."""
    from smarketing.definitions.choices import Status

    return choice_badge("status", Status, status)


@register.simple_tag
def cell_badge(cell: str) -> str:
    """A fit-by-engagement cell (A1 hottest … D4 coldest), coloured by heat."""
    grade, level = (cell[:1], cell[1:]) if cell else ("", "")
    heat = 0
    if grade in "ABCD" and grade and level.isdigit():
        heat = 6 - "ABCD".index(grade) - (int(level) - 1)
    return format_html('<span class="badge cell heat-{}">{}</span>', heat, cell)


@register.simple_tag
def deal_badge(stage: str) -> str:
    return choice_badge("deal", DealStage, stage)


@register.inclusion_tag("web/_sort_header.html", takes_context=True)
def sort_header(context: template.Context, label: str, key: str, target: str) -> dict[str, Any]:
    """A column header that sorts by `key`, toggling ascending/descending."""
    current = context.get("sort") or ""
    if current == key:
        next_sort, direction = f"-{key}", "asc"
    elif current == f"-{key}":
        next_sort, direction = key, "desc"
    else:
        next_sort, direction = key, ""
    return {
        "request": context.get("request"),
        "label": label,
        "next_sort": next_sort,
        "direction": direction,
        "target": target,
    }


@register.filter
def property_display(value: Any) -> str:
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    return "" if value is None else str(value)
