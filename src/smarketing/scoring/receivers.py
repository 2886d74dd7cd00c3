"""Scoring follows the CRM: every stored touch, profile change and stage change."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from smarketing.crm import events as crm_events
from smarketing.crm.models import PropertyDefinition
from smarketing.definitions import events as definition_events
from smarketing.definitions.choices import Kind
from smarketing.definitions.models import DefinitionVersion
from smarketing.definitions.selectors import compiled_rule_set, rule_set_in_force
from smarketing.scoring.actions import promote_qualified, qualifies, snapshot_transitions
from smarketing.scoring.incremental import apply_profiles, apply_touches
from smarketing.scoring.rules import RuleSet


def _enabled() -> bool:
    return getattr(settings, "SMARKETING_SCORE_ON_WRITE", True)


# Attribute on the connection: (rule set, MQL criteria, the on-commit callback marking
# their transaction).
_CACHE = "_smarketing_rules_in_force"


def _definitions_in_force() -> tuple[RuleSet | None, dict | None]:
    """The scoring rules and the MQL criteria in force, read with one query."""
    active = {
        kind: (pk, body)
        for kind, pk, body in DefinitionVersion.objects.active()
        .filter(kind__in=(Kind.SCORING, Kind.ICP, Kind.STAGES))
        .values_list("kind", "id", "body")
    }
    stages = active.get(Kind.STAGES)
    criteria = (stages[1].get("mql") or None) if stages else None
    if Kind.SCORING not in active:
        return None, criteria
    icp = active.get(Kind.ICP)
    return compiled_rule_set(active[Kind.SCORING][0], icp[0] if icp else None), criteria


def _in_force() -> tuple[RuleSet | None, dict | None]:
    """The rules and MQL criteria in force, looked up once per transaction.

    One ingested batch sends several signals (stage changes, profile changes, touches,
    and one per promotion), each needing the rules. The answer is kept on the connection
    for the rest of the transaction: the on-commit callback registered with it marks the
    transaction (Django drops it on commit or rollback, and with a rolled-back savepoint),
    and saving any definition or property forgets it at once.
    """
    if not connection.in_atomic_block:
        return _definitions_in_force()
    cached = getattr(connection, _CACHE, None)
    if cached is not None and any(entry[1] is cached[2] for entry in connection.run_on_commit):
        return cached[0], cached[1]
    rule_set, criteria = _definitions_in_force()

    def forget() -> None:
        setattr(connection, _CACHE, None)

    transaction.on_commit(forget)
    setattr(connection, _CACHE, (rule_set, criteria, forget))
    return rule_set, criteria


def forget_rules_in_force(**kwargs) -> None:
    setattr(connection, _CACHE, None)


for _model in (DefinitionVersion, PropertyDefinition):
    post_save.connect(
        forget_rules_in_force, sender=_model, dispatch_uid=f"scoring-forget-{_model.__name__}"
    )
    post_delete.connect(
        forget_rules_in_force, sender=_model, dispatch_uid=f"scoring-forget-del-{_model.__name__}"
    )


# Attribute on the connection: transitions whose score snapshots wait for the end of a promotion.
_DEFERRED = "_smarketing_deferred_snapshots"


def _promote(rule_set: RuleSet, criteria: dict | None, scores) -> None:
    """Promote the qualified contacts, taking their score snapshots together afterwards.

    Most batches qualify nobody: the criteria are checked here first, so the promotion
    (which reads the criteria again and locks the contacts) only runs for those who do.
    Each promotion announces its stage change on its own; collecting them turns one
    snapshot query and insert per promoted contact into one of each per batch.
    """
    if not criteria:
        return
    now = timezone.now()
    ready = [s for s in scores if qualifies(s, rule_set, criteria, now)]
    if not ready:
        return
    pending: list = []
    setattr(connection, _DEFERRED, pending)
    try:
        promote_qualified(rule_set, ready, now)
    finally:
        setattr(connection, _DEFERRED, None)
    if pending:
        snapshot_transitions(rule_set, pending)


@receiver(crm_events.touches_recorded)
def score_new_touches(sender, touches, **kwargs):
    if not _enabled():
        return
    rule_set, criteria = _in_force()
    if rule_set is None:
        return
    scores = apply_touches(rule_set, touches)
    _promote(rule_set, criteria, scores.values())


@receiver(crm_events.profiles_changed)
def rescore_fit(sender, contact_ids, **kwargs):
    if not _enabled():
        return
    rule_set, criteria = _in_force()
    if rule_set is None:
        return
    scores = apply_profiles(rule_set, contact_ids)
    _promote(rule_set, criteria, scores.values())


@receiver(crm_events.stages_changed)
def snapshot_score(sender, transitions, **kwargs):
    if not _enabled():
        return
    pending = getattr(connection, _DEFERRED, None)
    if pending is not None:
        pending.extend(transitions)
        return
    snapshot_transitions(_in_force()[0], transitions)


@receiver(definition_events.definition_activated)
def rescore_on_activation(sender, version, previous, now, **kwargs):
    """New scoring rules, ICP or MQL criteria: every contact is rescored before the version counts as active."""
    forget_rules_in_force()
    if version.kind not in (Kind.SCORING, Kind.ICP, Kind.STAGES):
        return None
    rule_set = rule_set_in_force()
    if rule_set is None:
        return None
    from smarketing.scoring.bulk import rescore_all

    return rescore_all(
        rule_set, now=now, reason=f"{version.kind} v{version.number} activated"
    ).as_dict()
