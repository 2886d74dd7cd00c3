"""CSV import into the CRM: messy files in, validated records with their history out.

    from smarketing.crm.importing import run_import, ImportOptions
    report = run_import("contacts", "leads.csv", options=ImportOptions(preset="hubspot"), actor=actor)
    print(report.summary())

See docs/import.md for mapping files, presets and what each kind of import writes.
"""

from smarketing.crm.importing.base import ImportOptions
from smarketing.crm.importing.engine import run_import
from smarketing.crm.importing.fields import KINDS
from smarketing.crm.importing.mapping import PRESETS, Preset, load_mapping_file
from smarketing.crm.importing.report import ImportFileError, ImportReport, RowError

__all__ = [
    "KINDS",
    "PRESETS",
    "ImportFileError",
    "ImportOptions",
    "ImportReport",
    "Preset",
    "RowError",
    "load_mapping_file",
    "run_import",
]
