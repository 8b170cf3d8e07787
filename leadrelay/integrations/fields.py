"""The fields an import can fill, the column headers recognised for each, and how cell values are read.

Headers of the usual exports are recognised (Salesforce, HubSpot, Marketo, Sansan, plain Japanese
spreadsheets); a header is compared after NFKC, case-folding and removing spaces and punctuation, so
"E-mail Address", "email_address" and "ＥメールAddress" are the same.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leadrelay.integrations.models import ImportTarget
from leadrelay.leads.models import Account, Lead
from leadrelay.leads.normalize import normalize_domain


@dataclass(frozen=True)
class ImportField:
    key: str
    label: str  # lazy
    targets: frozenset[str]
    headers: tuple[str, ...]


LEADS = ImportTarget.LEADS
ACCOUNTS = ImportTarget.ACCOUNTS
BOTH = frozenset({LEADS, ACCOUNTS})

FIELDS: tuple[ImportField, ...] = (
    ImportField("email", gettext_lazy("Email"), frozenset({LEADS}), (
        "email", "e-mail", "email address", "e-mail address", "work email", "business email", "primary email",
        "メールアドレス", "メール", "eメール", "eメールアドレス", "e-mailアドレス", "メールアドレス1", "連絡先メール",
    )),
    ImportField("last_name", gettext_lazy("Last name"), frozenset({LEADS}), (
        "last name", "lastname", "surname", "family name", "姓", "氏", "姓(漢字)", "苗字",
    )),
    ImportField("first_name", gettext_lazy("First name"), frozenset({LEADS}), (
        "first name", "firstname", "given name", "名", "名(漢字)", "下の名前",
    )),
    ImportField("full_name", gettext_lazy("Full name (split into last and first)"), frozenset({LEADS}), (
        "full name", "fullname", "contact name", "lead name", "person name", "氏名", "名前", "お名前", "担当者名",
        "氏名(漢字)",
    )),
    ImportField("phone", gettext_lazy("Phone"), frozenset({LEADS}), (
        "phone", "phone number", "business phone", "work phone", "telephone", "tel", "direct phone", "mobile",
        "mobile phone", "mobile phone number", "電話番号", "電話", "会社電話番号", "代表電話番号", "携帯電話",
        "携帯電話番号", "携帯番号", "tel番号",
    )),
    ImportField("title", gettext_lazy("Job title"), frozenset({LEADS}), (
        "title", "job title", "position", "role", "役職", "役職名", "肩書", "職位",
    )),
    ImportField("source", gettext_lazy("Lead source"), frozenset({LEADS}), (
        "lead source", "source", "original source", "person source", "latest source", "リードソース", "流入元",
        "獲得経路", "リード獲得元",
    )),
    ImportField("consent_email", gettext_lazy("Email consent (yes/no)"), frozenset({LEADS}), (
        "email consent", "email opt in", "opted in", "marketing consent", "メール配信同意", "メール配信許諾",
        "配信許諾",
    )),
    ImportField("company", gettext_lazy("Company name"), BOTH, (
        "company", "company name", "account name", "account", "organization", "organisation", "company / account",
        "associated company", "employer", "会社名", "企業名", "法人名", "社名", "取引先名", "所属企業", "勤務先",
        "会社名(漢字)",
    )),
    ImportField("domain", gettext_lazy("Website / domain"), BOTH, (
        "website", "domain", "company domain name", "website url", "web site", "company website", "url", "homepage",
        "ウェブサイト", "webサイト", "ホームページ", "ホームページurl", "会社url", "ドメイン", "url(会社)",
    )),
    ImportField("industry", gettext_lazy("Industry"), BOTH, (
        "industry", "industry type", "sic description", "業種", "業界", "業種名",
    )),
    ImportField("employees", gettext_lazy("Employees"), BOTH, (
        "employees", "number of employees", "no. of employees", "numberofemployees", "employee count",
        "company size", "従業員数", "社員数", "従業員規模", "従業員数(人)",
    )),
    ImportField("region", gettext_lazy("Region / prefecture"), BOTH, (
        "region", "state", "state/province", "state/region", "province", "prefecture", "billing state/province",
        "billing state", "都道府県", "地域", "所在地(都道府県)",
    )),
    ImportField("business_model", gettext_lazy("Business model"), BOTH, (
        "business model", "ビジネスモデル", "収益モデル",
    )),
    ImportField("target_tier", gettext_lazy("Target tier (A/B/C)"), frozenset({ACCOUNTS}), (
        "target tier", "tier", "account tier", "ターゲットランク", "ランク", "ターゲット区分",
    )),
    ImportField("research_notes", gettext_lazy("IR / research notes"), frozenset({ACCOUNTS}), (
        "description", "notes", "research notes", "about", "company description", "メモ", "備考", "企業概要",
    )),
    ImportField("is_customer", gettext_lazy("Customer (yes/no)"), frozenset({ACCOUNTS}), (
        "customer", "is customer", "顧客", "既存顧客",
    )),
)

FIELDS_BY_KEY = {field.key: field for field in FIELDS}
# Headers that mean different things per target: "Name" is a person in a lead file, a company in an account file.
_TARGET_HEADERS = {
    LEADS: {"name": "full_name"},
    ACCOUNTS: {"name": "company", "account name": "company", "company name": "company"},
}
LEAD_KEYS = frozenset({"email", "last_name", "first_name", "full_name", "phone", "title", "source", "consent_email"})
ACCOUNT_KEYS = frozenset(
    {"company", "domain", "industry", "employees", "region", "business_model", "target_tier", "research_notes",
     "is_customer"}
)

_HEADER_NOISE = re.compile(r"[\s\-_\.\(\)（）/:：・\*＊\[\]]+")


def header_key(header: str) -> str:
    """The comparable form of a column header."""
    text = unicodedata.normalize("NFKC", str(header or "")).casefold().strip()
    return _HEADER_NOISE.sub("", text)


_RECOGNISED: dict[str, dict[str, str]] = {}
for _target in (LEADS, ACCOUNTS):
    table = {}
    for _field in FIELDS:
        if _target in _field.targets:
            for _header in _field.headers:
                table.setdefault(header_key(_header), _field.key)
    for _header, _key in _TARGET_HEADERS[_target].items():
        table[header_key(_header)] = _key
    _RECOGNISED[_target] = table


def fields_for(target: str) -> list[ImportField]:
    return [field for field in FIELDS if target in field.targets]


def recognise(target: str, header: str) -> str:
    """The field a column header means for `target`, or '' when it is not recognised."""
    return _RECOGNISED.get(target, {}).get(header_key(header), "")


def guess_mapping(target: str, headers: list[str], remembered: dict[str, str] | None = None) -> dict[str, str]:
    """{header: field}: the remembered choice for that header first, then the recognised one, else ''."""
    remembered = remembered or {}
    valid = {field.key for field in fields_for(target)}
    mapping = {}
    for header in headers:
        if header in remembered and (remembered[header] in valid or remembered[header] == ""):
            mapping[header] = remembered[header]
        else:
            mapping[header] = recognise(target, header)
    return mapping


def validate_mapping(target: str, mapping: dict[str, str], headers: list[str]) -> dict[str, list[str]]:
    """Field errors of a mapping (empty when it can be used)."""
    valid = {field.key for field in fields_for(target)}
    errors: dict[str, list[str]] = {}
    unknown_headers = sorted(set(mapping) - set(headers))
    if unknown_headers:
        errors.setdefault("mapping", []).append(
            _("These columns are not in the file: %(cols)s.") % {"cols": ", ".join(unknown_headers)}
        )
    unknown_fields = sorted({value for value in mapping.values() if value and value not in valid})
    if unknown_fields:
        errors.setdefault("mapping", []).append(
            _("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown_fields)}
        )
    chosen = {value for value in mapping.values() if value}
    if target == LEADS and not chosen & {"email", "last_name", "full_name", "phone"}:
        errors.setdefault("mapping", []).append(
            _("Map at least one column to email, last name, full name or phone, so each person can be recognised.")
        )
    if target == ACCOUNTS and "company" not in chosen:
        errors.setdefault("mapping", []).append(_("Map a column to the company name."))
    return errors


# Reading cell values ------------------------------------------------------------------------------------

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def clean_cell(value) -> str:
    """A cell as text: trimmed, and without the ' that an export put before a would-be formula."""
    text = "" if value is None else str(value)
    text = text.strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


