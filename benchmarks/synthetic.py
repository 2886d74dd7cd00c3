"""A large, realistic scoring data set written set-based: contacts, companies and touches.

The demo generator tells every contact's story in Python (about a second per thousand
contacts), too slow for the rescoring benchmark's million contacts. This module draws
the same kind of data column-wise with NumPy from a seed and writes it with `COPY`
(PostgreSQL) or one `executemany` per table (SQLite):

- companies in the demo's industries, sizes and countries; contacts with titles and
  seniorities, some on free-mail addresses, some without a phone, most at a company;
- touches of every type, skewed per contact (most people have a few, some hundreds),
  grouped in browsing sessions spread over nine months, so the default rules fire,
  per-day/week/month caps bind within sessions and decay matters;
- page views over a few thousand distinct URLs (pricing, careers, blog posts, landing
  pages with tracking parameters), e-mail touches on e-mail campaigns.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from smarketing.crm.models import Campaign, Company, Contact, Touch
from smarketing.demo import catalogue as cat

SPAN_DAYS = 270
# Touch types and their share of all touches.
TOUCH_MIX = [
    ("page_view", 52.0),
    ("email_open", 16.0),
    ("email_click", 6.0),
    ("form_submission", 4.0),
    ("content_download", 3.5),
    ("ad_click", 5.0),
    ("social_engagement", 4.0),
    ("chat", 2.0),
    ("webinar", 2.5),
    ("event", 1.0),
    ("demo_request", 2.5),
    ("unsubscribe", 1.5),
]
# Touch types within a website visit and within an e-mail moment.
WEB_MIX = [
    ("page_view", 84.0),
    ("form_submission", 5.0),
    ("content_download", 4.0),
    ("chat", 3.0),
    ("demo_request", 4.0),
]
MAIL_MIX = [("email_open", 70.0), ("email_click", 27.0), ("unsubscribe", 3.0)]
PAGE_MIX = [
    ("/", 14.0),
    ("/pricing", 11.0),
    ("/product", 9.0),
    ("/product/lead-scoring", 5.0),
    ("/product/routing", 4.0),
    ("/customers", 5.0),
    ("/integrations", 4.0),
    ("/security", 3.0),
    ("/about", 3.0),
    ("/careers", 2.0),
    ("/careers/opening-{n}", 2.0),
    ("/blog/post-{n}", 25.0),
    ("/pricing?plan=business&utm_source=newsletter&utm_content=v{n}", 3.0),
    ("/lp/offer-{n}?utm_medium=cpc", 6.0),
]
CHANNEL_OF_TYPE = {
    "email_open": "email",
    "email_click": "email",
    "unsubscribe": "email",
    "ad_click": "display",
    "social_engagement": "social",
    "webinar": "events",
    "event": "events",
}
WEB_CHANNELS = ["direct", "organic_search", "organic_search", "paid_search", "referral"]
STAGES = [
    ("subscriber", 46),
    ("lead", 38),
    ("mql", 5),
    ("sal", 3),
    ("sql", 2),
    ("opportunity", 1),
    ("customer", 2),
    ("disqualified", 3),
]


@dataclass
class DataSet:
    contacts: int
    touches: int
    companies: int
    seconds: float
    now: datetime


def _weights(pairs) -> tuple[list, np.ndarray]:
    names = [p[0] for p in pairs]
    w = np.array([p[1] for p in pairs], dtype=float)
    return names, w / w.sum()


def _pick(rng: np.random.Generator, pairs, size: int) -> np.ndarray:
    names, p = _weights(pairs)
    return np.asarray(names, dtype=object)[rng.choice(len(names), size=size, p=p)]


def _stamp(seconds: np.ndarray) -> pl.Series:
    """Epoch seconds (float) as the text each database stores for a datetime, in UTC."""
    micros = np.round(seconds * 1e6).astype(np.int64)
    moments = pl.Series(micros).cast(pl.Datetime("us"))
    text = moments.dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
    return text + "+00" if connection.vendor == "postgresql" else text


def _write(model, columns: dict[str, pl.Series | np.ndarray | list]) -> None:
    """Insert the rows given column-wise into `model`'s table in one statement per chunk."""
    df = pl.DataFrame({name: values for name, values in columns.items()})
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in df.columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for start in range(0, df.height, 1_000_000):
                buffer = io.BytesIO()
                df.slice(start, 1_000_000).write_csv(buffer, include_header=False)
                with cursor.cursor.copy(
                    f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)"
                ) as copy:
                    copy.write(buffer.getvalue())
        else:
            marks = ", ".join(["%s"] * df.width)
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            for start in range(0, df.height, 500_000):
                cursor.executemany(sql, df.slice(start, 500_000).iter_rows())


