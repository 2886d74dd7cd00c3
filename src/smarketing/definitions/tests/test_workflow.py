"""Dual sign-off: a change takes effect only when both heads approve; history and audit are kept."""

from datetime import timedelta
from unittest import mock

import pytest
import yaml
from django.utils import timezone

from smarketing.core.choices import Role
from smarketing.core.errors import Conflict, IllegalTransition, NotAllowed, ValidationFailed
from smarketing.core.models import AuditEntry
from smarketing.core.testing import make_user
from smarketing.definitions import events
from smarketing.definitions.actions import (
    activate_due,
    do_approve,
    do_import_yaml,
    do_propose,
    do_reject,
    do_withdraw,
    export_yaml,
    install_defaults,
    rule_changes,
    text_diff,
)
from smarketing.definitions.defaults import default_bodies
from smarketing.definitions.models import DefinitionVersion
from smarketing.definitions.selectors import active_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def defaults():
    return install_defaults()


def stricter_stages():
    body = dict(default_bodies()["stages"])
    body["mql"] = {**body["mql"], "min_score": 70}
    return body


def test_defaults_install_version_one_of_each_kind(defaults):
    assert sorted((v.kind, v.number, v.status) for v in defaults) == [
        ("icp", 1, "active"),
        ("scoring", 1, "active"),
        ("sla", 1, "active"),
        ("stages", 1, "active"),
    ]
    assert install_defaults() == []  # only once


def test_both_heads_must_approve(defaults, marketing_manager, sales_manager):
    version = do_propose(
        "stages", stricter_stages(), reason="Too many weak MQLs", actor=marketing_manager
    )
    assert version.number == 2 and version.status == "pending"
    version = do_approve(version, actor=marketing_manager)
    assert version.status == "pending" and active_version("stages").number == 1
    with pytest.raises(Conflict):
        do_approve(version, actor=make_user(Role.MARKETING_MANAGER))
    version = do_approve(version, actor=sales_manager)
    assert version.status == "active"
    old = DefinitionVersion.objects.get(kind="stages", number=1)
    assert old.status == "superseded" and old.superseded_at == version.activated_at
    actions = list(
        AuditEntry.objects.filter(object_type="definition", object_id=str(version.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "definition.proposed",
        "definition.approved.marketing",
        "definition.approved.sales",
        "definition.activated",
    ]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SALES_REP, Role.MARKETING])
def test_approval_by_the_wrong_role_is_refused(defaults, marketing_manager, role):
    version = do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    with pytest.raises(NotAllowed):
        do_approve(version, actor=make_user(role))
    version.refresh_from_db()
    assert version.marketing_approved_at is None and version.sales_approved_at is None


def test_sales_rep_cannot_propose(defaults, rep):
    with pytest.raises(NotAllowed):
        do_propose("stages", stricter_stages(), reason="x", actor=rep)


def test_either_head_can_reject_with_a_comment(defaults, marketing_manager, sales_manager):
    version = do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    with pytest.raises(ValidationFailed):
        do_reject(version, comment=" ", actor=sales_manager)
    version = do_reject(version, comment="Halves our pipeline", actor=sales_manager)
    assert version.status == "rejected" and version.rejected_by == sales_manager
    with pytest.raises(IllegalTransition):
        do_approve(version, actor=marketing_manager)
    assert active_version("stages").number == 1


def test_withdraw_by_author_only(defaults, marketing_manager, sales_manager):
    version = do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    with pytest.raises(NotAllowed):
        do_withdraw(version, actor=sales_manager)
    assert do_withdraw(version, actor=marketing_manager).status == "withdrawn"


def test_future_effective_time_waits_for_the_worker(defaults, marketing_manager, sales_manager):
    later = timezone.now() + timedelta(days=2)
    version = do_propose(
        "stages",
        stricter_stages(),
        reason="From next month",
        actor=marketing_manager,
        effective_at=later,
    )
    do_approve(version, actor=marketing_manager)
    version = do_approve(version, actor=sales_manager)
    assert version.status == "approved"
    assert activate_due() == []
    done = activate_due(now=later + timedelta(seconds=1))
    assert [v.pk for v in done] == [version.pk]
    assert active_version("stages").pk == version.pk