class CellError(ValueError):
    """A value that cannot be imported; the message is shown in the report."""


def parse_email(text: str) -> str:
    email = _nfkc(text).replace(" ", "").lower()
    if email.startswith("mailto:"):
        email = email[7:]
    try:
        validate_email(email)
    except ValidationError:
        raise CellError(_("“%(value)s” is not an email address.") % {"value": text}) from None
    return email


_INTEGER = re.compile(r"\d[\d,]*")


def parse_employees(text: str) -> int:
    """'1,200', '1200名', '100～499人' (the lower bound) and '５００' are numbers of employees."""
    value = _nfkc(text)
    match = _INTEGER.search(value)
    if match is None or value.lstrip().startswith("-"):
        raise CellError(_("“%(value)s” is not a number of employees.") % {"value": text})
    number = int(match.group().replace(",", ""))
    if number > 10_000_000:
        raise CellError(_("“%(value)s” is not a number of employees.") % {"value": text})
    return number


def parse_domain(text: str) -> str:
    domain = normalize_domain(text)
    if not domain or "." not in domain or " " in domain or len(domain) > 253 or "@" in domain:
        raise CellError(_("“%(value)s” is not a domain name.") % {"value": text})
    return domain


_TRUE = {"1", "yes", "y", "true", "t", "x", "on", "はい", "有", "あり", "○", "◯", "〇", "許可", "同意", "済", "opt in",
         "opted in", "subscribed"}
