"""The rejection reasons every install starts with (editable afterwards)."""

from __future__ import annotations

REJECTION_REASONS = [
    ("not_icp", "Not our ideal customer", "disqualify"),
    ("bad_contact_data", "Bad contact data", "disqualify"),
    ("no_budget_authority", "No budget or authority", "nurture"),
    ("competitor", "Competitor", "disqualify"),
    ("student_job_seeker", "Student or job seeker", "disqualify"),
    ("duplicate", "Duplicate", "disqualify"),
    ("not_now", "Not now — nurture", "nurture"),
]


def install_default_reasons(model=None) -> int:
    """Add the default reasons that are missing (by code); returns how many were added.

    `model` is the RejectionReason class to write with (a migration passes its own).
    """
    if model is None:
        from smarketing.handoff.models import RejectionReason as model
    added = 0
    for position, (code, label, outcome) in enumerate(REJECTION_REASONS, start=1):
        _, created = model.objects.get_or_create(
            code=code, defaults={"label": label, "outcome": outcome, "position": position}
        )
        added += created
    return added