def _next_id(model) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
        return int(cursor.fetchone()[0]) + 1


def _reset_sequences(*models) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows explicit ids on its own
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )


def write_deals(
    contact_ids,
    *,
    won: np.ndarray,
    amounts: np.ndarray,
    created: pl.Series,
    closed: pl.Series,
    owner_ids: np.ndarray | None = None,
) -> np.ndarray:
    """One deal per contact (won or still in proposal) with its contact link; returns the ids.

    `created` and `closed` are the texts `_stamp` makes (closed None for open deals).
    """
    from smarketing.crm.models import Deal

    m = len(won)
    deal_ids = np.arange(_next_id(Deal), _next_id(Deal) + m)
    columns = {
        "id": deal_ids,
        "name": [f"Bench deal {i}" for i in deal_ids],
        "amount": amounts,
        "currency": ["USD"] * m,
        "stage": np.where(won, "won", "proposal"),
        "created_at": created,
        "closed_at": closed,
        "close_reason": [""] * m,
        "properties": ["{}"] * m,
        "updated_at": created,
    }
    if owner_ids is not None:
        columns["owner_id"] = owner_ids
    _write(Deal, columns)
    link = Deal.contacts.through
    _write(
        link,
        {
            "id": np.arange(_next_id(link), _next_id(link) + m),
            "deal_id": deal_ids,
            "contact_id": contact_ids,
        },
    )
    return deal_ids


def _campaigns() -> dict[str, list[int]]:
    """A few campaigns per channel (created once), by channel."""
    by_channel: dict[str, list[int]] = {}
    for channel in ("email", "display", "social", "events", "paid_search"):
        for n in range(4):
            campaign, _ = Campaign.objects.get_or_create(
                name=f"Scoring benchmark {channel} {n + 1}",
                defaults={"channel": channel, "utm_campaign": f"bench-{channel}-{n + 1}"},
            )
            by_channel.setdefault(channel, []).append(campaign.pk)
    return by_channel


