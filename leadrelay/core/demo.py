"""The demo organisation: its members (with known passwords) and a realistic B2B dataset.

`seed_demo()` makes members of every role, teams, accounts, leads spread over the lifecycle with
their history, and IS activities. Each lead is first *planned* (a list of timed steps); a plan is
then written either through the leads services, one call per step with the clock set to the step's
time, or in bulk, writing exactly the rows those services would write. Bulk is the fast path for
large datasets; a test keeps both writers in agreement.

Other apps add their own demo data by registering a handler for the "seed_demo" hook
(core.hooks); it is called once the core data exists, with keyword arguments `rng`
(random.Random, seeded), `size` (leads requested), `now`, `users` (username -> User) and
`stdout`. Handlers should accept **kwargs so new arguments do not break them.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from leadrelay.leads.lifecycle import Stage
from leadrelay.leads.models import Account, AccountHistory, Lead, LeadHistory
from leadrelay.leads.normalize import normalize_company_name
from leadrelay.org.models import Role, Team, User

BULK_THRESHOLD = 50  # above this many leads, "auto" writes in bulk


# Members ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    roles: tuple[str, ...]
    last_name: str
    first_name: str
    language: str  # "" follows the browser
    started_days_ago: int

    @property
    def password(self) -> str:
        return f"demo-{self.username}"


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", (Role.ADMIN,), "Morgan", "Alex", "", 900),
    DemoUser("marketing", (Role.MARKETING,), "鈴木", "美咲", "ja", 700),
    DemoUser("is_manager", (Role.IS_MANAGER,), "高橋", "直樹", "ja", 800),
    DemoUser("is_rep1", (Role.IS_REP,), "佐藤", "健", "ja", 400),
    DemoUser("is_rep2", (Role.IS_REP,), "Clark", "Emily", "en", 300),
    DemoUser("is_rep3", (Role.IS_REP,), "田中", "葵", "ja", 10),  # a newcomer, still in onboarding
    # Like the first inside-sales hire in the seed story, who also did field sales.
    DemoUser("is_fs_rep", (Role.IS_REP, Role.FS_REP), "伊藤", "翔", "ja", 1000),
    DemoUser("fs_manager", (Role.FS_MANAGER,), "渡辺", "大輔", "ja", 850),
    DemoUser("fs_rep1", (Role.FS_REP,), "Brown", "Michael", "en", 500),
    DemoUser("fs_rep2", (Role.FS_REP,), "山本", "さくら", "ja", 350),
)

DEMO_TEAMS = (
    # name, function, manager, members
    ("Inside Sales", Team.Function.INSIDE_SALES, "is_manager", ("is_rep1", "is_rep2", "is_rep3", "is_fs_rep")),
    ("Field Sales", Team.Function.FIELD_SALES, "fs_manager", ("fs_rep1", "fs_rep2", "is_fs_rep")),
    ("Marketing", Team.Function.MARKETING, "marketing", ("marketing",)),
)

# Reps who get live leads (the newcomer is not certified yet).
LIVE_IS_REPS = ("is_rep1", "is_rep2", "is_fs_rep")
FS_REPS = ("fs_rep1", "fs_rep2", "is_fs_rep")


# Vocabulary ---------------------------------------------------------------------------------------------

INDUSTRIES = (  # industry, weight, business models with weights, Japanese suffixes, English suffixes
    ("IT", 20, {"subscription": 5, "services": 4, "one_time": 1},
     [("テック", "tech"), ("システムズ", "systems"), ("ソフト", "soft"), ("データ", "data")],
     ["Technologies", "Systems", "Software"]),
    ("SaaS", 15, {"subscription": 9, "marketplace": 1},
     [("クラウド", "cloud"), ("ラボ", "lab"), ("ソリューションズ", "solutions")], ["Cloud", "Labs", "Analytics"]),
    ("Manufacturing", 15, {"one_time": 7, "services": 2, "subscription": 1},
     [("製作所", "seisakusho"), ("工業", "kogyo"), ("精機", "seiki"), ("電機", "denki")],
     ["Manufacturing", "Industries", "Precision"]),
    ("Retail", 10, {"one_time": 5, "marketplace": 3, "subscription": 2},
     [("商事", "shoji"), ("リテール", "retail"), ("ストア", "store")], ["Retail", "Stores", "Trading"]),
    ("Finance", 10, {"services": 5, "subscription": 3, "other": 2},
     [("ファイナンス", "finance"), ("証券", "securities"), ("ペイメント", "payment")], ["Capital", "Financial", "Pay"]),
    ("Healthcare", 7, {"services": 5, "one_time": 3, "subscription": 2},
     [("メディカル", "medical"), ("ヘルスケア", "healthcare"), ("製薬", "pharma")], ["Health", "Medical", "Pharma"]),
    ("Logistics", 7, {"services": 7, "subscription": 1},
     [("物流", "butsuryu"), ("ロジスティクス", "logistics"), ("運輸", "unyu")], ["Logistics", "Freight", "Transport"]),
    ("Education", 5, {"subscription": 4, "services": 3},
     [("アカデミー", "academy"), ("教育", "kyoiku")], ["Learning", "Academy", "Education"]),
    ("Real estate", 5, {"services": 4, "one_time": 3},
     [("不動産", "fudosan"), ("ハウジング", "housing")], ["Realty", "Properties", "Estates"]),
    ("Media", 6, {"subscription": 4, "other": 3, "services": 2},
     [("メディア", "media"), ("出版", "shuppan"), ("広告", "kokoku")], ["Media", "Publishing", "Studios"]),
)

JA_STEMS = (
    ("サンプル", "sample"), ("ミライ", "mirai"), ("アオバ", "aoba"), ("ヒカリ", "hikari"), ("サクラ", "sakura"),
    ("東洋", "toyo"), ("大和", "yamato"), ("富士", "fuji"), ("北斗", "hokuto"), ("青葉", "aoba"),
    ("新星", "shinsei"), ("中央", "chuo"), ("朝日", "asahi"), ("瑞穂", "mizuho"), ("銀河", "ginga"),
    ("若葉", "wakaba"), ("スマート", "smart"), ("ネクスト", "next"), ("グローバル", "global"), ("みなと", "minato"),
    ("ハーモニー", "harmony"), ("いろは", "iroha"), ("常盤", "tokiwa"), ("創和", "sowa"), ("明星", "myojo"),
)
EN_STEMS = (
    "Northwind", "Blue Harbor", "Summit", "Crescent", "Evergreen", "Pioneer", "Redwood", "Silverline",
    "Brightpath", "Keystone", "Atlas", "Horizon", "Lumen", "Orbit", "Granite", "Meridian", "Cobalt", "Willow",
)
REGIONS = (("Tokyo", 40), ("Osaka", 14), ("Kanagawa", 8), ("Aichi", 8), ("Fukuoka", 6), ("Hokkaido", 4),
           ("Saitama", 4), ("Kyoto", 4), ("Hiroshima", 3), ("Miyagi", 3), ("Singapore", 3), ("California", 3))
AREA_CODES = {"Tokyo": "03", "Osaka": "06", "Kanagawa": "045", "Aichi": "052", "Fukuoka": "092", "Hokkaido": "011",
              "Saitama": "048", "Kyoto": "075", "Hiroshima": "082", "Miyagi": "022"}
RESEARCH_NOTES_JA = (
    "中期経営計画でサブスクリプション事業の拡大を掲げている。",
    "決算説明資料によると、新規顧客獲得コストの削減が課題。",
    "IR資料で営業のデジタル化とインサイドセールス部門の新設に言及。",
    "海外展開を加速中。マーケティング部門を増員している。",
)
RESEARCH_NOTES_EN = (
    "IR: plans to grow recurring revenue to half of sales within three years.",
    "Annual report mentions rising customer acquisition cost as a key risk.",
    "New CMO hired last quarter; announced a digital sales initiative.",
    "Expanding into APAC; hiring for marketing operations.",
)

JA_LAST = (("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"), ("伊藤", "ito"),
           ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"), ("小林", "kobayashi"),
           ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"), ("佐々木", "sasaki"), ("山口", "yamaguchi"),
           ("松本", "matsumoto"), ("井上", "inoue"), ("木村", "kimura"), ("林", "hayashi"), ("清水", "shimizu"),
           ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"), ("石川", "ishikawa"), ("前田", "maeda"))
JA_FIRST = (("健太", "kenta"), ("翔太", "shota"), ("大輔", "daisuke"), ("拓也", "takuya"), ("直人", "naoto"),
            ("陽子", "yoko"), ("美穂", "miho"), ("麻衣", "mai"), ("彩", "aya"), ("恵", "megumi"), ("浩二", "koji"),
            ("誠", "makoto"), ("由美", "yumi"), ("優子", "yuko"), ("亮", "ryo"), ("真由美", "mayumi"),
            ("大樹", "daiki"), ("千尋", "chihiro"), ("和也", "kazuya"), ("香織", "kaori"))
EN_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
           "Thomas", "Moore", "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright", "Lopez", "Hill")
EN_FIRST = ("James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Mia", "Lucas",
            "Amelia", "Henry", "Grace", "Daniel", "Chloe", "Ryan", "Hannah", "Kevin", "Laura")
JA_TITLES = ("マーケティング部 部長", "マーケティング部 課長", "営業企画部 マネージャー", "情報システム部 部長",
             "経営企画室 室長", "デジタル推進部 担当", "営業本部 本部長", "代表取締役", "執行役員 CMO",
             "カスタマーサクセス部 リーダー", "広報部 担当")
EN_TITLES = ("Marketing Manager", "Head of Sales", "CTO", "IT Director", "VP Marketing", "Operations Manager",
             "Demand Generation Lead", "CEO", "Sales Operations Analyst", "Head of Customer Success")
SOURCES = (("web", 28), ("form", 20), ("webinar", 15), ("import", 10), ("outbound", 10), ("event", 9),
           ("referral", 6), ("other", 2))

# The stage each lead ends in, with weights (a funnel: many known, fewer deals).
FINAL_STAGES = ((Stage.ANONYMOUS, 4), (Stage.KNOWN, 30), (Stage.MQL, 8), (Stage.WORKING, 14), (Stage.NURTURE, 8),
                (Stage.DISQUALIFIED, 5), (Stage.HANDOFF_REQUESTED, 3), (Stage.HANDOFF_APPROVED, 2),
                (Stage.ACCEPTED, 3), (Stage.OPPORTUNITY, 7), (Stage.WON, 6), (Stage.LOST, 5), (Stage.RECYCLED, 5))

REASONS = {
    "mql": "Company score and behaviour score both crossed the MQL thresholds",
    "round_robin": "Round robin among available inside-sales reps",
    "outbound": "Target account research: assigned for outbound",
    "identified": "Identified by a form fill",
    "recycled": "Lost deal returned to inside sales",
}
NURTURE_REASONS = {
    "ja": ("今期は予算がなく、来期に再検討とのこと", "情報収集段階。半年後に再度連絡", "担当者が異動。後任の確認待ち"),
    "en": ("No budget this fiscal year; revisit next quarter", "Still researching; follow up in six months",
           "Contact changed roles; waiting to meet the successor"),
}
DISQUALIFY_REASONS = {
    "ja": ("学生・求職者からの問い合わせ", "競合企業", "対象外の規模(従業員5名以下)"),
    "en": ("Student or job seeker", "Competitor", "Company too small for the offering"),
}
HANDOFF_NOTES = {
    "ja": ("ニーズ: MAとSFAの連携。時期: 来期4月。予算: 確保済み。決裁者: 事業部長。次: 訪問でデモ",
           "ニーズ: リード管理の属人化解消。時期: 3か月以内。予算: 検討中。決裁者: CMO。次: 提案の場を設定"),
    "en": ("Need: connect MA and SFA. Timing: next April. Budget: approved. Authority: division head. "
           "Next: on-site demo",
           "Need: stop losing inbound leads. Timing: within 3 months. Budget: being set. Authority: CMO. "
           "Next: proposal"),
}
REJECT_REASONS = ("Rejected: the budget owner is not confirmed yet", "Rejected: timing unclear; qualify again")
LOST_REASONS = ("Chose a competitor", "No budget", "Project postponed", "No decision made", "Price")
CALL_NOTES = {
    "ja": ("ご担当者と会話。現状の課題をヒアリング", "不在。改めて架電予定", "事例資料をお送りすることで合意",
           "ウェビナーの感想を伺った。前向き"),
    "en": ("Talked to the contact about their current process", "Not available; will call again",
           "Agreed to send the case study", "Asked about the webinar; positive"),
}


# Plans ----------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One timed change to a lead: a stage move, an (FS) owner change, or an IS activity."""

    kind: str  # "stage" | "assign" | "fs_owner" | "activity"
    at: datetime
    actor: str | None = None  # username; None is the system
    to_stage: str = ""
    owner: str | None = None  # for assign / fs_owner
    reason: str = ""
    activity_kind: str = ""
    outcome: str = ""
    notes: str = ""
    link_previous_activity: bool = False  # the stage move records the activity that caused it


