"""The default team charter: the inside-sales mission and one page per role, in English and Japanese.

Written from the seven-element framework Marketo Japan used to build its inside-sales team
(elements 1 and 2: mission, roles and responsibilities). Admins edit it in the app; every edit
becomes a new version, so this text stays visible as version 1.
"""

from django.db import migrations

NOTE = "Initial charter, written from the Marketo Japan inside-sales framework"

MISSION = {
    "title_en": "Our inside-sales mission",
    "title_ja": "インサイドセールスのミッション",
    "summary_en": (
        "Target the best-fit prospects, reach them at the right moment, hold high-quality conversations that give "
        "customers the best learning and evaluation experience, build lasting relationships, and help as many "
        "prospective companies as possible succeed."
    ),
    "summary_ja": (
        "優良見込顧客をターゲティングし、タイミングを逃さず、質の高い会話をして、お客様に最高の「学習・検討体験」を提供して、"
        "継続的な関係性を構築し、1社でも多くの見込客の成功を支援すること。"
    ),
    "body_en": "\n".join([
        "We are not a subcontractor of field sales: we start from the customer's point of view and ask what each prospect and customer needs from us.",
        "We care about every detail of a conversation, from a phone call to the wording of an email.",
        "\"Help as many prospective companies as possible succeed\" is the heart of the mission; we do not chase short-term counts of calls or appointments.",
        "Our result (KGI) is the number of opportunities created. We watch handoffs, connects and Untouched leads together so the team grows in a healthy way.",
        "Marketing, inside sales and field sales work as one team: shared meetings, shared data, and the loop back when a deal is lost.",
    ]),
    "body_ja": "\n".join([
        "私たちは営業の下請けではありません。徹底的に顧客目線に立ち、見込顧客・既存顧客に対して何をすべきかを考えます。",
        "電話での会話やメールの文章など、細部に至るまで顧客に寄り添ってこだわります。",
        "「1社でも多くの見込客の成功を支援すること」がミッションの核です。電話件数やアポ件数のような短期的な数字だけを追いません。",
        "私たちの成果(KGI)は商談化件数です。送客数・コネクト件数・Untouched数をあわせて見ることで、組織の健全な成長を目指します。",
        "マーケティング、インサイドセールス、フィールドセールスは一つのチームです。ミーティングもデータも共有し、失注したリードも振り返ります。",
    ]),
}

