"""Reading files and cell values: encodings, delimiters, header recognition and value parsing."""

import codecs

import pytest

from leadrelay.core import periodic
from leadrelay.core.exceptions import InvalidInput
from leadrelay.integrations import fields
from leadrelay.integrations.readers import SpreadsheetReader, detect_encoding
from leadrelay.integrations.testing import csv_bytes, xlsx_bytes

ROWS = [["会社名", "氏名"], ["株式会社ＡＢＣ", "山田 太郎"]]


@pytest.mark.parametrize(("data", "encoding"), [
    (codecs.BOM_UTF8 + csv_bytes(ROWS), "utf-8-sig"),
    (csv_bytes(ROWS), "utf-8"),
    (csv_bytes(ROWS, encoding="cp932"), "cp932"),
    (csv_bytes(ROWS, encoding="shift_jis"), "cp932"),
    (csv_bytes(ROWS, encoding="utf-16"), "utf-16"),
    (csv_bytes(ROWS, encoding="euc_jp"), "euc_jp"),
])
def test_encodings_are_detected(data, encoding):
    reader = SpreadsheetReader(data, filename="x.csv")
    assert reader.encoding == encoding and detect_encoding(data) == encoding
    assert reader.headers == ["会社名", "氏名"]
    assert list(reader.rows()) == [(2, ["株式会社ＡＢＣ", "山田 太郎"], False)]


def test_cp932_only_characters_read_as_shift_jis():
    """Windows' Shift_JIS has ①, ㈱ and 髙 that plain Shift_JIS lacks; they still read."""
    data = csv_bytes([["会社名"], ["㈱髙島屋①"]], encoding="cp932")
    assert [cells for _n, cells, _o in SpreadsheetReader(data, filename="x.csv").rows()] == [["㈱髙島屋①"]]


def test_semicolons_quoted_newlines_blank_lines_and_duplicate_headers():
    data = 'Email;Email;Notes\r\n\r\na@x.example;b@x.example;"two\nlines"\r\n;;\r\n'.encode()
    reader = SpreadsheetReader(data, filename="x.csv")
    assert reader.delimiter == ";" and reader.headers == ["Email", "Email (2)", "Notes"]
    assert list(reader.rows()) == [(3, ["a@x.example", "b@x.example", "two\nlines"], False)]


def test_xlsx_header_may_start_below_blank_rows_and_numbers_become_text():
    reader = SpreadsheetReader(xlsx_bytes([[None], ["ID", "Employees"], [1.0, 2.5]]), filename="x.xlsx")
    assert reader.headers == ["ID", "Employees"]
    assert list(reader.rows()) == [(3, ["1", "2.5"], False)]


def test_old_xls_and_headerless_files_are_refused():
    with pytest.raises(InvalidInput):
        SpreadsheetReader(b"\xd0\xcf\x11\xe0 old", filename="old.xls")
    with pytest.raises(InvalidInput):
        SpreadsheetReader(b"\n\n,,\n", filename="x.csv")


@pytest.mark.parametrize(("text", "number"), [("1,200", 1200), ("５００", 500), ("100～499人", 100), ("50名", 50)])
def test_employee_counts(text, number):
    assert fields.parse_employees(text) == number


@pytest.mark.parametrize("text", ["many", "-5", "", "99999999999"])
def test_bad_employee_counts(text):
    with pytest.raises(fields.CellError):
        fields.parse_employees(text)


def test_emails_are_normalised_and_checked():
    assert fields.parse_email(" Taro@ＡＢＣ.co.jp ") == "taro@abc.co.jp"
    assert fields.parse_email("mailto:a@b.example") == "a@b.example"
    for bad in ("a@", "@b.example", "a b@c.example@", "not-an-email"):
        with pytest.raises(fields.CellError):
            fields.parse_email(bad)


def test_names_split_by_script():
    assert fields.split_full_name("山田　太郎") == ("山田", "太郎")
    assert fields.split_full_name("Taro Yamada") == ("Yamada", "Taro")
    assert fields.split_full_name("Mary Ann Smith") == ("Smith", "Mary Ann")
    assert fields.split_full_name("山田") == ("山田", "")


def test_values_of_choices():
    assert fields.parse_source("展示会") == ("event", None)
    assert fields.parse_source("Organic Search")[0] == "web"
    assert fields.parse_source("Carrier pigeon") == ("other", "Source “Carrier pigeon” recorded as Other.")
    assert fields.parse_business_model("SaaS") == "subscription"
    assert fields.parse_business_model("Subscription") == "subscription"
    assert fields.parse_tier("tier b") == "B"
    assert fields.parse_bool("はい") is True and fields.parse_bool("Unsubscribed") is False
    with pytest.raises(fields.CellError):
        fields.parse_bool("maybe")
    with pytest.raises(fields.CellError):
        fields.parse_domain("not a domain")
    assert fields.parse_domain("https://www.Example.co.jp/about") == "example.co.jp"


def test_the_worker_sweeps_due_webhook_deliveries():
    assert "webhook_deliver_due" in [job.name for job in periodic.jobs()]


def test_hostile_files_are_refused_cleanly():
    """A zip that is not a workbook or a gigantic cell is a file error, never a crash; NUL characters are dropped."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    for data, name in ((buffer.getvalue(), "fake.xlsx"), (b'Email\r\n"' + b"x" * 1_100_000 + b'"\r\n', "huge.csv")):
        with pytest.raises(InvalidInput) as error:
            reader = SpreadsheetReader(data, filename=name)
            list(reader.rows())
        assert "file" in error.value.fields
    reader = SpreadsheetReader(b"Email\x00,Name\r\na\x00@x.example,b\r\n", filename="nul.csv")
    assert reader.headers == ["Email", "Name"] and list(reader.rows()) == [(2, ["a@x.example", "b"], False)]