@dataclass
class AccountPlan:
    name: str
    domain: str
    industry: str
    business_model: str
    employees: int
    region: str
    target_tier: str
    research_notes: str
    owner: str | None
    is_japanese: bool
    is_customer: bool = False
    created_at: datetime | None = None


@dataclass
class LeadPlan:
    account: int  # index into the account plans
    fields: dict
    created_at: datetime
    initial_stage: str
    steps: list[Step] = field(default_factory=list)


def _weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


def plan_accounts(rng: random.Random, count: int, *, now: datetime, taken_domains: set[str]) -> list[AccountPlan]:
    plans = []
    for index in range(count):
        industry, _, models, ja_suffixes, en_suffixes = rng.choices(INDUSTRIES, weights=[i[1] for i in INDUSTRIES])[0]
        is_japanese = index == 0 or rng.random() < 0.7
        if is_japanese:
            stem, stem_romaji = (JA_STEMS[0] if index == 0 else rng.choice(JA_STEMS))
            suffix, suffix_romaji = (("テック", "tech") if index == 0 else rng.choice(ja_suffixes))
            name = f"株式会社{stem}{suffix}" if index == 0 or rng.random() < 0.6 else f"{stem}{suffix}株式会社"
            base_domain, tld = f"{stem_romaji}-{suffix_romaji}", ".co.jp"
        else:
            stem, suffix = rng.choice(EN_STEMS), rng.choice(en_suffixes)
            name = f"{stem} {suffix} {rng.choice(['Inc.', 'K.K.', 'Ltd.', 'Co., Ltd.'])}"
            base_domain, tld = f"{stem}{suffix}".lower().replace(" ", ""), rng.choice([".com", ".jp", ".io"])
        domain, n = f"{base_domain}{tld}", 2
        while domain in taken_domains:
            domain, n = f"{base_domain}{n}{tld}", n + 1
        taken_domains.add(domain)
        employees = max(3, min(80_000, int(math.exp(rng.gauss(5.0, 1.6)))))
        business_model = _weighted(rng, models.items())
        fit = (30 if industry in ("IT", "SaaS") else 0) + (30 if business_model == "subscription" else 0) + (
            10 if employees >= 100 else 0)
        tier = "A" if fit >= 60 else "B" if fit >= 30 else "C" if employees >= 300 else ""
        notes = ""
        if tier in ("A", "B") and rng.random() < 0.5:
            notes = rng.choice(RESEARCH_NOTES_JA if is_japanese else RESEARCH_NOTES_EN)
        owner = rng.choice(LIVE_IS_REPS) if tier == "A" and rng.random() < 0.6 else None
        created_at = now - timedelta(days=200 + rng.random() * 400)
        plans.append(AccountPlan(
            name=name, domain=domain, industry=industry, business_model=business_model, employees=employees,
            region=_weighted(rng, REGIONS), target_tier=tier, research_notes=notes, owner=owner,
            is_japanese=is_japanese, created_at=created_at,
        ))
    return plans


