"""Reading the definitions in force, compiled once per version."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from smarketing.definitions.choices import Kind
from smarketing.definitions.models import DefinitionVersion


def active_version(kind: str) -> DefinitionVersion | None:
    return DefinitionVersion.objects.active().of(kind).first()


def active_bodies() -> dict[str, DefinitionVersion]:
    return {v.kind: v for v in DefinitionVersion.objects.active()}


def active_ids() -> dict[str, int]:
    return dict(DefinitionVersion.objects.active().values_list("kind", "id"))


@lru_cache(maxsize=32)
def _compiled(scoring_id: int, icp_id: int | None):
    from smarketing.scoring.rules import compile_rule_set

    scoring = DefinitionVersion.objects.get(pk=scoring_id)
    icp = DefinitionVersion.objects.get(pk=icp_id).body if icp_id else None
    return compile_rule_set(scoring.body, icp=icp, version_id=scoring_id)


def compiled_rule_set(scoring_id: int, icp_id: int | None = None):
    """The compiled rule set of a scoring version (cached: versions never change once stored)."""
    return _compiled(scoring_id, icp_id)


def rule_set_in_force():
    """The active scoring rules, or None before any are active."""
    ids = active_ids()
    if Kind.SCORING not in ids:
        return None
    return compiled_rule_set(ids[Kind.SCORING], ids.get(Kind.ICP))


def mql_criteria() -> dict[str, Any] | None:
    version = active_version(Kind.STAGES)
    return (version.body.get("mql") or None) if version else None


def forget_compiled_rule_sets(**kwargs) -> None:
    """Versions never change once stored, but a new version or property may reuse what a cache keyed
    on ids remembers (ids are reused after a rollback), so any new one empties the cache."""
    _compiled.cache_clear()
