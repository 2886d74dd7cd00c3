"""Scoring follows the CRM: every stored touch, profile change and stage change."""

from __future__ import annotations

from django.conf import settings
from django.dispatch import receiver

from smarketing.crm import events as crm_events
from smarketing.definitions import events as definition_events
from smarketing.definitions.choices import Kind
from smarketing.definitions.selectors import rule_set_in_force
from smarketing.scoring.actions import promote_qualified, snapshot_transitions
from smarketing.scoring.incremental import apply_profiles, apply_touches


def _enabled() -> bool:
    return getattr(settings, "SMARKETING_SCORE_ON_WRITE", True)


@receiver(crm_events.touches_recorded)
def score_new_touches(sender, touches, **kwargs):
    if not _enabled():
        return
    rule_set = rule_set_in_force()
    if rule_set is None:
        return
    scores = apply_touches(rule_set, touches)
    promote_qualified(rule_set, scores.values())


@receiver(crm_events.profiles_changed)
def rescore_fit(sender, contact_ids, **kwargs):
    if not _enabled():
        return
    rule_set = rule_set_in_force()
    if rule_set is None:
        return
    scores = apply_profiles(rule_set, contact_ids)
    promote_qualified(rule_set, scores.values())


@receiver(crm_events.stages_changed)
def snapshot_score(sender, transitions, **kwargs):
    if not _enabled():
        return
    snapshot_transitions(rule_set_in_force(), transitions)


@receiver(definition_events.definition_activated)
def rescore_on_activation(sender, version, previous, now, **kwargs):
    """New scoring rules, ICP or MQL criteria: every contact is rescored before the version counts as active."""
    if version.kind not in (Kind.SCORING, Kind.ICP, Kind.STAGES):
        return None
    rule_set = rule_set_in_force()
    if rule_set is None:
        return None
    from smarketing.scoring.bulk import rescore_all

    return rescore_all(
        rule_set, now=now, reason=f"{version.kind} v{version.number} activated"
    ).as_dict()