def _person(rng: random.Random, account: AccountPlan, taken_emails: set[str]) -> dict:
    if account.is_japanese and rng.random() < 0.85:
        (last, last_r), (first, first_r) = rng.choice(JA_LAST), rng.choice(JA_FIRST)
        title = rng.choice(JA_TITLES)
    else:
        last, first = rng.choice(EN_LAST), rng.choice(EN_FIRST)
        last_r, first_r = last.lower(), first.lower()
        title = rng.choice(EN_TITLES)
    local, n = f"{first_r}.{last_r}", 2
    while f"{local}@{account.domain}" in taken_emails:
        local, n = f"{first_r}.{last_r}{n}", n + 1
    email = f"{local}@{account.domain}"
    taken_emails.add(email)
    phone = ""
    if rng.random() < 0.7:
        area = AREA_CODES.get(account.region, "050")
        phone = f"{area}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
    return {"email": email, "first_name": first, "last_name": last, "title": title, "phone": phone,
            "consent_email": rng.random() < 0.7}


def _language_of(username: str | None) -> str:
    for user in DEMO_USERS:
        if user.username == username:
            return "ja" if user.language == "ja" else "en"
    return "en"


class _Timeline:
    """Hands out increasing step times between a lead's creation and now."""

    def __init__(self, rng: random.Random, start: datetime, now: datetime):
        self.rng, self.at, self.now = rng, start, now

    def after(self, mean_hours: float) -> datetime:
        room = (self.now - timedelta(minutes=5) - self.at).total_seconds()
        gap = min(self.rng.expovariate(1 / (mean_hours * 3600)), max(room, 0) * 0.5)
        self.at = self.at + timedelta(seconds=max(gap, 1))
        return self.at


