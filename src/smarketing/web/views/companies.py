"""Companies: list, page with their contacts and deals, create and edit."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from smarketing.core.choices import Capability
from smarketing.crm.actions import do_create_company, do_update_company
from smarketing.crm.choices import ObjectType
from smarketing.crm.models import Company, PropertyDefinition
from smarketing.web.forms import CompanyFilterForm, CompanyForm
from smarketing.web.rendering import done, form_page, page, render_page
from smarketing.web.views.contacts import web_actor

COMPANIES_PER_PAGE = 25
CONTACTS_SHOWN = 20


@page()
def company_list(request: HttpRequest) -> HttpResponse:
    form = CompanyFilterForm(request.GET)
    form.is_valid()
    companies = (
        Company.objects.search(form.cleaned_data.get("q", ""))
        .select_related("owner")
        .annotate(contact_count=Count("contacts"))
        .order_by("name", "id")
    )
    company_page = Paginator(companies, COMPANIES_PER_PAGE).get_page(request.GET.get("page"))
    return render_page(
        request,
        "web/companies/list.html",
        {"form": form, "company_page": company_page},
        partial="web/companies/_results.html",
    )


@page()
def company_options(request: HttpRequest) -> HttpResponse:
    """Suggestions for a company name field (a datalist filled while typing)."""
    text = (request.GET.get("company") or request.GET.get("q") or "").strip()
    companies = Company.objects.search(text).only("name")[:10] if text else []
    return render_page(request, "web/companies/_options.html", {"companies": companies})


@page()
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company.objects.select_related("owner"), pk=pk)
    contacts = company.contacts.select_related("owner").order_by("last_name", "first_name", "id")
    definitions = {
        d.name: d.label for d in PropertyDefinition.objects.filter(object_type=ObjectType.COMPANY)
    }
    context = {
        "company": company,
        "contacts": contacts[:CONTACTS_SHOWN],
        "contact_count": contacts.count(),
        "deals": company.deals.select_related("owner").order_by("-created_at", "-id"),
        "properties": [
            (definitions.get(key, key), value) for key, value in sorted(company.properties.items())
        ],
    }
    return render_page(request, "web/companies/detail.html", context)


def company_form_view(request: HttpRequest, company: Company | None) -> HttpResponse:
    form = CompanyForm(request.POST or None, company=company)

    def save() -> HttpResponse:
        if company is None:
            saved = do_create_company(form.company_data(), actor=web_actor(request))
            message = _("Company %(name)s created.")
        else:
            saved = do_update_company(company, form.company_data(), actor=web_actor(request))
            message = _("Company %(name)s saved.")
        messages.success(request, message % {"name": saved.name})
        return done(request, reverse("web:company", args=[saved.pk]))

    return form_page(
        request,
        form,
        save,
        "web/companies/form.html",
        partial="web/companies/_form.html",
        context={"company": company},
    )


@page(Capability.EDIT_RECORDS)
def company_create(request: HttpRequest) -> HttpResponse:
    return company_form_view(request, None)


@page(Capability.EDIT_RECORDS)
def company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return company_form_view(request, get_object_or_404(Company, pk=pk))