ROLES = {
    "admin": {
        "title_en": "Admin",
        "title_ja": "管理者",
        "summary_en": "Keeps LeadRelay and the team's definitions in order: members, roles, teams and this charter.",
        "summary_ja": "LeadRelayとチームの定義を整える人。メンバー、ロール、チーム、そしてこの憲章を管理します。",
        "body_en": [
            "Grant and revoke roles, create teams and name their managers.",
            "Keep the mission and the role pages current, and say why in the note of each edit.",
            "Configure tracking, integrations, API access and the other settings of the system.",
            "Review the framework regularly: when the team is stuck, check that each of the seven elements is defined.",
        ],
        "body_ja": [
            "ロールの付与・取り消し、チームの作成と責任者の指名を行います。",
            "ミッションと各ロールのページを最新に保ち、編集のたびに理由をメモに残します。",
            "トラッキング、連携、APIアクセスなどシステムの設定を管理します。",
            "定期的にフレームワークを振り返ります。壁に当たったときは、7つの要素がそれぞれ定義されているか確認します。",
        ],
    },
    "marketing": {
        "title_en": "Marketing",
        "title_ja": "マーケティング",
        "summary_en": "Brings prospects in and tells inside sales who is ready to talk, and when.",
        "summary_ja": "見込客を集め、今話すべきお客様とそのタイミングをインサイドセールスに知らせる人。",
        "body_en": [
            "Run the website, webinars and campaigns that create interest among target companies.",
            "Maintain the company score (target industries and business models, such as IT and subscription) and the behaviour score (product, case study, pricing, contact pages).",
            "Set the MQL thresholds, and check with inside sales that alerts lead to real conversations.",
            "Nurture leads that are not ready yet, and take back the leads inside sales returns to nurture.",
            "Follow what happens to handed-over leads, including lost deals and their reasons, to improve targeting.",
            "Take part in the joint marketing, inside-sales and field-sales meeting.",
        ],
        "body_ja": [
            "ターゲット企業の関心を生むWebサイト、ウェビナー、キャンペーンを運営します。",
            "企業スコア(IT業界、サブスクリプション型など重要ターゲットの業種・ビジネスモデル)と行動スコア(製品、事例、価格、問い合わせページ)を整備します。",
            "MQLのしきい値を設定し、アラートが実際の会話につながっているかをインサイドセールスと確認します。",
            "まだ検討段階にないリードを育成し、インサイドセールスがナーチャリングに戻したリードを引き受けます。",
            "引き渡したリードの営業進ちょく、失注とその理由まで追い、ターゲティングを改善します。",
            "マーケティング・インサイドセールス・フィールドセールスの3部門合同ミーティングに参加します。",
        ],
    },
    "is_rep": {
        "title_en": "Inside-sales rep",
        "title_ja": "インサイドセールス担当",
        "summary_en": "The customer's first contact: a salesperson in the marketing department whose job is to help customers succeed.",
        "summary_ja": "お客様に最初に対応する接点(ファーストコンタクト)。マーケティング部門に所属し、お客様の成功を支援する営業です。",
        "body_en": [
            "Contact every MQL alert without delay, so that no lead stays Untouched.",
            "Hold quality conversations by phone, email and letter, caring about every detail of the wording.",
            "Learn enough about marketing to advise prospects on their challenges.",
            "Research target accounts (IR information, news) and reach out with letters and calls.",
            "Log every call, email and meeting, so the whole team sees what happened.",
            "Qualify need, timing, budget, authority and next step, then request the handoff through your IS manager, never directly to field sales.",
            "Take back lost and recycled leads, update contacts and keep the records current.",
        ],
        "body_ja": [
            "MQLアラートにはタイミングを逃さず対応し、Untouchedのリードを残しません。",
            "電話・メール・手紙で質の高い会話をし、言葉の細部までこだわります。",
            "見込客のマーケティングの相談に乗れるよう、知識を身に付けます。",
            "ターゲット企業のIR情報やニュースを読み込み、手紙や電話でアプローチします。",
            "電話・メール・面談をすべて記録し、チーム全員が経緯を見られるようにします。",
            "ニーズ、時期、予算、決裁者、次のステップを確認し、インサイドセールス責任者を通じて引き渡しを依頼します。フィールドセールスに直接渡すことはしません。",
            "失注・リサイクルされたリードを引き取り、担当者の変更などを更新してデータを常に最新に保ちます。",
        ],
    },
    "is_manager": {
        "title_en": "Inside-sales manager",
        "title_ja": "インサイドセールス責任者",
        "summary_en": "Leads the inside-sales team to its goal, opportunities created, and guards the quality of every handoff.",
        "summary_ja": "インサイドセールスチームを目標(商談化件数)に導き、引き渡すリードの質を守る人。",
        "body_en": [
            "Own the team's KGI (opportunities created) and review each rep's KPIs with them: handoffs, connects, Untouched leads and appointments.",
            "Approve or reject each handoff request, with a reason, before it goes to field sales.",
            "Guard quality: more handoffs that do not become opportunities are not success.",
            "Assign leads and balance the load between reps, including those who are away.",
            "Run onboarding: new reps learn the mission, roles and operations, shadow field sales and pass their tests before they get live leads.",
            "Agree with the field-sales manager and marketing in the joint meeting.",
        ],
        "body_ja": [
            "チームのKGI(商談化件数)に責任を持ち、送客数・コネクト件数・Untouched数・アポ件数といった各担当のKPIを一緒に確認します。",
            "引き渡し依頼を承認または理由を添えて差し戻してから、フィールドセールスに渡します。",
            "質を守ります。商談にならない送客を増やしても成果ではありません。",
            "リードを割り当て、不在のメンバーも考慮して担当間の負荷を調整します。",
            "新任者の研修を担います。ミッション・役割・業務の流れを学び、フィールドセールスに同行し、テストに合格してから実際のリードを担当させます。",
            "合同ミーティングでフィールドセールス責任者、マーケティングと連携します。",
        ],
    },
    "fs_rep": {
        "title_en": "Field-sales rep",
        "title_ja": "フィールドセールス担当",
        "summary_en": "Turns qualified leads into deals: meets the customer, makes the proposal and closes.",
        "summary_ja": "引き渡されたリードを商談にし、お客様を訪問して提案し、受注まで導く人。",
        "body_en": [
            "Follow up accepted leads quickly and create the opportunity.",
            "Keep each opportunity's stage, amount and expected close date current.",
            "When a deal is lost, record the reason and notes so that inside sales and marketing learn from it.",
            "Enrich account and contact records, so inside sales has what it needs.",
            "Take new inside-sales reps along to meetings during their shadowing weeks.",
        ],
        "body_ja": [
            "受け取ったリードに素早く対応し、商談を作成します。",
            "商談のステージ、金額、受注予定日を常に最新にします。",
            "失注した場合は理由とメモを残し、インサイドセールスとマーケティングが振り返れるようにします。",
            "企業・担当者の情報を補足し、インサイドセールスが必要なデータを戻します。",
            "新任のインサイドセールスが同行研修の期間中、商談に同行させます。",
        ],
    },
    "fs_manager": {
        "title_en": "Field-sales manager",
        "title_ja": "フィールドセールス責任者",
        "summary_en": "Receives handoffs from inside sales and gives each one to the right field-sales rep.",
        "summary_ja": "インサイドセールスからの引き渡しを受け取り、適切なフィールドセールス担当に割り当てる人。",
        "body_en": [
            "Accept approved handoffs and assign a field-sales rep, or send them back with a clear reason.",
            "Watch the handoff-to-opportunity rate and give inside sales feedback on lead quality.",
            "Review the team's pipeline, wins and losses.",
            "Build trust between inside and field sales: handoffs go from manager to manager.",
            "Take part in the joint marketing, inside-sales and field-sales meeting.",
        ],
        "body_ja": [
            "承認された引き渡しを受け入れてフィールドセールス担当を割り当てるか、明確な理由を添えて差し戻します。",
            "引き渡しから商談化までの率を確認し、リードの質についてインサイドセールスにフィードバックします。",
            "チームのパイプライン、受注・失注を確認します。",
            "インサイドセールスとフィールドセールスの信頼関係を築きます。引き渡しは責任者どうしを通じて行います。",
            "マーケティング・インサイドセールス・フィールドセールスの合同ミーティングに参加します。",
        ],
    },
}


def create_default_charter(apps, schema_editor):
    CharterPage = apps.get_model("org", "CharterPage")
    CharterVersion = apps.get_model("org", "CharterVersion")
    pages = [("mission", "", MISSION)]
    for role, text in ROLES.items():
        pages.append(("role", role, {**text, "body_en": "\n".join(text["body_en"]), "body_ja": "\n".join(text["body_ja"])}))
    for kind, role, text in pages:
        page, _ = CharterPage.objects.get_or_create(kind=kind, role=role)
        if page.current_id is not None:
            continue
        version = CharterVersion.objects.create(page=page, number=1, edited_by=None, note=NOTE, **text)
        page.current = version
        page.save(update_fields=["current"])


def remove_default_charter(apps, schema_editor):
    CharterPage = apps.get_model("org", "CharterPage")
    CharterPage.objects.filter(versions__number=1, versions__note=NOTE).delete()


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]

    operations = [migrations.RunPython(create_default_charter, remove_default_charter)]