def plan_lead(rng: random.Random, account_index: int, account: AccountPlan, *, now: datetime,
              taken_emails: set[str]) -> LeadPlan:
    final = _weighted(rng, FINAL_STAGES)
    if final != Stage.ANONYMOUS and account.owner and rng.random() < 0.5:
        source = "outbound"  # a researched target account: the rep reached out first
    else:
        source = _weighted(rng, SOURCES)
    # Recent leads are more common than old ones; the oldest are about half a year old.
    age = timedelta(days=180 * (rng.random() ** 1.6))
    created = now - age - timedelta(minutes=10)
    clock = _Timeline(rng, created, now)
    steps: list[Step] = []
    if final == Stage.ANONYMOUS:
        return LeadPlan(account_index, {"source": "web"}, created, Stage.ANONYMOUS)
    fields = {**_person(rng, account, taken_emails), "source": source}
    initial = Stage.KNOWN
    if source in ("web", "form") and rng.random() < 0.25:
        initial = Stage.ANONYMOUS  # a visitor first, identified later by a form fill
        steps.append(Step("stage", clock.after(48), to_stage=Stage.KNOWN, reason=REASONS["identified"]))
    if final == Stage.KNOWN:
        return LeadPlan(account_index, fields, created, initial, steps)

    rep = account.owner or rng.choice(LIVE_IS_REPS)
    lang = _language_of(rep)
    if source == "outbound":
        steps.append(Step("assign", clock.after(24), actor="is_manager", owner=rep, reason=REASONS["outbound"]))
        steps.append(Step("activity", clock.after(20), actor=rep, activity_kind="letter",
                          notes=rng.choice(RESEARCH_NOTES_JA if lang == "ja" else RESEARCH_NOTES_EN)))
        steps.append(Step("activity", clock.after(30), actor=rep, activity_kind="call", outcome="connected",
                          notes=rng.choice(CALL_NOTES[lang])))
        steps.append(Step("stage", clock.at, actor=rep, to_stage=Stage.WORKING, link_previous_activity=True,
                          reason="First activity: Call"))
    else:
        steps.append(Step("stage", clock.after(72), to_stage=Stage.MQL, reason=REASONS["mql"]))
        if final == Stage.MQL and rng.random() < 0.3:
            return LeadPlan(account_index, fields, created, initial, steps)  # still in the unassigned queue
        steps.append(Step("assign", clock.after(0.05), owner=rep, reason=REASONS["round_robin"]))
        if final == Stage.MQL:
            return LeadPlan(account_index, fields, created, initial, steps)  # assigned, not yet touched
        if final == Stage.DISQUALIFIED and rng.random() < 0.4:
            steps.append(Step("stage", clock.after(6), actor=rep, to_stage=Stage.DISQUALIFIED,
                              reason=rng.choice(DISQUALIFY_REASONS[lang])))
            return LeadPlan(account_index, fields, created, initial, steps)
        outcome = _weighted(rng, (("no_answer", 4), ("connected", 3), ("voicemail", 2)))
        steps.append(Step("activity", clock.after(4), actor=rep, activity_kind="call", outcome=outcome,
                          notes=rng.choice(CALL_NOTES[lang])))
        steps.append(Step("stage", clock.at, actor=rep, to_stage=Stage.WORKING, link_previous_activity=True,
                          reason="First activity: Call"))
    for _ in range(rng.randint(0, 3)):
        kind = rng.choice(("call", "call", "email"))
        outcome = (_weighted(rng, (("no_answer", 3), ("connected", 3), ("voicemail", 1))) if kind == "call"
                   else rng.choice(("", "replied")))
        steps.append(Step("activity", clock.after(36), actor=rep, activity_kind=kind, outcome=outcome,
                          notes=rng.choice(CALL_NOTES[lang])))
    if final == Stage.WORKING:
        return LeadPlan(account_index, fields, created, initial, steps)
    if final == Stage.NURTURE:
        steps.append(Step("stage", clock.after(48), actor=rep, to_stage=Stage.NURTURE,
                          reason=rng.choice(NURTURE_REASONS[lang])))
        return LeadPlan(account_index, fields, created, initial, steps)
    if final == Stage.DISQUALIFIED:
        steps.append(Step("stage", clock.after(48), actor=rep, to_stage=Stage.DISQUALIFIED,
                          reason=rng.choice(DISQUALIFY_REASONS[lang])))
        return LeadPlan(account_index, fields, created, initial, steps)

    # Qualified: an appointment, then the handoff through both managers (DESIGN.md "Lead lifecycle").
    steps.append(Step("activity", clock.after(24), actor=rep, activity_kind="call", outcome="appointment_set",
                      notes=rng.choice(CALL_NOTES[lang])))
    steps.append(Step("stage", clock.after(2), actor=rep, to_stage=Stage.HANDOFF_REQUESTED,
                      reason=rng.choice(HANDOFF_NOTES[lang])))
    if final == Stage.HANDOFF_REQUESTED:
        return LeadPlan(account_index, fields, created, initial, steps)
    if rng.random() < 0.12:  # the IS manager sends some back first
        steps.append(Step("stage", clock.after(20), actor="is_manager", to_stage=Stage.WORKING,
                          reason=rng.choice(REJECT_REASONS)))
        steps.append(Step("activity", clock.after(30), actor=rep, activity_kind="call", outcome="connected",
                          notes=rng.choice(CALL_NOTES[lang])))
        steps.append(Step("stage", clock.after(4), actor=rep, to_stage=Stage.HANDOFF_REQUESTED,
                          reason=rng.choice(HANDOFF_NOTES[lang])))
    steps.append(Step("stage", clock.after(16), actor="is_manager", to_stage=Stage.HANDOFF_APPROVED,
                      reason="Qualified: need, timing and next step confirmed"))
    if final == Stage.HANDOFF_APPROVED:
        return LeadPlan(account_index, fields, created, initial, steps)
    fs_rep = rng.choice(FS_REPS)
    steps.append(Step("fs_owner", clock.after(20), actor="fs_manager", owner=fs_rep, reason="Accepted by field sales"))
    steps.append(Step("stage", clock.at, actor="fs_manager", to_stage=Stage.ACCEPTED, reason="Accepted by field sales"))
    if final == Stage.ACCEPTED:
        return LeadPlan(account_index, fields, created, initial, steps)
    steps.append(Step("stage", clock.after(96), actor=fs_rep, to_stage=Stage.OPPORTUNITY, reason="Opportunity created"))
    if final == Stage.OPPORTUNITY:
        return LeadPlan(account_index, fields, created, initial, steps)
    if final == Stage.WON:
        steps.append(Step("stage", clock.after(500), actor=fs_rep, to_stage=Stage.WON, reason="Closed won"))
        account.is_customer = True
        return LeadPlan(account_index, fields, created, initial, steps)
    steps.append(Step("stage", clock.after(400), actor=fs_rep, to_stage=Stage.LOST,
                      reason=f"Lost: {rng.choice(LOST_REASONS)}"))
    if final == Stage.RECYCLED:
        steps.append(Step("stage", clock.after(24), to_stage=Stage.RECYCLED, reason=REASONS["recycled"]))
    return LeadPlan(account_index, fields, created, initial, steps)


