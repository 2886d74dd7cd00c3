"""The vocabulary of the demo company: people's names, industries, campaigns and reasons.

Brightpath Software sells a workflow platform to other businesses. Everything here is
invented; company domains use the reserved `.example` top-level domain so no demo
address can ever reach a real inbox.
"""

from __future__ import annotations

from smarketing.core.choices import Role
from smarketing.crm.choices import Channel, Seniority

DEMO_DOMAIN = "demo.smarketing.test"
# One password for every demo login; printed by `smarketing demo` and `smarketing serve`.
DEMO_PASSWORD = "smarketing-demo"
WEBSITE = "https://www.brightpath.example"

# (email local part, role, first name, last name)
STAFF = [
    ("admin", Role.ADMIN, "Alex", "Admin"),
    ("marketing.manager", Role.MARKETING_MANAGER, "Morgan", "Reyes"),
    ("marketing", Role.MARKETING, "Priya", "Shah"),
    ("sales.manager", Role.SALES_MANAGER, "Daniel", "Okafor"),
]
REPS = [
    ("Sofia", "Martinez"),
    ("Liam", "Carter"),
    ("Hannah", "Becker"),
    ("Noah", "Kim"),
    ("Chloe", "Dubois"),
    ("Mateo", "Silva"),
]

# Country, share of companies, and the first/last-name pool its people draw from.
COUNTRIES = [
    ("United States", 34, "en"),
    ("United Kingdom", 12, "en"),
    ("Germany", 10, "de"),
    ("Spain", 8, "es"),
    ("Mexico", 6, "es"),
    ("France", 7, "fr"),
    ("Canada", 7, "en"),
    ("Brazil", 6, "pt"),
    ("Netherlands", 5, "de"),
    ("Australia", 5, "en"),
]
LANGUAGE_LABEL = {
    "en": "English",
    "es": "Spanish",
    "de": "German",
    "fr": "French",
    "pt": "Portuguese",
}

