"""Normalising company names and domains for matching (全角/半角, 株式会社 / (株) forms)."""

from __future__ import annotations

import re
import unicodedata

_COMPANY_FORMS = re.compile(
    r"(株式会社|有限会社|合同会社|合資会社|合名会社|一般社団法人|一般財団法人|公益社団法人|公益財団法人|"
    r"特定非営利活動法人|npo法人|有限責任事業組合|カブシキガイシャ|カブシキカイシャ|ユウゲンガイシャ|"
    r"\((?:株|有|同|社|財)\)|^\(?[カユ]\)|\([カユ]\)?$|"
    r"\bkabushiki\s*[gk]aisha\b|\bco\.?,?\s*ltd\b\.?|\binc\b\.?|\bcorp\b\.?|\bcorporation\b|\bltd\b\.?|"
    r"\bllc\b|\bk\.?k\.?$)",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[\s\.,・'\"&\-_/()\[\]【】「」『』:;!?]+")

FREE_MAIL_DOMAINS = frozenset(
    {"gmail.com", "yahoo.co.jp", "yahoo.com", "hotmail.com", "outlook.com", "outlook.jp", "icloud.com",
     "docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp", "au.com", "live.jp", "me.com", "aol.com", "nifty.com",
     "proton.me", "protonmail.com"}
)


def normalize_company_name(name: str) -> str:
    """'株式会社ＡＢＣ' , '(株)ABC', '㈱ABC', 'ｶ)ABC', 'ABC Co., Ltd.' all become 'abc'.

    Full-width and half-width forms are unified (NFKC) and legal forms (株式会社, (株), 合同会社,
    一般社団法人, Inc., Co., Ltd., K.K., the bank-transfer カ) / (カ forms) are dropped wherever they stand.
    """
    text = unicodedata.normalize("NFKC", name or "").strip()
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