# Writing ----------------------------------------------------------------------------------------------


@contextmanager
def simulated_clock(at: datetime) -> Iterator[None]:
    """Services stamp rows with timezone.now(); demo history lies in the past, so the clock is set to it."""
    original = timezone.now
    timezone.now = lambda: at
    try:
        yield
    finally:
        timezone.now = original


@contextmanager
def explicit_timestamps(*model_fields) -> Iterator[None]:
    """Let bulk writes keep the given created/updated times instead of auto_now(_add)."""
    saved = [(f, f.auto_now, f.auto_now_add) for f in model_fields]
    for f, _, _ in saved:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _activity_model():
    from leadrelay.desk.models import Activity

    return Activity


def write_accounts(plans: list[AccountPlan], users: dict[str, User]) -> list[Account]:
    """Accounts and their "created" history rows, as account_create writes them."""
    rows = [
        Account(
            name=p.name, normalized_name=normalize_company_name(p.name), domains=[p.domain], primary_domain=p.domain,
            industry=p.industry, business_model=p.business_model, employees=p.employees, region=p.region,
            research_notes=p.research_notes, target_tier=p.target_tier, owner=users.get(p.owner) if p.owner else None,
            is_customer=p.is_customer, created_at=p.created_at, updated_at=p.created_at,
        )
        for p in plans
    ]
    with explicit_timestamps(Account._meta.get_field("created_at"), Account._meta.get_field("updated_at")):
        accounts = Account.objects.bulk_create(rows, batch_size=500)
    AccountHistory.objects.bulk_create(
        [AccountHistory(account=a, actor=None, at=p.created_at, changes={"created": True}, reason="")
         for a, p in zip(accounts, plans, strict=True)],
        batch_size=500,
    )
    return accounts


