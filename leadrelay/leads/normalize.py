"""Normalising company names and domains for matching (全角/半角, 株式会社 / (株) forms)."""

from __future__ import annotations

import re
import unicodedata

_COMPANY_FORMS = re.compile(
    r"(株式会社|有限会社|合同会社|合資会社|合名会社|\(株\)|\(有\)|\(同\)|"
    r"\bkabushiki\s*kaisha\b|\bco\.?,?\s*ltd\.?|\binc\.?|\bcorp\.?|\bcorporation\b|\bltd\.?|\bllc\b|\bk\.?k\.?$)",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[\s\.,・'\"&\-_/]+")

FREE_MAIL_DOMAINS = frozenset(
    {"gmail.com", "yahoo.co.jp", "yahoo.com", "hotmail.com", "outlook.com", "outlook.jp", "icloud.com",
     "docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp", "au.com", "live.jp", "me.com", "aol.com", "nifty.com",
     "proton.me", "protonmail.com"}
)


def normalize_company_name(name: str) -> str:
    """'株式会社ＡＢＣ' , '(株)ABC', 'ABC Co., Ltd.' all become 'abc'."""
    text = unicodedata.normalize("NFKC", name or "")
    text = text.replace("㈱", "(株)").replace("㈲", "(有)")
    text = _COMPANY_FORMS.sub(" ", text)
    return _NON_WORD.sub("", text).lower()


def normalize_domain(value: str) -> str:
    """'https://www.Example.co.jp/path' -> 'example.co.jp'."""
    text = unicodedata.normalize("NFKC", value or "").strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/")[0].split(":")[0]
    return text.removeprefix("www.")


def email_domain(email: str) -> str:
    """The company domain of an address, or '' for free-mail providers."""
    if not email or "@" not in email:
        return ""
    domain = normalize_domain(email.rsplit("@", 1)[1])
    return "" if domain in FREE_MAIL_DOMAINS else domain
