"""Reading the CSV files people actually have: any common encoding, delimiter and line ending.

A file is decoded once (UTF-8 with or without a byte-order mark, UTF-16 with a mark,
otherwise Windows-1252 and finally Latin-1, which never fails), its delimiter is sniffed
from the first records, and its records are yielded with the physical line on which each
starts, so an error report points at the line a person sees in their editor even when a
quoted field spans several lines.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _

from smarketing.crm.importing.report import ImportFileError

DELIMITERS = (",", ";", "\t", "|")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Cells longer than this are almost always an unmatched quote swallowing the file.
FIELD_SIZE_LIMIT = 1_000_000
# Files up to this many characters keep their parsed records after the first pass.
KEEP_PARSED_CHARS = 64_000_000
_SNIFF_RECORDS = 50


@dataclass
class CsvSource:
    """A decoded CSV file: its header and a way to walk its records again and again."""

    name: str
    text: str
    encoding: str
    delimiter: str
    header: list[str]
    _parsed: list[tuple[int, list[str]]] | None = field(default=None, repr=False)

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(first physical line, cells) for every non-blank record after the header."""
        if self._parsed is not None:
            yield from self._parsed
            return
        keep: list[tuple[int, list[str]]] | None = (
            [] if len(self.text) <= KEEP_PARSED_CHARS else None
        )
        for record in self._parse():
            if keep is not None:
                keep.append(record)
            yield record
        self._parsed = keep

    def _parse(self) -> Iterator[tuple[int, list[str]]]:
        reader = _reader(self.text, self.delimiter)
        previous_end = 0
        seen_header = False
        try:
            for cells in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if not cells or not any(cell.strip() for cell in cells):
                    continue
                if not seen_header:
                    seen_header = True
                    continue
                yield start, cells
        except csv.Error as exc:
            raise ImportFileError(
                _(
                    "Line %(line)s could not be read (%(problem)s). "
                    "Check for a quote that is opened but never closed."
                )
                % {"line": previous_end + 1, "problem": exc}
            ) from None


def _reader(text: str, delimiter: str):
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)


def read_bytes(source: str | os.PathLike | BinaryIO) -> tuple[bytes, str]:
    """The raw bytes of a path or an open binary file, and a name to show in reports."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            return path.read_bytes(), path.name
        except FileNotFoundError:
            raise ImportFileError(_("There is no file at %(path)s.") % {"path": path}) from None
        except IsADirectoryError:
            raise ImportFileError(_("%(path)s is a folder, not a file.") % {"path": path}) from None
        except OSError as exc:
            raise ImportFileError(
                _("%(path)s could not be read: %(problem)s")
                % {"path": path, "problem": exc.strerror}
            ) from None
    data = source.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    name = Path(str(getattr(source, "name", "") or "upload.csv")).name
    return data, name


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of `data` and the encoding that read it."""
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(
            _("This is a spreadsheet workbook, not a CSV file. Save or export it as CSV first.")
        )
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise ImportFileError(_("Unknown encoding %(name)s.") % {"name": encoding}) from None
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                _("The file is not valid %(name)s (byte %(at)s).")
                % {"name": encoding, "at": exc.start}
            ) from None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError:
                raise ImportFileError(
                    _("The file is not valid %(name)s.") % {"name": name}
                ) from None
    for name in ("utf-8", "cp1252", "latin-1"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise ImportFileError(
                _("This looks like a binary file, not CSV text. Save or export it as CSV (UTF-8).")
            )
        return text, name
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first records into the most, equally long, rows."""
    sample = text[:65536]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        rows = []
        try:
            for cells in _reader(sample, delimiter):
                if cells:
                    rows.append(len(cells))
                if len(rows) > _SNIFF_RECORDS:
                    break
        except csv.Error:
            continue
        if len(text) > len(sample) and len(rows) > 1:
            rows.pop()  # the last record may be cut short by the sample
        if not rows or rows[0] < 2:
            continue
        consistent = sum(1 for n in rows if n == rows[0]) / len(rows)
        score = (round(consistent, 1), rows[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def load_csv(
    source: str | os.PathLike | BinaryIO,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    name: str | None = None,
) -> CsvSource:
    data, default_name = read_bytes(source)
    text, used = decode(data, encoding)
    if not text.strip():
        raise ImportFileError(_("The file is empty."))
    if delimiter is not None and len(delimiter) != 1:
        raise ImportFileError(_("The delimiter must be a single character."))
    delimiter = delimiter or sniff_delimiter(text)
    header: list[str] | None = None
    try:
        for cells in _reader(text, delimiter):
            if cells and any(c.strip() for c in cells):
                header = cells
                break
    except csv.Error as exc:
        raise ImportFileError(
            _("The header line could not be read (%(problem)s).") % {"problem": exc}
        ) from None
    if header is None:
        raise ImportFileError(_("The file has no header line."))
    return CsvSource(
        name=name or default_name,
        text=text,
        encoding=used,
        delimiter=delimiter,
        header=unique_names([h.strip().lstrip("\ufeff").strip() for h in header]),
    )


def unique_names(names: list[str]) -> list[str]:
    """Repeated column names become `Name`, `Name (2)`…; empty ones stay empty (ignored)."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        if not name:
            result.append("")
            continue
        key = name.casefold()
        seen[key] = seen.get(key, 0) + 1
        result.append(name if seen[key] == 1 else f"{name} ({seen[key]})")
    return result