def write_lead_with_services(plan: LeadPlan, account: Account, users: dict[str, User]) -> Lead:
    """Write one planned lead through the leads services, each call at its step's time."""
    from leadrelay.leads import services

    Activity = _activity_model()
    with simulated_clock(plan.created_at):
        lead = services.lead_create(actor=None, stage=plan.initial_stage, account=account, **plan.fields)
    last_activity = None
    for step in plan.steps:
        actor = users.get(step.actor) if step.actor else None
        with simulated_clock(step.at):
            if step.kind == "stage":
                data = {"activity": last_activity.pk} if step.link_previous_activity and last_activity else None
                lead = services.lead_transition(actor=actor, lead=lead, to_stage=step.to_stage, reason=step.reason,
                                                workflow=True, at=step.at, data=data)
            elif step.kind == "assign":
                lead = services.lead_assign(actor=actor, lead=lead, owner=users[step.owner], reason=step.reason,
                                            at=step.at)
            elif step.kind == "fs_owner":
                lead = services.lead_set_fs_owner(actor=actor, lead=lead, fs_owner=users[step.owner],
                                                  reason=step.reason)
            elif step.kind == "activity":
                last_activity = Activity.objects.create(
                    lead=lead, actor=actor, kind=step.activity_kind, outcome=step.outcome, notes=step.notes,
                    occurred_at=step.at,
                )
    return lead


