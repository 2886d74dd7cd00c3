"""Every allowed and forbidden lifecycle move, and the history each one leaves."""

from datetime import timedelta

import pytest
from django.utils import timezone

from smarketing.core.actors import SYSTEM, Actor
from smarketing.core.errors import IllegalTransition, NotAllowed, ValidationFailed
from smarketing.core.testing import make_contact, make_user
from smarketing.crm.actions import do_assign_owner, do_change_stage, transition_kind
from smarketing.crm.models import Contact, LifecycleTransition, OwnerChange

STAGES = [
    "subscriber",
    "lead",
    "mql",
    "sal",
    "sql",
    "opportunity",
    "customer",
    "evangelist",
    "disqualified",
]

# The table written out by hand: F forward, R recycle (reason), D disqualify (reason), . forbidden.
#             sub  lead mql  sal  sql  opp  cust evan disq
TABLE = {
    "subscriber": "  .    F    F    F    F    F    F    F    D",
    "lead": "        .    .    F    F    F    F    F    F    D",
    "mql": "         .    R    .    F    F    F    F    F    D",
    "sal": "         .    R    .    .    F    F    F    F    D",
    "sql": "         .    R    .    .    .    F    F    F    D",
    "opportunity": " .    R    .    .    .    .    F    F    D",
    "customer": "    .    .    .    .    .    .    .    F    .",
    "evangelist": "  .    .    .    .    .    .    .    .    .",
    "disqualified": ".    R    .    .    .    .    .    .    .",
}
KIND = {"F": "forward", "R": "recycle", "D": "disqualify"}
CASES = [
    (source, target, TABLE[source].split()[i])
    for source in STAGES
    for i, target in enumerate(STAGES)
]


@pytest.mark.parametrize(("source", "target", "mark"), CASES)
def test_transition_table(source, target, mark):
    if mark == ".":
        with pytest.raises(IllegalTransition):
            transition_kind(source, target)
    else:
        assert transition_kind(source, target) == KIND[mark]


def test_unknown_stage_is_a_validation_error():
    with pytest.raises(ValidationFailed) as exc:
        transition_kind("lead", "hot")
    assert exc.value.problems[0].field == "stage"


@pytest.mark.django_db
def test_forward_move_appends_history_with_actor_and_reason(rep):
    contact = make_contact(stage="lead")
    row = do_change_stage(contact, "mql", actor=Actor(user=rep, rule="web"), reason="score 72")
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "mql"
    assert contact.lifecycle_changed_at == row.at
    history = list(
        LifecycleTransition.objects.filter(contact=contact).values_list(
            "from_stage", "to_stage", "actor", "rule", "reason"
        )
    )
    assert history == [
        ("", "lead", None, "system", "created"),
        ("lead", "mql", rep.pk, "web", "score 72"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["lead", "disqualified"])
def test_recycle_and_disqualify_need_a_reason(target):
    contact = make_contact(stage="sal")
    with pytest.raises(ValidationFailed) as exc:
        do_change_stage(contact, target, actor=SYSTEM, reason="  ")
    assert exc.value.problems[0].field == "reason"
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "sal"
    assert LifecycleTransition.objects.filter(contact=contact).count() == 1


@pytest.mark.django_db
def test_recycled_contact_keeps_its_whole_history():
    contact = make_contact(stage="mql")
    do_change_stage(contact, "sal", actor=SYSTEM)
    do_change_stage(contact, "lead", actor=SYSTEM, reason="not now — nurture")
    do_change_stage(contact, "mql", actor=SYSTEM)
    stages = list(contact.transitions.values_list("to_stage", flat=True))
    assert stages == ["mql", "sal", "lead", "mql"]
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "mql"


@pytest.mark.django_db
def test_backwards_move_is_refused_and_nothing_is_written():
    contact = make_contact(stage="sql")
    with pytest.raises(IllegalTransition):
        do_change_stage(contact, "mql", actor=SYSTEM)
    assert contact.transitions.count() == 1


@pytest.mark.django_db
def test_stage_change_cannot_predate_the_previous_one_or_be_in_the_future():
    contact = make_contact(stage="lead")
    with pytest.raises(ValidationFailed):
        do_change_stage(
            contact, "mql", actor=SYSTEM, at=contact.lifecycle_changed_at - timedelta(days=1)
        )
    with pytest.raises(ValidationFailed):
        do_change_stage(contact, "mql", actor=SYSTEM, at=timezone.now() + timedelta(days=1))
    do_change_stage(
        contact, "mql", actor=SYSTEM, at=contact.lifecycle_changed_at + timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_owner_changes_are_history(rep, sales_manager):
    contact = make_contact()
    do_assign_owner(contact, rep, actor=Actor(user=sales_manager, rule="web"), reason="territory")
    other = make_user("sales_rep")
    do_assign_owner(contact, other, actor=sales_manager, reason="rebalance")
    rows = list(
        OwnerChange.objects.filter(contact=contact).values_list("from_owner", "to_owner", "reason")
    )
    assert rows == [(None, rep.pk, "territory"), (rep.pk, other.pk, "rebalance")]
    assert do_assign_owner(contact, other, actor=sales_manager) is None  # no-op, no row


@pytest.mark.django_db
def test_rep_cannot_take_a_colleagues_contact(rep):
    colleague = make_user("sales_rep")
    contact = make_contact(owner=colleague)
    with pytest.raises(NotAllowed):
        do_assign_owner(contact, rep, actor=rep)
    assert Contact.objects.get(pk=contact.pk).owner == colleague


@pytest.mark.django_db
def test_inactive_user_cannot_own_contacts(rep, admin_user):
    from smarketing.core.actions import do_set_user_active

    do_set_user_active(rep, False, actor=admin_user)
    with pytest.raises(ValidationFailed):
        do_assign_owner(make_contact(), rep, actor=admin_user)
