"""Company names from different systems normalise to one matching key (imports dedupe accounts by it)."""

import pytest

from leadrelay.leads.normalize import normalize_company_name


@pytest.mark.parametrize(
    "name",
    ["株式会社ＡＢＣ", "(株)ABC", "（株）ＡＢＣ", "㈱ABC", "ABC株式会社", "ｶ)ABC", "ABC(ｶ", "ABC Co., Ltd.", "ABC Inc.",
     "ABC K.K.", "Kabushiki Gaisha ABC", "ＡＢＣ　株式会社", "abc corporation"],
)
def test_legal_forms_and_widths_are_ignored(name):
    """全角/半角 and every 株式会社 / (株) / Co., Ltd. form of the same company give the same key."""
    assert normalize_company_name(name) == "abc"


def test_words_that_merely_start_like_a_legal_form_are_kept():
    """'Inc' and 'Corp' are dropped only as whole words, so 'Incubate' and 'Corporate' stay intact."""
    assert normalize_company_name("Incubate Fund") == "incubatefund"
    assert normalize_company_name("Corporate Partners Corp.") == "corporatepartners"


def test_katakana_names_that_begin_like_the_bank_forms_are_kept():
    """Only the bank-transfer forms カ) / (カ are legal forms; カブト and ユニオン are names."""
    assert normalize_company_name("カブト株式会社") == "カブト"
    assert normalize_company_name("ユニオン") == "ユニオン"
    assert normalize_company_name("一般社団法人ＡＢＣ協会") == "abc協会"