def write_leads_in_bulk(plans: list[LeadPlan], accounts: list[Account], users: dict[str, User],
                        progress: Callable[[int], None] | None = None, batch: int = 2000) -> int:
    """Write planned leads with bulk inserts: the same rows the services would write, far faster."""
    Activity = _activity_model()
    lead_fields = [Lead._meta.get_field("created_at"), Lead._meta.get_field("updated_at")]
    activity_fields = [Activity._meta.get_field("created_at")]
    written = 0
    for start in range(0, len(plans), batch):
        chunk = plans[start:start + batch]
        leads = []
        for plan in chunk:
            lead = Lead(account=accounts[plan.account], stage=plan.initial_stage, created_at=plan.created_at,
                        updated_at=plan.created_at, stage_changed_at=plan.created_at, **plan.fields)
            lead.email = (lead.email or "").lower() or None
            for step in plan.steps:
                if step.kind == "stage":
                    lead.stage, lead.stage_changed_at, lead.updated_at = step.to_stage, step.at, step.at
                    if step.to_stage == Stage.MQL:
                        lead.cycle += 1
                elif step.kind == "assign":
                    lead.owner, lead.assigned_at, lead.updated_at = users[step.owner], step.at, step.at
                elif step.kind == "fs_owner":
                    lead.fs_owner, lead.updated_at = users[step.owner], step.at
            leads.append(lead)
        with explicit_timestamps(*lead_fields):
            Lead.objects.bulk_create(leads, batch_size=500)

        activities, activity_for_step = [], {}
        for plan, lead in zip(chunk, leads, strict=True):
            for i, step in enumerate(plan.steps):
                if step.kind == "activity":
                    activity = Activity(lead=lead, actor=users.get(step.actor), kind=step.activity_kind,
                                        outcome=step.outcome, notes=step.notes, occurred_at=step.at,
                                        created_at=step.at)
                    activities.append(activity)
                    activity_for_step[(lead.pk, i)] = activity
        with explicit_timestamps(*activity_fields):
            Activity.objects.bulk_create(activities, batch_size=500)

        history = []
        for plan, lead in zip(chunk, leads, strict=True):
            history.append(LeadHistory(
                lead=lead, kind=LeadHistory.Kind.CREATED, to_stage=plan.initial_stage, actor=None,
                at=plan.created_at, reason="", data={"source": plan.fields.get("source", Lead.Source.OTHER),
                                                     "owner": None},
            ))
            stage, owner, fs_owner, last_activity = plan.initial_stage, None, None, None
            for i, step in enumerate(plan.steps):
                actor = users.get(step.actor) if step.actor else None
                if step.kind == "stage":
                    data = {"activity": last_activity.pk} if step.link_previous_activity and last_activity else {}
                    history.append(LeadHistory(lead=lead, kind=LeadHistory.Kind.STAGE, from_stage=stage,
                                               to_stage=step.to_stage, actor=actor, at=step.at, reason=step.reason,
                                               data=data))
                    stage = step.to_stage
                elif step.kind == "assign":
                    new_owner = users[step.owner]
                    history.append(LeadHistory(lead=lead, kind=LeadHistory.Kind.ASSIGNED, actor=actor, at=step.at,
                                               reason=step.reason, data={"from": owner, "to": new_owner.pk}))
                    owner = new_owner.pk
                elif step.kind == "fs_owner":
                    new_owner = users[step.owner]
                    history.append(LeadHistory(lead=lead, kind=LeadHistory.Kind.ASSIGNED, actor=actor, at=step.at,
                                               reason=step.reason, data={"fs_from": fs_owner, "fs_to": new_owner.pk}))
                    fs_owner = new_owner.pk
                elif step.kind == "activity":
                    last_activity = activity_for_step[(lead.pk, i)]
        LeadHistory.objects.bulk_create(history, batch_size=1000)
        written += len(chunk)
        if progress:
            progress(len(chunk))
    return written


