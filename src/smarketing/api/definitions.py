"""Shared definitions over HTTP: versions, the set in force, diffs, proposals and sign-off.

The ICP, the scoring rules, the stage criteria and the SLA are versioned documents
(see docs/definitions.md). Anyone with `read` sees every version; proposing, approving,
rejecting and withdrawing need `write`, and the person's role is checked by the
actions: only a marketing manager and a sales manager approve or reject, and a change
takes effect once both have approved it, at its effective time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field, model_validator

from smarketing.api.auth import READ, WRITE, actor_of, scoped
from smarketing.api.pagination import paginate
from smarketing.api.schemas import Input, Moment, Page, PageQuery, UserRef, responses
from smarketing.core.errors import DomainError, NotFound
from smarketing.definitions.actions import (
    do_approve,
    do_import_yaml,
    do_propose,
    do_reject,
    do_withdraw,
    export_yaml,
    parse_body_yaml,
    rule_changes,
    text_diff,
)
from smarketing.definitions.choices import Kind
from smarketing.definitions.choices import Status as VersionStatus
from smarketing.definitions.models import DefinitionVersion

router = Router(tags=["definitions"])

# A definitions document is a few kilobytes; this leaves room for very long rule sets.
MAX_YAML = 200_000
MAX_REASON = 2000


# --- shapes ----------------------------------------------------------------------------


class ApprovalOut(Schema):
    by: UserRef | None
    at: datetime | None


class RejectionOut(Schema):
    by: UserRef | None
    at: datetime | None
    comment: str


class VersionSummaryOut(Schema):
    id: int
    kind: Kind
    number: int
    label: str = Field(description="e.g. `scoring v3`.")
    status: VersionStatus
    reason: str = Field(description="Why the definition changed, as its author wrote it.")
    author: UserRef | None
    author_label: str = Field(description="Who proposed it, also when no user (installs).")
    created_at: datetime
    effective_at: datetime | None = Field(
        description="When it takes effect once approved; null means on the second approval."
    )
    activated_at: datetime | None
    superseded_at: datetime | None
    based_on: int | None = Field(description="The number of the version in force when proposed.")
    marketing_approval: ApprovalOut | None
    sales_approval: ApprovalOut | None
    rejection: RejectionOut | None

    @staticmethod
    def resolve_based_on(obj: DefinitionVersion) -> int | None:
        return obj.based_on.number if obj.based_on is not None else None

    @staticmethod
    def resolve_marketing_approval(obj: DefinitionVersion) -> dict | None:
        if obj.marketing_approved_at is None:
            return None
        return {"by": obj.marketing_approved_by, "at": obj.marketing_approved_at}

    @staticmethod
    def resolve_sales_approval(obj: DefinitionVersion) -> dict | None:
        if obj.sales_approved_at is None:
            return None
        return {"by": obj.sales_approved_by, "at": obj.sales_approved_at}

    @staticmethod
    def resolve_rejection(obj: DefinitionVersion) -> dict | None:
        if obj.rejected_at is None:
            return None
        return {"by": obj.rejected_by, "at": obj.rejected_at, "comment": obj.rejection_comment}


class VersionOut(VersionSummaryOut):
    body: Any = Field(description="The definition itself (see docs/definitions.md).")
    activation_summary: dict[str, Any] = Field(
        description="What activation did, e.g. the rescore: contacts, promoted, seconds."
    )


class VersionPage(Page):
    items: list[VersionSummaryOut]


class VersionQuery(PageQuery):
    kind: Kind | None = None
    status: VersionStatus | None = None


class ActiveSetOut(Schema):
    icp: VersionOut | None
    scoring: VersionOut | None
    stages: VersionOut | None
    sla: VersionOut | None


class RuleChangeOut(Schema):
    rule: str
    change: str = Field(description="added, removed or changed.")
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class DiffOut(Schema):
    kind: Kind
    old: str | None = Field(description="The older version's label; null against nothing.")
    new: str
    text: list[str] = Field(description="A unified diff of the two versions as YAML.")
    rule_changes: list[RuleChangeOut] = Field(
        description="For scoring rules: each rule added, removed or changed, by rule id."
    )


class DiffQuery(Schema):
    against: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="The version to compare with; by default the one it was based on.",
    )


class ProposalIn(Input):
    body: Any = Field(None, description="The new content as JSON; or send `yaml`.")
    yaml: str | None = Field(
        None,
        max_length=MAX_YAML,
        description="The new content as YAML text (bare, or under the kind's key).",
    )
    reason: str = Field(max_length=MAX_REASON, description="Why it changes (required).")
    effective_at: Moment | None = Field(
        None, description="When it takes effect once approved; by default on approval."
    )

    @model_validator(mode="after")
    def one_content(self) -> ProposalIn:
        if (self.body is None) == (self.yaml is None):
            raise ValueError("send the content either as `body` (JSON) or as `yaml`, not both")
        return self


class ImportIn(Input):
    yaml: str = Field(
        max_length=MAX_YAML,
        description="A definitions document: kinds (icp, scoring, stages, sla) mapped to content.",
    )
    reason: str = Field(max_length=MAX_REASON)
    effective_at: Moment | None = None


class ImportOut(Schema):
    proposed: list[VersionOut] = Field(
        description="One proposal per kind whose content differs from the one in force."
    )


class RejectIn(Input):
    comment: str = Field(max_length=MAX_REASON, description="Why it is rejected (required).")


EXPORT_RESPONSE = {
    "responses": {
        "200": {
            "description": "The definitions in force as one YAML document (what import reads).",
            "content": {
                "application/yaml": {
                    "schema": {
                        "type": "object",
                        "description": "Each kind (icp, scoring, stages, sla) mapped to its content.",
                    }
                }
            },
        }
    }
}


@contextmanager
def located_in_document(content: str) -> Iterator[None]:
    """Problems located where the client sent them: the request's own fields, or a path
    inside the definition (`content`, e.g. `body.body` or `body.yaml`)."""
    own = {"reason", "effective_at", "comment", "yaml"}
    try:
        yield
    except DomainError as exc:
        exc.problems = [
            replace(
                p,
                field=f"body.{p.field}"
                if p.field in own
                else (f"{content}.{p.field}" if p.field and p.field != "kinds" else content),
            )
            for p in exc.problems
        ]
        raise


# --- reads -----------------------------------------------------------------------------


def versions() -> QuerySet[DefinitionVersion]:
    """Versions with the people they show, fetched in the same query."""
    return DefinitionVersion.objects.select_related(
        "author", "marketing_approved_by", "sales_approved_by", "rejected_by", "based_on"
    )


def get_version(kind: str, number: int) -> DefinitionVersion:
    version = versions().filter(kind=kind, number=number).first()
    if version is None:
        raise NotFound(f"There is no version {number} of the {kind} definition.")
    return version


@router.get("/definitions", response=responses({200: VersionPage}), **scoped(READ))
def list_versions(request: HttpRequest, filters: Query[VersionQuery]):
    """Every version of the definitions, newest first; filter by `kind` and `status`."""
    qs = versions().order_by("kind", "-number", "-id")
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return paginate(qs, filters)


@router.get("/definitions/active", response=responses({200: ActiveSetOut}), **scoped(READ))
def active_set(request: HttpRequest):
    """The definitions in force, one per kind (null for a kind with none yet)."""
    active = {v.kind: v for v in versions().active()}
    return {kind: active.get(kind) for kind in Kind.values}


@router.get(
    "/definitions/export",
    response=responses({}),
    auth=scoped(READ)["auth"],
    openapi_extra={**EXPORT_RESPONSE, "x-required-scope": READ},
)
def export_definitions(request: HttpRequest, kind: Query[list[Kind]] = None):  # type: ignore[assignment]
    """The definitions in force as YAML, all kinds or those named by `kind` (repeatable)."""
    text = export_yaml([str(k) for k in kind] if kind else None)
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="definitions.yaml"'
    return response


@router.get(
    "/definitions/{kind}/{number}",
    response=responses({200: VersionOut}, 404),
    **scoped(READ),
)
def get_version_detail(request: HttpRequest, kind: Kind, number: int):
    """One version: its content, reason, author, approvals, status and effective time."""
    return get_version(kind, number)


@router.get(
    "/definitions/{kind}/{number}/diff",
    response=responses({200: DiffOut}, 404),
    **scoped(READ),
)
def diff_versions(request: HttpRequest, kind: Kind, number: int, query: Query[DiffQuery]):
    """What a version changes: a YAML text diff and, for scoring rules, the rules changed.

    Compared with `against`, or by default with the version in force when it was proposed
    (the previous number when there was none).
    """
    new = get_version(kind, number)
    if query.against is not None:
        old = get_version(kind, query.against)
    elif new.based_on is not None:
        old = new.based_on
    else:
        old = versions().filter(kind=kind, number__lt=number).order_by("-number").first()
    return {
        "kind": kind,
        "old": old.label if old else None,
        "new": new.label,
        "text": text_diff(old, new),
        "rule_changes": rule_changes(old, new),
    }


# --- writes ----------------------------------------------------------------------------


@router.post(
    "/definitions/import",
    response=responses({201: ImportOut, 200: ImportOut}, 409),
    **scoped(WRITE),
)
def import_definitions(request: HttpRequest, payload: ImportIn):
    """Propose every definition of a YAML document whose content differs from the one in force.

    All kinds in the document are validated together (new scoring rules may use a list of
    a new ICP); when any is invalid nothing is proposed and every problem is listed.
    """
    with located_in_document("body.yaml"):
        proposed = do_import_yaml(
            payload.yaml,
            reason=payload.reason,
            actor=actor_of(request),
            effective_at=payload.effective_at,
        )
    items = [get_version(v.kind, v.number) for v in proposed]
    return Status(201 if items else 200, {"proposed": items})


@router.post(
    "/definitions/{kind}",
    response=responses({201: VersionOut}, 409),
    **scoped(WRITE),
)
def propose(request: HttpRequest, kind: Kind, payload: ProposalIn):
    """Propose the next version of a definition; it waits for both heads' approval.

    Send the content as JSON (`body`) or as YAML text (`yaml`). Invalid content is refused
    with every problem listed at its path (e.g. `body.body.fit.rules[0].op`).
    """
    where = "body.yaml" if payload.yaml is not None else "body.body"
    with located_in_document(where):
        body = parse_body_yaml(payload.yaml, kind) if payload.yaml is not None else payload.body
        version = do_propose(
            kind,
            body,
            reason=payload.reason,
            actor=actor_of(request),
            effective_at=payload.effective_at,
        )
    return Status(201, get_version(kind, version.number))


@router.post(
    "/definitions/{kind}/{number}/approve",
    response=responses({200: VersionOut}, 404, 409),
    **scoped(WRITE),
)
def approve(request: HttpRequest, kind: Kind, number: int):
    """Give your side's approval (a marketing manager or a sales manager).

    With both approvals the version takes effect: now, or at its effective time.
    """
    version = get_version(kind, number)
    do_approve(version, actor=actor_of(request))
    return get_version(kind, number)


@router.post(
    "/definitions/{kind}/{number}/reject",
    response=responses({200: VersionOut}, 404, 409),
    **scoped(WRITE),
)
def reject(request: HttpRequest, kind: Kind, number: int, payload: RejectIn):
    """Reject a pending or approved change with a comment (a marketing or sales manager)."""
    version = get_version(kind, number)
    with located_in_document("body"):
        do_reject(version, comment=payload.comment, actor=actor_of(request))
    return get_version(kind, number)


@router.post(
    "/definitions/{kind}/{number}/withdraw",
    response=responses({200: VersionOut}, 404, 409),
    **scoped(WRITE),
)
def withdraw(request: HttpRequest, kind: Kind, number: int):
    """Withdraw your own proposal before it takes effect (its author or an admin)."""
    version = get_version(kind, number)
    do_withdraw(version, actor=actor_of(request))
    return get_version(kind, number)
