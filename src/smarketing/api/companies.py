"""Companies: list/search and CRUD."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from smarketing.api.auth import READ, WRITE, actor_of, scoped
from smarketing.api.errors import located
from smarketing.api.pagination import owner_filter, paginate, sort_by
from smarketing.api.schemas import (
    CompanyCreate,
    CompanyOut,
    CompanyPage,
    CompanyQuery,
    CompanyUpdate,
    responses,
)
from smarketing.core.errors import NotFound
from smarketing.crm.actions import do_create_company, do_delete_company, do_update_company
from smarketing.crm.models import Company
from smarketing.crm.querysets import CompanyQuerySet

router = Router(tags=["companies"])

COMPANY_SORTS = {"name": "name", "created": "created_at", "updated": "updated_at"}


def companies() -> CompanyQuerySet:
    return Company.objects.select_related("owner")


def get_company(company_id: int) -> Company:
    company = companies().filter(pk=company_id).first()
    if company is None:
        raise NotFound(f"No company with id {company_id}.")
    return company


@router.get("/companies", response=responses({200: CompanyPage}), **scoped(READ))
def list_companies(request: HttpRequest, filters: Query[CompanyQuery]):
    """Companies matching the filters, one page at a time."""
    qs: QuerySet[Company] = companies().search(filters.q)
    if filters.industry:
        qs = qs.filter(industry__iexact=filters.industry)
    if filters.country:
        qs = qs.filter(country__iexact=filters.country)
    with located("query"):
        qs = owner_filter(qs, filters.owner)
        qs = sort_by(qs, filters.sort, COMPANY_SORTS)
    return paginate(qs, filters)


@router.post("/companies", response=responses({201: CompanyOut}, 409), **scoped(WRITE))
def create_company(request: HttpRequest, payload: CompanyCreate):
    with located("body"):
        company = do_create_company(payload.model_dump(exclude_unset=True), actor=actor_of(request))
    return Status(201, get_company(company.pk))


@router.get("/companies/{company_id}", response=responses({200: CompanyOut}, 404), **scoped(READ))
def get_company_detail(request: HttpRequest, company_id: int):
    return get_company(company_id)


@router.patch(
    "/companies/{company_id}", response=responses({200: CompanyOut}, 404, 409), **scoped(WRITE)
)
def update_company(request: HttpRequest, company_id: int, payload: CompanyUpdate):
    """Change the fields sent; `null` clears one."""
    company = get_company(company_id)
    with located("body"):
        do_update_company(company, payload.model_dump(exclude_unset=True), actor=actor_of(request))
    return get_company(company_id)


@router.delete(
    "/companies/{company_id}", response=responses({204: None}, 404, 409), **scoped(WRITE)
)
def delete_company(request: HttpRequest, company_id: int, reason: Query[str] = ""):
    """Delete a company without contacts or deals (managers and admins); it goes into the audit log."""
    do_delete_company(get_company(company_id), actor=actor_of(request), reason=reason[:300])
    return Status(204, None)