FIRST_NAMES = {
    "en": [
        "James",
        "Emma",
        "Olivia",
        "William",
        "Ava",
        "Lucas",
        "Mia",
        "Ethan",
        "Amelia",
        "Henry",
        "Grace",
        "Jack",
        "Ella",
        "Samuel",
        "Harper",
        "Owen",
        "Zoe",
        "Ryan",
        "Lily",
        "Nathan",
        "Megan",
        "Tyler",
        "Rachel",
        "Aaron",
        "Laura",
        "Kevin",
        "Sarah",
        "Brian",
        "Emily",
        "Jason",
    ],
    "es": [
        "Lucía",
        "Sofía",
        "Martín",
        "Hugo",
        "Valentina",
        "Diego",
        "Camila",
        "Javier",
        "Elena",
        "Pablo",
        "Carmen",
        "Andrés",
        "Isabel",
        "Sergio",
        "Paula",
        "Alejandro",
        "Marta",
        "Raúl",
        "Daniela",
        "Fernando",
    ],
    "de": [
        "Lukas",
        "Anna",
        "Jonas",
        "Lea",
        "Felix",
        "Laura",
        "Maximilian",
        "Sophie",
        "Paul",
        "Marie",
        "Tobias",
        "Julia",
        "Stefan",
        "Katrin",
        "Jan",
        "Sanne",
        "Daan",
        "Femke",
        "Bram",
        "Lotte",
    ],
    "fr": [
        "Louis",
        "Camille",
        "Gabriel",
        "Léa",
        "Arthur",
        "Manon",
        "Jules",
        "Chloé",
        "Hugo",
        "Inès",
        "Antoine",
        "Claire",
        "Julien",
        "Élise",
        "Mathieu",
        "Sophie",
    ],
    "pt": [
        "João",
        "Ana",
        "Pedro",
        "Beatriz",
        "Gabriel",
        "Mariana",
        "Rafael",
        "Larissa",
        "Thiago",
        "Juliana",
        "Bruno",
        "Fernanda",
        "Lucas",
        "Camila",
    ],
}
LAST_NAMES = {
    "en": [
        "Smith",
        "Johnson",
        "Brown",
        "Taylor",
        "Wilson",
        "Davies",
        "Evans",
        "Thomas",
        "Roberts",
        "Walker",
        "Wright",
        "Thompson",
        "White",
        "Hughes",
        "Edwards",
        "Green",
        "Hall",
        "Wood",
        "Harris",
        "Clarke",
        "Patel",
        "Nguyen",
        "Miller",
        "Anderson",
        "Moore",
        "Jackson",
        "Lee",
        "Young",
        "King",
        "Scott",
        "Baker",
        "Adams",
        "Campbell",
        "Mitchell",
        "Turner",
        "Parker",
    ],
    "es": [
        "García",
        "Fernández",
        "González",
        "Rodríguez",
        "López",
        "Martínez",
        "Sánchez",
        "Pérez",
        "Gómez",
        "Martín",
        "Jiménez",
        "Ruiz",
        "Hernández",
        "Díaz",
        "Moreno",
        "Álvarez",
        "Romero",
        "Navarro",
        "Torres",
        "Domínguez",
        "Vázquez",
        "Ramos",
        "Castro",
        "Ortega",
    ],
    "de": [
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Koch",
        "Richter",
        "Klein",
        "Wolf",
        "de Jong",
        "Jansen",
        "de Vries",
        "Bakker",
        "Visser",
        "Smit",
    ],
    "fr": [
        "Martin",
        "Bernard",
        "Dubois",
        "Thomas",
        "Robert",
        "Richard",
        "Petit",
        "Durand",
        "Leroy",
        "Moreau",
        "Simon",
        "Laurent",
        "Lefebvre",
        "Michel",
        "Garcia",
        "Fournier",
        "Girard",
        "Roux",
    ],
    "pt": [
        "Silva",
        "Santos",
        "Oliveira",
        "Souza",
        "Rodrigues",
        "Ferreira",
        "Alves",
        "Pereira",
        "Lima",
        "Gomes",
        "Costa",
        "Ribeiro",
        "Martins",
        "Carvalho",
        "Almeida",
        "Lopes",
    ],
}
FREE_MAIL = ["gmail.example", "outlook.example", "yahoo.example"]

# Industry, share of companies, and how good a fit it is for Brightpath (0..1).
INDUSTRIES = [
    ("Software", 18, 0.9),
    ("Financial services", 10, 0.8),
    ("Healthcare", 8, 0.6),
    ("Manufacturing", 10, 0.55),
    ("Retail", 8, 0.45),
    ("Professional services", 10, 0.75),
    ("Logistics", 7, 0.6),
    ("Education", 6, 0.35),
    ("Media", 5, 0.5),
    ("Telecommunications", 5, 0.65),
    ("Energy", 4, 0.4),
    ("Real estate", 4, 0.4),
    ("Non-profit", 3, 0.2),
]
COMPANY_WORDS = [
    "North",
    "Blue",
    "Summit",
    "Iron",
    "Bright",
    "Cedar",
    "Harbor",
    "Silver",
    "Pioneer",
    "Apex",
    "Maple",
    "Granite",
    "Nova",
    "Atlas",
    "Beacon",
    "Crescent",
    "Evergreen",
    "Falcon",
    "Horizon",
    "Keystone",
    "Lumen",
    "Meridian",
    "Oak",
    "Orbit",
    "Pine",
    "Quartz",
    "Redwood",
    "Sterling",
    "Tidal",
    "Vertex",
    "Willow",
    "Zenith",
    "Aurora",
    "Cobalt",
    "Delta",
    "Ember",
    "Fjord",
    "Juniper",
]
COMPANY_NOUNS = {
    "Software": ["Labs", "Systems", "Cloud", "Software", "Data"],
    "Financial services": ["Capital", "Finance", "Partners", "Payments", "Bank"],
    "Healthcare": ["Health", "Care", "Clinics", "Medical", "Bio"],
    "Manufacturing": ["Industries", "Manufacturing", "Works", "Components", "Tools"],
    "Retail": ["Stores", "Outfitters", "Market", "Goods", "Retail"],
    "Professional services": ["Consulting", "Advisors", "Group", "Associates", "Partners"],
    "Logistics": ["Logistics", "Freight", "Transport", "Shipping", "Supply"],
    "Education": ["Academy", "Learning", "Institute", "Education", "School"],
    "Media": ["Media", "Studios", "Publishing", "Digital", "Press"],
    "Telecommunications": ["Telecom", "Networks", "Connect", "Wireless", "Fiber"],
    "Energy": ["Energy", "Power", "Solar", "Utilities", "Renewables"],
    "Real estate": ["Properties", "Realty", "Estates", "Homes", "Spaces"],
    "Non-profit": ["Foundation", "Trust", "Alliance", "Fund", "Society"],
}
COMPANY_SUFFIXES = ["", "", "", " Inc.", " Ltd", " GmbH", " S.A.", " LLC", " Co."]
# Employee-count bands with their share of companies and a typical annual contract value.
COMPANY_SIZES = [
    ((5, 49), 30, (4_000, 12_000)),
    ((50, 199), 30, (10_000, 30_000)),
    ((200, 999), 22, (25_000, 80_000)),
    ((1_000, 4_999), 12, (60_000, 160_000)),
    ((5_000, 40_000), 6, (120_000, 320_000)),
]
CURRENT_CRM = ["Salesforce", "HubSpot", "Pipedrive", "Spreadsheets", "None"]

