"""The signed-in person's start page and the settings hub."""

from __future__ import annotations

from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse

from smarketing.core.choices import Role
from smarketing.crm.choices import FUNNEL, Stage
from smarketing.crm.models import Activity, Contact, Deal
from smarketing.scoring.selectors import hottest
from smarketing.web.rendering import page, render_page

# How many of a rep's hottest leads the home page lists.
HOME_HOT_LEADS = 5


@page()
def home(request: HttpRequest) -> HttpResponse:
    # One grouped query for the funnel; `.order_by()` drops the default ordering from GROUP BY.
    counts = dict(Contact.objects.order_by().values_list("lifecycle_stage").annotate(n=Count("id")))
    stages = [*FUNNEL, Stage.DISQUALIFIED]
    mine = Contact.objects.owned_by(request.user)
    # Amounts are only summed within one currency.
    open_deals = (
        Deal.objects.open()
        .order_by()
        .values("currency")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("currency")
    )
    context = {
        "stage_counts": [(stage, counts.get(stage.value, 0)) for stage in stages],
        "total_contacts": sum(counts.values()),
        "my_contacts": mine.select_related("company").order_by("-lifecycle_changed_at", "-id")[:10],
        "my_contact_count": mine.count(),
        "recent_contacts": Contact.objects.select_related("owner", "company").order_by(
            "-created_at", "-id"
        )[:10],
        "latest_activities": Activity.objects.select_related("contact", "rep").order_by(
            "-occurred_at", "-id"
        )[:10],
        "open_deals": open_deals,
        "hot_leads": (
            hottest(owner=request.user, limit=HOME_HOT_LEADS)
            if request.user.role == Role.SALES_REP
            else None
        ),
    }
    return render_page(request, "web/home.html", context)


@page()
def settings_index(request: HttpRequest) -> HttpResponse:
    return render_page(request, "web/settings/index.html", {})
