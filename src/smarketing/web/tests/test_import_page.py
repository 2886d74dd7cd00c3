"""The import page: upload, dry run or import, and the row-level report."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from smarketing.crm.models import Contact
from smarketing.web.tests.conftest import HTMX, signed_in

pytestmark = pytest.mark.django_db

CSV = b"Email,First Name,Last Name\r\nana@x.test,Ana,Ruiz\r\nnot-an-email,Bo,Li\r\n"


def upload(content=CSV, name="people.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_rep_has_no_import_page(rep_client):
    assert rep_client.get(reverse("web:import")).status_code == 403


def test_dry_run_reports_and_writes_nothing(marketer):
    client = signed_in(marketer)
    assert client.get(reverse("web:import")).status_code == 200
    response = client.post(
        reverse("web:import"),
        {"file": upload(), "kind": "contacts", "preset": "", "mode": "dry_run", "on_error": "skip"},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="import-panel">')
    assert "Dry run report" in html and "Nothing was written." in html
    assert "not-an-email" in html and "is not a valid email address" in html
    assert not Contact.objects.exists()


def test_import_skips_bad_rows(marketer):
    client = signed_in(marketer)
    response = client.post(
        reverse("web:import"),
        {"file": upload(), "kind": "contacts", "preset": "", "mode": "import", "on_error": "skip"},
    )
    assert response.status_code == 200
    assert "Import report" in response.content.decode()
    assert list(Contact.objects.values_list("email", flat=True)) == ["ana@x.test"]


def test_abort_writes_nothing(marketer):
    client = signed_in(marketer)
    response = client.post(
        reverse("web:import"),
        {"file": upload(), "kind": "contacts", "preset": "", "mode": "import", "on_error": "abort"},
    )
    assert "Import aborted" in response.content.decode()
    assert not Contact.objects.exists()


def test_unusable_file_and_missing_file_are_form_errors(marketer):
    client = signed_in(marketer)
    empty = client.post(
        reverse("web:import"),
        {
            "file": upload(b"   \n", "empty.csv"),
            "kind": "contacts",
            "mode": "import",
            "on_error": "skip",
        },
    )
    assert empty.status_code == 422
    assert "The file is empty." in empty.content.decode()
    missing = client.post(
        reverse("web:import"), {"kind": "contacts", "mode": "import", "on_error": "skip"}
    )
    assert missing.status_code == 422
    assert "This field is required." in missing.content.decode()


def test_mapping_file_upload(marketer):
    client = signed_in(marketer)
    mapping = SimpleUploadedFile(
        "map.yaml",
        b"contacts:\n  columns:\n    Correo: email\n    Nombre: first_name\n",
        content_type="text/yaml",
    )
    response = client.post(
        reverse("web:import"),
        {
            "file": upload(b"Correo;Nombre\nluz@x.test;Luz\n", "gente.csv"),
            "mapping": mapping,
            "kind": "contacts",
            "mode": "import",
            "on_error": "skip",
        },
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert Contact.objects.get(email="luz@x.test").first_name == "Luz"