_FALSE = {"0", "no", "n", "false", "f", "off", "いいえ", "無", "なし", "×", "✕", "不可", "拒否", "未", "opt out",
          "opted out", "unsubscribed"}


def parse_bool(text: str) -> bool:
    value = _nfkc(text).casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise CellError(_("“%(value)s” is neither yes nor no.") % {"value": text})


_SOURCE_WORDS = {
    Lead.Source.WEB: ("web", "website", "organic", "organic search", "direct traffic", "seo", "ウェブ", "webサイト", "自然検索"),
    Lead.Source.FORM: ("form", "inquiry", "web form", "contact us", "問い合わせ", "お問い合わせ", "資料請求", "フォーム"),
    Lead.Source.WEBINAR: ("webinar", "ウェビナー", "セミナー", "seminar"),
    Lead.Source.IMPORT: ("import", "list", "list import", "purchased list", "offline sources", "インポート", "リスト"),
    Lead.Source.OUTBOUND: ("outbound", "cold call", "prospecting", "アウトバウンド", "テレアポ"),
    Lead.Source.REFERRAL: ("referral", "partner", "partner referral", "employee referral", "紹介", "パートナー"),
    Lead.Source.EVENT: ("event", "trade show", "tradeshow", "exhibition", "conference", "展示会", "イベント", "名刺交換"),
    Lead.Source.OTHER: ("other", "その他"),
}
_SOURCES = {header_key(word): source for source, words in _SOURCE_WORDS.items() for word in words}
_SOURCES.update({header_key(str(label)): value for value, label in Lead.Source.choices})
_SOURCES.update({value: value for value in Lead.Source.values})


def parse_source(text: str) -> tuple[str, str | None]:
    """The lead source and, when the text was not one we know, a note that it was kept as "Other"."""
    source = _SOURCES.get(header_key(text))
    if source:
        return source, None
    return Lead.Source.OTHER, _("Source “%(value)s” recorded as Other.") % {"value": text}


_BUSINESS_MODEL_WORDS = {
    Account.BusinessModel.SUBSCRIPTION: ("subscription", "saas", "recurring", "サブスクリプション", "サブスク", "継続課金"),
    Account.BusinessModel.ONE_TIME: ("one-time", "one time", "one_time", "売り切り", "単発", "一括販売"),
    Account.BusinessModel.MARKETPLACE: ("marketplace", "マーケットプレイス"),
    Account.BusinessModel.SERVICES: ("services", "service", "consulting", "サービス", "受託", "コンサルティング"),
    Account.BusinessModel.OTHER: ("other", "その他"),
}
_BUSINESS_MODELS = {header_key(w): model for model, words in _BUSINESS_MODEL_WORDS.items() for w in words}


def parse_business_model(text: str) -> str:
    model = _BUSINESS_MODELS.get(header_key(text))
    if model is None:
        for value, label in Account.BusinessModel.choices:
            if header_key(str(label)) == header_key(text):
                return value
        raise CellError(_("“%(value)s” is not a business model we know.") % {"value": text})
    return model


def parse_tier(text: str) -> str:
    value = _nfkc(text).upper().removeprefix("TIER").strip()
    if value in {"A", "B", "C"}:
        return value
    raise CellError(_("“%(value)s” is not a target tier (A, B or C).") % {"value": text})


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def split_full_name(text: str) -> tuple[str, str]:
    """(last, first): '山田 太郎' is last-first, 'Taro Yamada' first-last; one word is the last name."""
    parts = _nfkc(text).split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return parts[0], ""
    if _CJK.search(text):
        return parts[0], " ".join(parts[1:])
    return parts[-1], " ".join(parts[:-1])
