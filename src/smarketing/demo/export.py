"""The demo company's contacts as a CSV file, without touching the database.

Used to measure the importer on a realistic file: the same people, companies, owners,
sources and current stages that `generate` would load, in the importer's own column
names plus two columns that become custom properties.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from smarketing.core.choices import Role
from smarketing.crm.choices import Stage
from smarketing.demo.loader import reference_now, staff_emails
from smarketing.demo.stories import StoryTeller

CONTACT_COLUMNS = [
    "email",
    "first_name",
    "last_name",
    "job_title",
    "seniority",
    "phone",
    "country",
    "company",
    "company_domain",
    "owner",
    "original_source",
    "source_detail",
    "lifecycle_stage",
    "lifecycle_reason",
    "lead_status",
    "created_at",
    "preferred_language",
    "newsletter_opt_in",
]


def write_contacts_csv(
    path: str | Path,
    contacts: int,
    *,
    seed: int = 42,
    now: datetime | None = None,
    reps: int = 5,
    progress: Callable[[int], Any] | None = None,
) -> int:
    """Write `contacts` demo contacts to `path` (UTF-8, comma-separated); return the row count.

    Owners are the demo reps' emails: create the demo users before importing the file.
    """
    now = reference_now(now)
    people = staff_emails(reps)
    rep_emails = {
        email.split("@")[0]: email for email, role, *_ in people if role == Role.SALES_REP
    }
    teller = StoryTeller(seed=seed, now=now, contacts=contacts, reps=list(rep_emails))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CONTACT_COLUMNS)
        for index in range(contacts):
            story = teller.tell(index)
            company = teller.companies[story.company]
            last = story.transitions[-1]
            needs_reason = story.stage in (Stage.DISQUALIFIED,) or (
                story.stage == Stage.LEAD and last.before not in ("", Stage.SUBSCRIBER)
            )
            writer.writerow(
                [
                    story.email,
                    story.first_name,
                    story.last_name,
                    story.job_title,
                    story.seniority,
                    story.phone,
                    story.country,
                    company.name,
                    company.domain,
                    rep_emails[story.owner] if story.owner else "",
                    story.original_source,
                    story.source_detail,
                    story.stage,
                    last.reason if needs_reason else "",
                    story.lead_status,
                    story.created_at.isoformat(),
                    story.properties["preferred_language"],
                    "yes" if story.properties["newsletter_opt_in"] else "no",
                ]
            )
            if progress is not None and (index + 1) % 1000 == 0:
                progress(1000)
    return contacts