# Members and teams --------------------------------------------------------------------------------------


def ensure_demo_members(*, now: datetime) -> dict[str, User]:
    """Create the demo members and teams (or reuse those that exist); username -> User."""
    from concurrent.futures import ThreadPoolExecutor

    from django.contrib.auth.hashers import make_password

    from leadrelay.org import services

    missing = [spec for spec in DEMO_USERS if not User.objects.filter(username=spec.username).exists()]
    # Password hashing is slow on purpose and releases the GIL: hash the demo passwords side by side.
    with ThreadPoolExecutor(max_workers=max(1, min(len(missing), os.cpu_count() or 1))) as pool:
        hashes = dict(zip([s.username for s in missing], pool.map(make_password, [s.password for s in missing]),
                          strict=True))
    users: dict[str, User] = {}
    for spec in DEMO_USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = services.user_create(
                username=spec.username, password_hash=hashes[spec.username], password="", roles=list(spec.roles),
                email=f"{spec.username}@demo.leadrelay.example", first_name=spec.first_name,
                last_name=spec.last_name, language=spec.language,
                started_on=(now - timedelta(days=spec.started_days_ago)).date(),
            )
        users[spec.username] = user
    for name, function, manager, members in DEMO_TEAMS:
        if not Team.objects.filter(name=name).exists():
            services.team_create(name=name, function=function, manager=users[manager],
                                 members=[users[m] for m in members])
    return users


# The whole dataset ------------------------------------------------------------------------------------


@dataclass
class SeedResult:
    users: dict[str, User]
    accounts: int
    leads: int
    method: str


def seed_demo(*, leads: int, seed: int = 42, method: str = "auto", now: datetime | None = None,
              progress: Callable[[int], None] | None = None, stdout=None) -> SeedResult:
    """Make the demo organisation with `leads` leads; the same seed gives the same data."""
    if method not in ("auto", "services", "bulk"):
        raise ValueError(f"unknown method {method!r}")
    if method == "auto":
        method = "services" if leads <= BULK_THRESHOLD else "bulk"
    now = now or timezone.now()
    rng = random.Random(seed)
    with transaction.atomic():
        users = ensure_demo_members(now=now)
        taken_domains = {d.lower() for d in Account.objects.exclude(primary_domain="")
                         .values_list("primary_domain", flat=True)}
        taken_emails = {e.lower() for e in Lead.objects.exclude(email=None).values_list("email", flat=True)}
        account_plans = plan_accounts(rng, max(5, leads // 4), now=now, taken_domains=taken_domains)
        lead_plans = []
        for _ in range(leads):
            index = min(int(rng.paretovariate(1.2)) - 1, len(account_plans) - 1)  # a few big accounts
            index = rng.randrange(len(account_plans)) if rng.random() < 0.6 else index
            lead_plans.append(plan_lead(rng, index, account_plans[index], now=now, taken_emails=taken_emails))
        accounts = write_accounts(account_plans, users)
        if method == "bulk":
            write_leads_in_bulk(lead_plans, accounts, users, progress=progress)
        else:
            for plan in lead_plans:
                write_lead_with_services(plan, accounts[plan.account], users)
                if progress:
                    progress(1)
        from leadrelay.desk.services import mql_first_touches_rebuild

        mql_first_touches_rebuild()  # the demo writes history and activities directly
        _notify_reps(users)

    from leadrelay.core import hooks

    hooks.emit("seed_demo", rng=random.Random(seed + 1), size=leads, now=now, users=users, stdout=stdout)
    return SeedResult(users=users, accounts=len(accounts), leads=leads, method=method)


def _notify_reps(users: dict[str, User]) -> None:
    """An unread in-app notice per untouched MQL, so the demo's bell has something to show."""
    from django.urls import reverse
    from django.utils import translation
    from django.utils.translation import gettext as _

    from leadrelay.core.services import notification_create

    untouched = (Lead.objects.filter(stage=Stage.MQL, owner__isnull=False).select_related("owner", "account")
                 .order_by("-stage_changed_at")[:60])
    for lead in untouched:
        with translation.override(lead.owner.language or "en"):
            notification_create(
                user=lead.owner, kind="lead_assigned",
                title=_("New MQL for you: %(name)s") % {"name": lead.display_name},
                body=lead.account.name if lead.account else "",
                url=reverse("leads:lead_detail", args=[lead.pk]), dedupe_key=f"demo-mql:{lead.pk}",
            )


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, roles) for every demo member, for `demo_serve` to print."""
    labels = dict(Role.choices)
    return [(u.username, u.password, ", ".join(str(labels[r]) for r in u.roles)) for u in DEMO_USERS]