def test_invalid_bodies_list_every_problem(defaults, marketing_manager):
    with pytest.raises(ValidationFailed) as exc:
        do_propose(
            "stages",
            {
                "mql": {"min_score": 1000, "min_fit_grade": "Z"},
                "sql": {"activity_outcomes": ["party"]},
            },
            reason="x",
            actor=marketing_manager,
        )
    fields = {p.field for p in exc.value.problems}
    # Capped-per-week rules can add up without limit, so a high score is reachable in time.
    assert fields == {"mql.min_fit_grade", "sql.activity_outcomes"}
    with pytest.raises(ValidationFailed):
        do_propose("stages", stricter_stages(), reason="  ", actor=marketing_manager)
    with pytest.raises(ValidationFailed) as exc:
        do_propose(
            "sla",
            {"sales": {"first_touch_hours": 0, "attempts": 2}},
            reason="x",
            actor=marketing_manager,
        )
    assert {p.field for p in exc.value.problems} == {
        "sales.first_touch_hours",
        "sales.attempts_within_days",
    }


def test_scoring_change_that_strands_the_mql_threshold_is_refused(defaults, marketing_manager):
    body = {
        "fit": {"rules": []},
        "engagement": {
            "rules": [{"id": "demo", "match": {"type": "demo_request"}, "points": 10, "once": True}]
        },
    }
    with pytest.raises(ValidationFailed) as exc:
        do_propose("scoring", body, reason="simplify", actor=marketing_manager)
    assert exc.value.problems[0].field.startswith("stages.mql.")


def test_icp_change_that_breaks_scoring_references_is_refused(defaults, marketing_manager):
    icp = {k: v for k, v in default_bodies()["icp"].items() if k != "industries"}
    with pytest.raises(ValidationFailed) as exc:
        do_propose("icp", icp, reason="broader", actor=marketing_manager)
    assert any(p.field.startswith("scoring.fit.rules") for p in exc.value.problems)


def test_failed_activation_leaves_nothing_half_applied(defaults, marketing_manager, sales_manager):
    version = do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    do_approve(version, actor=marketing_manager)

    def explode(**kwargs):
        raise RuntimeError("rescore failed")

    events.definition_activated.connect(explode, dispatch_uid="explode")
    try:
        with pytest.raises(RuntimeError):
            do_approve(version, actor=sales_manager)
    finally:
        events.definition_activated.disconnect(dispatch_uid="explode")
    version.refresh_from_db()
    assert version.status == "pending" and version.sales_approved_at is None
    assert active_version("stages").number == 1


def test_diffs_and_yaml_round_trip(defaults, marketing_manager, sales_manager):
    scoring = default_bodies()["scoring"]
    changed = yaml.safe_load(yaml.safe_dump(scoring))
    changed["engagement"]["rules"][0]["points"] = 50
    changed["engagement"]["rules"].append(
        {
            "id": "trial",
            "match": {"type": "form_submission", "url": "*/trial*"},
            "points": 25,
            "once": True,
        }
    )
    version = do_propose(
        "scoring", changed, reason="Demo requests matter more", actor=marketing_manager
    )
    changes = {c["rule"]: c["change"] for c in rule_changes(active_version("scoring"), version)}
    assert changes == {"demo_request": "changed", "trial": "added"}
    diff = "\n".join(text_diff(active_version("scoring"), version))
    assert "-    points: 40" in diff and "+    points: 50" in diff
    assert (
        sum(line.startswith(("+ ", "- ")) or line[:1] in "+-" for line in diff.splitlines()[2:])
        < 20
    )
    exported = export_yaml()
    assert yaml.safe_load(exported)["stages"] == default_bodies()["stages"]
    edited = exported.replace("min_score: 60", "min_score: 65")
    proposed = do_import_yaml(edited, reason="from the offsite", actor=marketing_manager)
    assert [(v.kind, v.body["mql"]["min_score"]) for v in proposed] == [("stages", 65)]
    with pytest.raises(ValidationFailed):
        do_import_yaml("stages: [unclosed", reason="x", actor=marketing_manager)
    with pytest.raises(ValidationFailed):
        do_import_yaml("pricing: {}", reason="x", actor=marketing_manager)


def test_activation_failure_in_scoring_cross_check_is_reported(
    defaults, marketing_manager, sales_manager
):
    version = do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    with mock.patch(
        "smarketing.definitions.actions.check_body", side_effect=ValidationFailed("stale")
    ):
        do_approve(version, actor=marketing_manager)
        with pytest.raises(ValidationFailed):
            do_approve(version, actor=sales_manager)
    version.refresh_from_db()
    assert version.status == "pending"