# Job titles by seniority, and how much a title at that level weighs in fit (0..1).
TITLES = {
    Seniority.C_LEVEL: (["CEO", "COO", "CMO", "CRO", "CTO", "Founder"], 0.9),
    Seniority.VP: (["VP Marketing", "VP Sales", "VP Revenue Operations", "VP Growth"], 1.0),
    Seniority.DIRECTOR: (
        [
            "Director of Marketing",
            "Sales Director",
            "Director of Demand Generation",
            "Head of RevOps",
        ],
        0.85,
    ),
    Seniority.MANAGER: (
        ["Marketing Manager", "Sales Manager", "Marketing Operations Manager", "CRM Manager"],
        0.65,
    ),
    Seniority.INDIVIDUAL: (
        ["Marketing Specialist", "Sales Development Rep", "Content Marketer", "Data Analyst"],
        0.35,
    ),
    Seniority.OTHER: (["Student", "Consultant", "Intern", "Assistant"], 0.1),
}
SENIORITY_WEIGHTS = [
    (Seniority.C_LEVEL, 7),
    (Seniority.VP, 9),
    (Seniority.DIRECTOR, 16),
    (Seniority.MANAGER, 28),
    (Seniority.INDIVIDUAL, 32),
    (Seniority.OTHER, 8),
]

# Where new contacts come from (share of first touches).
SOURCE_WEIGHTS = [
    (Channel.ORGANIC_SEARCH, 22),
    (Channel.PAID_SEARCH, 16),
    (Channel.SOCIAL, 12),
    (Channel.EMAIL, 7),
    (Channel.REFERRAL, 8),
    (Channel.DISPLAY, 6),
    (Channel.DIRECT, 10),
    (Channel.EVENTS, 9),
    (Channel.PARTNER, 6),
    (Channel.OTHER, 4),
]

