"""Reading messy files: encodings, delimiters, line endings, quoting, line numbers in the report."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from smarketing.core.actors import SYSTEM
from smarketing.crm.importing import ImportFileError, ImportOptions, run_import
from smarketing.crm.importing.reading import decode, load_csv, sniff_delimiter
from smarketing.crm.models import Contact, LifecycleTransition


def write(
    tmp_path, text: str, *, name: str = "people.csv", encoding: str = "utf-8", bom: bytes = b""
):
    path = tmp_path / name
    path.write_bytes(bom + text.encode(encoding))
    return path


def import_contacts(path, **options):
    return run_import("contacts", path, options=ImportOptions(**options), actor=SYSTEM)


def test_latin1_file_is_read_with_its_accents(db, tmp_path):
    path = write(
        tmp_path, "email,first_name,last_name\nana@example.com,José,Muñoz\n", encoding="latin-1"
    )
    report = import_contacts(path)
    assert report.ok and report.created == 1
    assert report.encoding == "cp1252"
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name) == ("José", "Muñoz")


def test_windows_1252_quotes_and_euro_sign(db, tmp_path):
    path = write(
        tmp_path, "email,job_title\nana@example.com,“Head” of € sales\n", encoding="cp1252"
    )
    report = import_contacts(path)
    assert report.ok
    assert Contact.objects.get().job_title == "“Head” of € sales"


def test_utf8_byte_order_mark_does_not_hide_the_first_header(db, tmp_path):
    path = write(tmp_path, "Email,First Name\r\nana@example.com,Ana\r\n", bom=b"\xef\xbb\xbf")
    report = import_contacts(path)
    assert report.ok and report.created == 1
    assert report.encoding == "utf-8-sig"
    assert Contact.objects.get().first_name == "Ana"


def test_utf16_export_with_byte_order_mark_and_tabs(db, tmp_path):
    path = write(tmp_path, "Email\tLast Name\nana@example.com\tPérez\n", encoding="utf-16")
    report = import_contacts(path)
    assert report.ok and report.delimiter == "\t"
    assert Contact.objects.get().last_name == "Pérez"


def test_semicolons_are_sniffed_and_commas_stay_inside_values(db, tmp_path):
    path = write(tmp_path, "email;last_name;job_title\nana@example.com;Smith, Jr.;Head, Sales\n")
    report = import_contacts(path)
    assert report.ok and report.delimiter == ";"
    contact = Contact.objects.get()
    assert (contact.last_name, contact.job_title) == ("Smith, Jr.", "Head, Sales")


def test_tab_separated_file(db, tmp_path):
    path = write(
        tmp_path,
        "email\tfirst_name\tcountry\nana@example.com\tAna\tSpain\nbo@example.com\tBo\tSweden\n",
    )
    report = import_contacts(path)
    assert report.ok and report.created == 2 and report.delimiter == "\t"
    assert set(Contact.objects.values_list("country", flat=True)) == {"Spain", "Sweden"}


def test_sniffer_prefers_the_delimiter_that_splits_rows_consistently():
    assert sniff_delimiter('"a";"b";"c"\n1;"x, y";3\n') == ";"
    assert sniff_delimiter("a,b\n1,2\n") == ","
    assert sniff_delimiter("a|b|c\n1|2|3\n") == "|"
    assert sniff_delimiter("email\nana@example.com\n") == ","


def test_quoted_newlines_keep_line_numbers_physical(db, tmp_path):
    text = (
        "email,first_name,job_title\r\n"
        'ana@example.com,Ana,"Head of\r\nGrowth, EMEA"\r\n'  # lines 2-3
        "\r\n"  # line 4: blank, ignored
        "not-an-email,Bo,CTO\r\n"  # line 5
        '"cy@example.com","Cy","said ""hi"""\r\n'  # line 6
        "also bad,Di,CFO\r\n"  # line 7
    )
    report = import_contacts(write(tmp_path, text))
    assert report.total_rows == 4
    assert report.created == 2 and report.failed == 2
    assert [(e.line, e.column, e.value) for e in report.errors] == [
        (5, "email", "not-an-email"),
        (7, "email", "also bad"),
    ]
    assert Contact.objects.get(email="ana@example.com").job_title == "Head of\r\nGrowth, EMEA"
    assert Contact.objects.get(email="cy@example.com").job_title == 'said "hi"'