def generate(
    contacts: int, touches: int, *, seed: int = 7, now: datetime | None = None, progress=print
) -> DataSet:
    """Write `contacts` contacts (with their companies) and `touches` touches; return what was made."""
    began = time.perf_counter()
    now = now or timezone.now()
    if connection.vendor == "sqlite":
        # A large page cache for this connection: the touch indexes are built much faster.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -2000000")
    now_s = now.timestamp()
    rng = np.random.default_rng(seed)
    campaigns = _campaigns()

    # --- companies ---
    n_companies = max(1, contacts // 6)
    first_company = _next_id(Company)
    company_ids = np.arange(first_company, first_company + n_companies)
    industries = _pick(rng, [(n, w) for n, w, _ in cat.INDUSTRIES], n_companies)
    size_band = rng.choice(
        len(cat.COMPANY_SIZES),
        size=n_companies,
        p=np.array([s[1] for s in cat.COMPANY_SIZES]) / sum(s[1] for s in cat.COMPANY_SIZES),
    )
    lows = np.array([s[0][0] for s in cat.COMPANY_SIZES])[size_band]
    highs = np.array([s[0][1] for s in cat.COMPANY_SIZES])[size_band]
    employees = (lows + rng.random(n_companies) * (highs - lows)).astype(np.int64)
    company_country = _pick(rng, [(n, w) for n, w, _ in cat.COUNTRIES], n_companies)
    stamp_created = _stamp(now_s - rng.random(n_companies) * SPAN_DAYS * 86400 - 86400)
    with transaction.atomic():
        _write(
            Company,
            {
                "id": company_ids,
                "name": [f"Bench Company {i}" for i in company_ids],
                "domain": [f"company{i}.example" for i in company_ids],
                "industry": industries,
                "employee_count": employees,
                "country": company_country,
                "properties": ["{}"] * n_companies,
                "created_at": stamp_created,
                "updated_at": stamp_created,
            },
        )
    progress(f"   {n_companies:,} companies written ({time.perf_counter() - began:.1f} s)")

    # --- contacts ---
    first_contact = _next_id(Contact)
    contact_ids = np.arange(first_contact, first_contact + contacts)
    company_of = company_ids[rng.integers(0, n_companies, size=contacts)]
    has_company = rng.random(contacts) >= 0.08
    seniorities = _pick(rng, [(str(s), w) for s, w in cat.SENIORITY_WEIGHTS], contacts)
    titles = np.empty(contacts, dtype=object)
    for seniority, (names, _) in cat.TITLES.items():
        where = seniorities == str(seniority)
        titles[where] = np.asarray(names, dtype=object)[
            rng.integers(0, len(names), size=int(where.sum()))
        ]
    free_mail = rng.random(contacts) < 0.14
    free_domain = rng.integers(0, len(cat.FREE_MAIL), contacts)
    emails = [
        f"person{i}@{cat.FREE_MAIL[d]}" if free else f"person{i}@company{c}.example"
        for i, free, d, c in zip(
            contact_ids.tolist(),
            free_mail.tolist(),
            free_domain.tolist(),
            company_of.tolist(),
            strict=True,
        )
    ]
    phones = np.where(rng.random(contacts) < 0.62, "+1 555 0100", "")
    own_country = _pick(rng, [(n, w) for n, w, _ in cat.COUNTRIES], contacts)
    # Most people are in their company's country.
    company_index = company_of - first_company
    country = np.where(rng.random(contacts) < 0.8, company_country[company_index], own_country)
    # Arrivals: more people each month as marketing ramps up.
    arrival = now_s - (1 - np.sqrt(rng.random(contacts))) * SPAN_DAYS * 86400 - 3600
    stages = _pick(rng, STAGES, contacts)
    first_names = np.asarray(cat.FIRST_NAMES["en"], dtype=object)
    last_names = np.asarray(cat.LAST_NAMES["en"], dtype=object)
    arrived = _stamp(arrival)
    with transaction.atomic():
        _write(
            Contact,
            {
                "id": contact_ids,
                "email": emails,
                "first_name": first_names[rng.integers(0, len(first_names), contacts)],
                "last_name": last_names[rng.integers(0, len(last_names), contacts)],
                "job_title": titles,
                "seniority": seniorities,
                "phone": phones,
                "country": country,
                "company_id": pl.Series(company_of).set(pl.Series(~has_company), None),
                "original_source": _pick(
                    rng, [(str(c), w) for c, w in cat.SOURCE_WEIGHTS], contacts
                ),
                "source_detail": [""] * contacts,
                "lifecycle_stage": stages,
                "lifecycle_changed_at": arrived,
                "lead_status": [""] * contacts,
                "properties": ["{}"] * contacts,
                "created_at": arrived,
                "updated_at": arrived,
            },
        )
    progress(f"   {contacts:,} contacts written ({time.perf_counter() - began:.1f} s)")

    # --- touches ---
    # How many each person has: heavy-tailed, summing to exactly `touches`.
    weights = rng.lognormal(0.0, 1.4, size=contacts)
    counts = rng.multinomial(touches, weights / weights.sum())
    owner = np.repeat(np.arange(contacts), counts)
    # Sessions of about eight touches within an hour, grouped in bursts of interest (about
    # four sessions over ten days), the bursts spread over the months after arrival.
    sessions = 1 + counts // 8
    session_of = (rng.random(touches) * np.repeat(sessions, counts)).astype(np.int64)
    bursts = 1 + np.repeat(sessions, counts) // 4
    burst_of = session_of % bursts

    def uniform(*keys: np.ndarray) -> np.ndarray:
        """A number in [0, 1) that depends only on the keys (the same for a whole session)."""
        mixed = np.zeros(touches, dtype=np.uint64)
        for key, prime in zip(keys, (2654435761, 40503, 97), strict=False):
            mixed = mixed * np.uint64(1_000_033) + key.astype(np.uint64) * np.uint64(prime)
        return (mixed % np.uint64(1_000_003)).astype(float) / 1_000_003 + 0.5 / 1_000_003

    owners = owner.astype(np.uint64)
    burst_start = -np.log1p(-uniform(owners, burst_of, np.zeros(touches))) * 40 * 86400
    session_gap = burst_start + uniform(owners, session_of, np.ones(touches)) * 10 * 86400
    session_gap += rng.random(touches) * 3600
    at = arrival[owner] + session_gap
    # Nobody's touch is in the future: fold late ones back inside the person's time here.
    late = at > now_s - 60
    at[late] = arrival[owner[late]] + rng.random(int(late.sum())) * (
        now_s - 60 - arrival[owner[late]]
    )
    # A session is a website visit (mostly page views), an e-mail moment, or the rest.
    kind_of_session = uniform(owners, session_of, np.full(touches, 2))
    types = _pick(rng, TOUCH_MIX, touches)
    web = kind_of_session < 0.6
    types[web] = _pick(rng, WEB_MIX, int(web.sum()))
    mail = (kind_of_session >= 0.6) & (kind_of_session < 0.85)
    types[mail] = _pick(rng, MAIL_MIX, int(mail.sum()))
    urls = np.full(touches, "", dtype=object)
    web = np.isin(types, ["page_view", "form_submission", "chat"])
    pages = _pick(rng, PAGE_MIX, int(web.sum()))
    numbers = rng.zipf(1.3, size=int(web.sum())) % 400
    urls[web] = [
        cat.WEBSITE + (p.format(n=n) if "{n}" in p else p)
        for p, n in zip(pages, numbers.tolist(), strict=True)
    ]
    urls[types == "demo_request"] = cat.WEBSITE + "/demo"
    assets = np.full(touches, "", dtype=object)
    downloads = types == "content_download"
    chosen = np.asarray(cat.ASSETS, dtype=object)[
        rng.integers(0, len(cat.ASSETS), int(downloads.sum()))
    ]
    assets[downloads] = chosen
    urls[downloads] = [
        cat.WEBSITE + "/resources/" + a.split(": ")[-1].lower().replace(" ", "-") for a in chosen
    ]
    channels = np.asarray(WEB_CHANNELS, dtype=object)[rng.integers(0, len(WEB_CHANNELS), touches)]
    campaign = np.full(touches, -1, dtype=np.int64)
    for kind, channel in CHANNEL_OF_TYPE.items():
        where = types == kind
        channels[where] = channel
        ids = np.asarray(campaigns[channel])
        campaign[where] = ids[rng.integers(0, len(ids), int(where.sum()))]
    ads = types == "ad_click"
    urls[ads] = [f"{cat.WEBSITE}/lp/bench-display-{c}" for c in campaign[ads].tolist()]
    paid = (channels == "paid_search") & (campaign < 0)
    campaign[paid] = np.asarray(campaigns["paid_search"])[rng.integers(0, 4, int(paid.sum()))]
    # Touches are stored as they happen: ids (and the table's physical order) follow time.
    order = np.argsort(at, kind="stable")
    owner, types, channels, campaign, urls, assets, at = (
        owner[order],
        types[order],
        channels[order],
        campaign[order],
        urls[order],
        assets[order],
        at[order],
    )
    first_touch = _next_id(Touch)
    stamp = _stamp(at)
    with transaction.atomic():
        _write(
            Touch,
            {
                "id": np.arange(first_touch, first_touch + touches),
                "contact_id": contact_ids[owner],
                "type": types,
                "channel": channels,
                "campaign_id": pl.Series(campaign).set(pl.Series(campaign < 0), None),
                "url": urls,
                "asset": assets,
                "occurred_at": stamp,
                "properties": pl.repeat("{}", touches, eager=True),
                "created_contact": np.zeros(touches, dtype=bool)
                if connection.vendor == "postgresql"
                else np.zeros(touches, dtype=np.int64),
                "created_at": stamp,
            },
        )
    _reset_sequences(Company, Contact, Touch)
    seconds = time.perf_counter() - began
    progress(f"   {touches:,} touches written ({seconds:.1f} s)")
    return DataSet(contacts, touches, n_companies, seconds, now)