# Campaigns: (name, channel, first month, last month (0 = first of six), cost per month, utm).
# Months count from the start of the demo window; every channel has at least one.
CAMPAIGNS = [
    (
        "SEO — Blog and guides",
        Channel.ORGANIC_SEARCH,
        0,
        5,
        1_800,
        ("google", "organic", "seo-blog"),
    ),
    (
        "SEO — Comparison pages",
        Channel.ORGANIC_SEARCH,
        2,
        5,
        900,
        ("google", "organic", "seo-compare"),
    ),
    ("Google Ads — Brand", Channel.PAID_SEARCH, 0, 5, 3_200, ("google", "cpc", "brand")),
    (
        "Google Ads — Competitor terms",
        Channel.PAID_SEARCH,
        1,
        4,
        5_400,
        ("google", "cpc", "competitors"),
    ),
    (
        "Bing Ads — Workflow automation",
        Channel.PAID_SEARCH,
        3,
        5,
        1_600,
        ("bing", "cpc", "workflow"),
    ),
    (
        "LinkedIn — RevOps leaders",
        Channel.SOCIAL,
        0,
        3,
        6_500,
        ("linkedin", "paid_social", "revops-leaders"),
    ),
    (
        "LinkedIn — Organic posts",
        Channel.SOCIAL,
        0,
        5,
        400,
        ("linkedin", "social", "organic-posts"),
    ),
    ("X — Product launch thread", Channel.SOCIAL, 4, 4, 1_200, ("x", "social", "launch")),
    ("Newsletter — Monthly digest", Channel.EMAIL, 0, 5, 350, ("newsletter", "email", "digest")),
    (
        "Nurture — Lead scoring series",
        Channel.EMAIL,
        1,
        5,
        500,
        ("hubspot", "email", "nurture-scoring"),
    ),
    (
        "Customer referral programme",
        Channel.REFERRAL,
        0,
        5,
        1_000,
        ("referral", "referral", "refer-a-peer"),
    ),
    ("G2 reviews listing", Channel.REFERRAL, 2, 5, 1_500, ("g2", "referral", "g2-listing")),
    ("Display retargeting", Channel.DISPLAY, 0, 5, 2_800, ("adroll", "display", "retargeting")),
    ("Trade press banners", Channel.DISPLAY, 3, 4, 4_000, ("techpress", "display", "banners-q3")),
    ("Website — Direct traffic", Channel.DIRECT, 0, 5, 0, ("direct", "none", "website")),
    (
        "Webinar — Fixing the MQL handoff",
        Channel.EVENTS,
        1,
        1,
        2_500,
        ("webinar", "event", "mql-handoff"),
    ),
    ("Webinar — SLA playbook", Channel.EVENTS, 3, 3, 2_500, ("webinar", "event", "sla-playbook")),
    ("SaaStr booth", Channel.EVENTS, 4, 4, 18_000, ("saastr", "event", "booth")),
    ("RevOps meetup series", Channel.EVENTS, 0, 5, 1_200, ("meetup", "event", "revops-meetups")),
    (
        "Partner — Cloudbridge co-marketing",
        Channel.PARTNER,
        0,
        5,
        1_500,
        ("cloudbridge", "partner", "co-marketing"),
    ),
    (
        "Partner — Agency network",
        Channel.PARTNER,
        2,
        5,
        800,
        ("agencies", "partner", "agency-network"),
    ),
    (
        "Podcast — RevOps Weekly sponsorship",
        Channel.OTHER,
        1,
        4,
        2_000,
        ("podcast", "audio", "revops-weekly"),
    ),
]

# Pages and assets on the demo company's website.
PAGES = [
    "/",
    "/pricing",
    "/product",
    "/product/lead-scoring",
    "/product/routing",
    "/product/reports",
    "/customers",
    "/blog/what-is-an-mql",
    "/blog/sales-marketing-sla",
    "/blog/lead-scoring-101",
    "/blog/attribution-models",
    "/integrations",
    "/security",
    "/about",
]
HOT_PAGES = ["/pricing", "/demo", "/customers", "/security", "/integrations"]
ASSETS = [
    "Ebook: The smarketing SLA playbook",
    "Template: Lead scoring worksheet",
    "Report: State of RevOps",
    "Checklist: CRM data hygiene",
    "Guide: Multi-touch attribution",
]

PRODUCTS = ["Brightpath Teams", "Brightpath Business", "Brightpath Enterprise"]

