"""Reading uploaded spreadsheets: CSV in UTF-8 (with or without BOM), Shift_JIS/CP932 or UTF-16, and .xlsx."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from django.utils.translation import gettext as _

from leadrelay.core.exceptions import InvalidInput

ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "cp932": "Shift_JIS (CP932)",
    "utf-16": "UTF-16",
    "euc_jp": "EUC-JP",
}
XLSX_MAGIC = b"PK\x03\x04"
csv.field_size_limit(1_000_000)


@dataclass
class Sheet:
    file_format: str  # "csv" or "xlsx"
    encoding: str
    delimiter: str
    headers: list[str]


def detect_encoding(data: bytes) -> str:
    """UTF-8 with BOM, UTF-16 with BOM, UTF-8, then Shift_JIS (as Windows writes it: CP932), then EUC-JP."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    readable = {}
    for encoding in ("cp932", "euc_jp"):
        try:
            readable[encoding] = _japanese_score(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    if readable:
        # EUC-JP bytes often decode as Shift_JIS too (as half-width kana): keep the reading that looks like Japanese
        return max(readable, key=lambda encoding: readable[encoding])
    raise InvalidInput(fields={"file": [_("The file is neither UTF-8 nor Shift_JIS text; save it as CSV UTF-8 and try again.")]})


def _japanese_score(text: str) -> int:
    """Hiragana, full-width katakana and common kanji count for; half-width kana count against."""
    score = 0
    for char in text:
        code = ord(char)
        if 0x3041 <= code <= 0x30FF or 0x4E00 <= code <= 0x9FFF:
            score += 1
        elif 0xFF61 <= code <= 0xFF9F:
            score -= 1
    return score


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise InvalidInput(
            fields={"file": [_("The file cannot be read as %(encoding)s.") % {"encoding": encoding}]}
        ) from None


def _detect_delimiter(first_line: str) -> str:
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unique_headers(cells: list) -> list[str]:
    headers, seen = [], {}
    for index, cell in enumerate(cells):
        name = str(cell).strip() if cell is not None else ""
        name = name.lstrip("\ufeff") or _("Column %(n)s") % {"n": index + 1}
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        headers.append(name)
    return headers


def file_format_of(filename: str, data: bytes) -> str:
    if data.startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if filename.lower().endswith(".xls"):
        raise InvalidInput(fields={"file": [_("Old .xls workbooks cannot be read; save the sheet as .xlsx or CSV.")]})
    return "csv"


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _is_blank(cells: list) -> bool:
    return all((c is None or str(c).strip() == "") for c in cells)


class SpreadsheetReader:
    """Header and data rows of an uploaded file. Rows are (line number, [cell text]) with blank lines skipped."""

    def __init__(self, data: bytes, *, filename: str = "", encoding: str = "", file_format: str = ""):
        self.data = bytes(data)
        if not self.data.strip():
            raise InvalidInput(fields={"file": [_("The file is empty.")]})
        self.file_format = file_format or file_format_of(filename, self.data)
        self.encoding = ""
        self.delimiter = ""
        if self.file_format == "csv":
            self.encoding = encoding or detect_encoding(self.data)
            # NUL cannot be stored in PostgreSQL text or JSON, and is never meant: drop it
            self.text = _decode(self.data, self.encoding).lstrip("\ufeff").replace("\x00", "")
            first_line = self.text.split("\n", 1)[0]
            self.delimiter = _detect_delimiter(first_line)
        self.headers, self._header_line = self._read_header()

    # CSV ----------------------------------------------------------------------------------------------

    def _csv_rows(self) -> Iterator[tuple[int, list]]:
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        try:
            start = 1
            for cells in reader:
                yield start, cells  # the line the record starts on (a quoted value may span lines)
                start = reader.line_num + 1
        except csv.Error as error:
            raise InvalidInput(
                fields={"file": [_("Line %(line)s is not valid CSV: %(error)s") % {"line": reader.line_num, "error": error}]}
            ) from None

    # Excel --------------------------------------------------------------------------------------------

    def _xlsx_rows(self) -> Iterator[tuple[int, list]]:

        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(self.data), read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds on a damaged or foreign zip
            raise InvalidInput(
                fields={"file": [_("The Excel file cannot be read (%(error)s).") % {"error": error}]}
            ) from None
        try:
            sheet = workbook.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(value) for value in values]
        finally:
            workbook.close()

    def _raw_rows(self) -> Iterator[tuple[int, list]]:
        return self._xlsx_rows() if self.file_format == "xlsx" else self._csv_rows()

    def _read_header(self) -> tuple[list[str], int]:
        for number, cells in self._raw_rows():
            if not _is_blank(cells):
                while cells and (cells[-1] is None or str(cells[-1]).strip() == ""):
                    cells = cells[:-1]
                return _unique_headers(cells), number
        raise InvalidInput(fields={"file": [_("The file has no header row.")]})

    def rows(self) -> Iterator[tuple[int, list[str], bool]]:
        """(number, cells, overflow) for each data row after the header, cells padded or cut to the
        header's width; `overflow` says the row had values beyond the last column. Blank rows are not rows."""
        width = len(self.headers)
        for number, cells in self._raw_rows():
            if number <= self._header_line or _is_blank(cells):
                continue
            cells = [("" if c is None else str(c)) for c in cells]
            overflow = any(c.strip() for c in cells[width:])
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            yield number, cells[:width], overflow

    def count_rows(self) -> int:
        return sum(1 for _row in self.rows())

    def samples(self, limit: int = 3) -> list[list[str]]:
        out = []
        for _number, cells, _overflow in self.rows():
            out.append(cells)
            if len(out) >= limit:
                break
        return out