def test_rows_with_too_many_or_too_few_fields_fail_with_their_line(db, tmp_path):
    text = "email,first_name\nana@example.com,Ana\nbo@example.com,Bo,extra\ncy@example.com\ndi@example.com,Di,\n"
    report = import_contacts(write(tmp_path, text))
    assert report.created == 2  # Ana, and Di whose trailing empty field is harmless
    assert [e.line for e in report.errors] == [3, 4]
    assert "has 3 fields but the header has 2" in report.errors[0].reason
    assert "has 1 fields" in report.errors[1].reason


def test_uploaded_file_objects_are_accepted(db):
    upload = io.BytesIO(b"email\nana@example.com\n")
    upload.name = "from-browser.csv"
    report = run_import("contacts", upload, options=ImportOptions(), actor=SYSTEM)
    assert report.ok and report.source == "from-browser.csv"
    assert Contact.objects.filter(email="ana@example.com").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"PK\x03\x04rest-of-a-zip", "spreadsheet workbook"),
        (b"email\x00\x00name", "binary file"),
    ],
)
def test_unusable_files_are_refused_before_anything_is_written(db, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as exc:
        import_contacts(path)
    assert message in exc.value.message
    assert not Contact.objects.exists()


def test_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(ImportFileError, match="There is no file"):
        import_contacts(tmp_path / "missing.csv")


def test_unmatched_quote_is_reported_not_swallowed(db, tmp_path, monkeypatch):
    from smarketing.crm.importing import reading

    monkeypatch.setattr(reading, "FIELD_SIZE_LIMIT", 100)
    text = 'email,job_title\nana@example.com,"Head\n' + "x" * 300 + "\n"
    with pytest.raises(ImportFileError, match="opened but never closed"):
        import_contacts(write(tmp_path, text))
    assert not Contact.objects.exists()


def test_forced_encoding_and_delimiter(db, tmp_path):
    path = write(tmp_path, "email|first_name\nana@example.com|Zoë\n", encoding="latin-1")
    report = import_contacts(path, encoding="latin-1", delimiter="|")
    assert report.ok and Contact.objects.get().first_name == "Zoë"
    with pytest.raises(ImportFileError, match="not valid utf-8"):
        import_contacts(path, encoding="utf-8")


def test_decode_and_header_cleaning():
    assert decode("ä".encode()) == ("ä", "utf-8")
    assert decode(b"\xe4") == ("ä", "cp1252")
    assert decode(b"\x81") == ("\x81", "latin-1")  # undefined in cp1252, still readable


def test_repeated_and_empty_headers(tmp_path):
    path = write(tmp_path, "Email, Name ,Name,,\na@x.com,A,B,,\n")
    table = load_csv(path)
    assert table.header == ["Email", "Name", "Name (2)", "", ""]


def test_blank_trailing_lines_and_whitespace_only_rows_are_not_rows(db, tmp_path):
    report = import_contacts(write(tmp_path, "email\n\nana@example.com\n , \n\n"))
    assert report.total_rows == 1 and report.ok
    assert LifecycleTransition.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2026-03-04", True, "2026-03-04T00:00:00+00:00"),
        ("2026-03-04T10:05:00Z", True, "2026-03-04T10:05:00+00:00"),
        ("2026-03-04 10:05:00+02:00", True, "2026-03-04T10:05:00+02:00"),
        ("04/03/2026", True, "2026-03-04T00:00:00+00:00"),
        ("03/04/2026", False, "2026-03-04T00:00:00+00:00"),
        (
            "13/03/2026 10:05:07",
            False,
            "2026-03-13T10:05:07+00:00",
        ),  # impossible as US: read day-first
        ("3/4/2026 2:05:07 PM", False, "2026-03-04T14:05:07+00:00"),
        ("04.03.2026 10:05", True, "2026-03-04T10:05:00+00:00"),
        ("04-Mar-2026", True, "2026-03-04T00:00:00+00:00"),
        ("Mar 4, 2026", True, "2026-03-04T00:00:00+00:00"),
        ("4 March 2026", True, "2026-03-04T00:00:00+00:00"),
        ("Wed, 04 Mar 2026 10:05:00 +0000", True, "2026-03-04T10:05:00+00:00"),
    ],
)
def test_dates_in_common_formats(db, tmp_path, text, day_first, expected):
    path = write(tmp_path, f'email,created\nana@example.com,"{text}"\n')
    report = import_contacts(path, mapping={"day_first": day_first})
    assert report.ok, report.errors
    assert (
        Contact.objects.get().created_at.isoformat()
        == datetime.fromisoformat(expected).astimezone(UTC).isoformat()
    )