# Reasons people give, in the team's words.
MQL_REASON = "engagement score reached the MQL threshold"
ACCEPT_REASONS = ["accepted: fits ICP", "accepted: active project", "accepted: asked for a demo"]
REJECT_REASONS = [
    "Bad timing: revisit next quarter",
    "No budget this year",
    "Not a decision maker",
    "Already evaluated us last year",
    "Too small for a sales conversation",
    "No response after five attempts",
]
MARKETING_DISQUALIFY_REASONS = [
    "Student",
    "Competitor",
    "Job seeker",
    "Fake details",
    "Vendor pitching us",
]
SALES_DISQUALIFY_REASONS = [
    "Wrong fit: no sales team",
    "Outside our territories",
    "Duplicate of an existing customer contact",
    "Chose to build in-house",
]
SQL_REASONS = ["qualified: budget, authority, need and timing confirmed", "qualified: pilot agreed"]
SAL_RECYCLE_REASONS = ["Went dark after the first call", "Project postponed", "No budget this year"]
LOST_REASONS = [
    "Price",
    "Chose a competitor",
    "No decision",
    "Timing",
    "Missing integration",
    "Lost to status quo",
]
COMPETITORS = ["HubSpot", "Salesforce", "Pipedrive", "Marketo"]
EVANGELIST_REASONS = ["Agreed to a case study", "Referred a peer", "Spoke at our webinar"]
REASSIGN_REASONS = ["Territory rebalance", "Rep on leave", "Account owner takes over"]

CALL_SUBJECTS = ["Intro call", "Follow-up call", "Discovery call", "Check-in"]
EMAIL_SUBJECTS = [
    "Following up on your request",
    "Resources you asked for",
    "Quick question",
    "Next steps",
]
MEETING_SUBJECTS = ["Discovery meeting", "Product demo", "Pricing review", "Security review"]
NOTE_SUBJECTS = ["Account notes", "Buying committee", "Procurement process"]

# --- the sales desk: teams, working calendars, routing, rejections ---------------------

EMEA_COUNTRIES = ["United Kingdom", "Germany", "Spain", "France", "Netherlands"]
AMERICAS_COUNTRIES = ["United States", "Canada", "Mexico", "Brazil"]

# Spain's national public holidays (and Holy Thursday, kept in every region but two).
SPANISH_HOLIDAYS = {
    "2025-01-01": "Año Nuevo",
    "2025-01-06": "Epifanía del Señor",
    "2025-04-17": "Jueves Santo",
    "2025-04-18": "Viernes Santo",
    "2025-05-01": "Fiesta del Trabajo",
    "2025-08-15": "Asunción de la Virgen",
    "2025-10-13": "Fiesta Nacional de España (trasladada)",
    "2025-12-08": "Inmaculada Concepción",
    "2025-12-25": "Natividad del Señor",
    "2026-01-01": "Año Nuevo",
    "2026-01-06": "Epifanía del Señor",
    "2026-04-02": "Jueves Santo",
    "2026-04-03": "Viernes Santo",
    "2026-05-01": "Fiesta del Trabajo",
    "2026-08-15": "Asunción de la Virgen",
    "2026-10-12": "Fiesta Nacional de España",
    "2026-11-02": "Todos los Santos (trasladada)",
    "2026-12-07": "Día de la Constitución (trasladada)",
    "2026-12-08": "Inmaculada Concepción",
    "2026-12-25": "Natividad del Señor",
}
# The US federal holidays the company closes on (observed dates), and the day after Thanksgiving.
US_HOLIDAYS = {
    "2025-01-01": "New Year's Day",
    "2025-01-20": "Martin Luther King Jr. Day",
    "2025-02-17": "Presidents' Day",
    "2025-05-26": "Memorial Day",
    "2025-06-19": "Juneteenth",
    "2025-07-04": "Independence Day",
    "2025-09-01": "Labor Day",
    "2025-11-27": "Thanksgiving Day",
    "2025-11-28": "Day after Thanksgiving",
    "2025-12-25": "Christmas Day",
    "2026-01-01": "New Year's Day",
    "2026-01-19": "Martin Luther King Jr. Day",
    "2026-02-16": "Presidents' Day",
    "2026-05-25": "Memorial Day",
    "2026-06-19": "Juneteenth",
    "2026-07-03": "Independence Day (observed)",
    "2026-09-07": "Labor Day",
    "2026-11-26": "Thanksgiving Day",
    "2026-11-27": "Day after Thanksgiving",
    "2026-12-25": "Christmas Day",
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
# (key, name, time zone, weekly hours, holidays, countries, rough UTC offset of office hours)
TEAMS = [
    (
        "emea",
        "Inside sales EMEA",
        "Europe/Madrid",
        {
            **{day: ["09:00-14:00", "15:00-18:00"] for day in WEEKDAYS[:4]},
            "fri": ["08:00-15:00"],
        },
        SPANISH_HOLIDAYS,
        EMEA_COUNTRIES,
        1,
    ),
    (
        "americas",
        "Inside sales Americas",
        "America/New_York",
        {day: ["08:30-12:30", "13:00-17:00"] for day in WEEKDAYS},
        US_HOLIDAYS,
        AMERICAS_COUNTRIES,
        -5,
    ),
]
# Per rep (in the order of REPS): team, capacity, and how promptly they call a new MQL
# (the share of leads touched within a few working hours; the rest wait a day or two).
REP_DESK = [
    ("emea", 3, 0.95),
    ("americas", 2, 0.62),
    ("emea", 2, 0.9),
    ("americas", 1, 0.8),
    ("emea", 1, 0.86),
    ("americas", 2, 0.72),
]
# Who is away when the story ends: (rep index, availability, days since, days until back).
AWAY = [(4, "out_of_office", 3, 7), (3, "paused", 1, None)]
# Named territories before the regional round robins: (name, countries, rep indexes).
TERRITORIES = [
    ("DACH & Benelux", ["Germany", "Netherlands"], [2]),
    ("Spanish-speaking markets", ["Spain", "Mexico"], [0, 5]),
]
QUEUE_RULE = ("Students, interns and others wait for a manager", {"seniority": ["other"]})
ACCOUNT_OWNER_RULE = "Account owner first"
CATCH_ALL_RULE = "Everyone else: round robin"
QUEUE_PICK_REASONS = ["Picked from the unassigned queue", "Worth a call after all"]

# The rejection reasons installed with the hand-off app: code → (label, outcome).
REJECTION_REASONS = {
    "not_icp": ("Not our ideal customer", "disqualify"),
    "bad_contact_data": ("Bad contact data", "disqualify"),
    "no_budget_authority": ("No budget or authority", "nurture"),
    "competitor": ("Competitor", "disqualify"),
    "student_job_seeker": ("Student or job seeker", "disqualify"),
    "duplicate": ("Duplicate", "disqualify"),
    "not_now": ("Not now — nurture", "nurture"),
}
REJECTION_WEIGHTS = {
    "not_now": 30,
    "no_budget_authority": 28,
    "not_icp": 13,
    "bad_contact_data": 7,
    "competitor": 4,
    "student_job_seeker": 7,
    "duplicate": 5,
}
# Where leads come from changes why they are turned down.
REJECTION_BY_SOURCE = {
    Channel.SOCIAL: {"student_job_seeker": 4.5},
    Channel.PAID_SEARCH: {"not_icp": 3.0},
    Channel.DISPLAY: {"bad_contact_data": 2.5, "not_icp": 1.5},
    Channel.EVENTS: {"competitor": 3.0},
    Channel.REFERRAL: {"duplicate": 2.5, "not_icp": 0.5},
    Channel.PARTNER: {"duplicate": 2.0},
}
REJECTION_NOTES = {
    "not_icp": ["Too small for a sales conversation", "Agency, not an end customer"],
    "bad_contact_data": ["Phone and email both bounce", "Fake name on the form"],
    "no_budget_authority": ["Not a decision maker", "No budget this year"],
    "competitor": ["Works for a competitor", "Vendor pitching us"],
    "student_job_seeker": ["Student researching a thesis", "Looking for a job, not a product"],
    "duplicate": ["Already talking to a colleague", "Duplicate of a customer contact"],
    "not_now": [
        "Bad timing: revisit next quarter",
        "Already evaluated us last year",
        "No response after five attempts",
    ],
}
