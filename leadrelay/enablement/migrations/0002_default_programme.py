"""The default onboarding programme: two weeks of basics, then field-sales shadowing with a report per deal.

New inside-sales members do not talk to customers until they pass; first-try failure is normal.
"""

from django.db import migrations

PROGRAMME = {
    "title_en": "Inside-sales onboarding",
    "title_ja": "インサイドセールス オンボーディング",
    "description_en": (
        "Inside sales is the first face customers meet, so new members take time to learn before working live "
        "leads: two weeks of basics (mission, roles, operations, product, customers' problems), then shadowing "
        "field sales from week 3 with a report on each deal shadowed. Passing every required assessment "
        "certifies you for live leads. Almost nobody passes everything on the first try, and that is expected."
    ),
    "description_ja": (
        "インサイドセールスはお客様が最初に接する大切な“顔”です。そのため実際のリードを担当する前に、"
        "じっくり時間をかけて学びます。最初の2週間は基本(ミッション、役割と責任範囲、業務の流れ、製品、"
        "お客様の課題)、3週目からはフィールドセールスに同行し、同行した案件ごとにレポートを提出します。"
        "必須の評価にすべて合格すると認定され、リードが割り当てられるようになります。"
        "一度で合格する人はほとんどいません。それが普通です。"
    ),
}

PHASES = [
    {
        "title_en": "Basics",
        "title_ja": "基本",
        "description_en": "Weeks 1-2: learn why inside sales exists, who does what, how leads flow, the product "
                          "and the problems our customers bring.",
        "description_ja": "1〜2週目:インサイドセールスの存在意義、誰が何を担うか、リードの流れ、製品、"
                          "お客様が抱える課題を学びます。",
        "start_week": 1,
        "due_week": 2,
        "materials": [
            ("Mission", "ミッション",
             "Read the team charter. Inside sales targets promising prospects, reaches them at the right moment, "
             "holds high-quality conversations, gives them the best learning and evaluation experience, builds a "
             "lasting relationship, and helps as many prospects as possible succeed. It is not a subcontractor "
             "of field sales: every detail of a call or an email stays close to the customer.",
             "チームのチャーターを読みましょう。インサイドセールスは優良見込顧客をターゲティングし、タイミングを逃さず、"
             "質の高い会話をして、最高の「学習・検討体験」を提供し、継続的な関係を築き、1社でも多くの見込客の成功を"
             "支援します。営業の下請けではありません。電話やメールの細部に至るまで、お客様に寄り添います。"),
            ("Roles and responsibilities", "役割と責任範囲",
             "Read each role's page: what marketing, inside sales and field sales do, in one line a newcomer "
             "understands, and what each is responsible for. Be ready to explain in one sentence what inside "
             "sales does.",
             "各ロールのページを読みましょう。マーケティング、インサイドセールス、フィールドセールスがそれぞれ何をするのか"
             "(新人にもわかる一行で)と責任範囲を理解し、「インサイドセールスは何をする部門か」を一言で説明できるように"
             "しましょう。"),
            ("Operations: how a lead moves", "オペレーション:リードの流れ",
             "Company score (fit) and behaviour score (interest) both over their thresholds make an MQL and an "
             "alert to inside sales. IS works the lead, logs every activity, and requests a handoff; the IS "
             "manager and then the FS manager decide before an FS rep gets it. Lost deals come back to IS with "
             "their reason. Marketing, IS and FS meet together.",
             "企業スコア(適合度)と行動スコア(関心度)の両方がしきい値を超えるとMQLとなり、インサイドセールスに"
             "アラートが届きます。ISはリードに対応し、すべての活動を記録して引き渡しを依頼します。ISマネージャー、"
             "次にFSマネージャーが判断してからFS担当者に渡ります。失注した案件は理由とともにISに戻ります。"
             "ミーティングはマーケティング・IS・FSの3部門合同で行います。"),
            ("The product", "製品",
             "Go through the product overview, the demo script and the main case studies. Note which problems "
             "each capability solves.",
             "製品概要、デモ台本、主要な導入事例に目を通し、それぞれの機能がどの課題を解決するかをまとめましょう。"),
            ("Customers' problems", "お客様の課題",
             "Study the target industries and business models, the usual problems customers bring, and how the "
             "product answers them. Read a few account research notes.",
             "ターゲット業界とビジネスモデル、お客様がよく抱える課題、それに製品がどう応えるかを学びましょう。"
             "アカウントの調査メモもいくつか読んでおきましょう。"),
        ],
        "assessments": [
            {
                "kind": "test",
                "title_en": "Basics test",
                "title_ja": "基本テスト",
                "instructions_en": "Answer every question. The pass mark is 80%. If you do not pass, review the "
                                   "materials and take it again; every attempt is kept.",
                "instructions_ja": "すべての問題に答えてください。合格点は80%です。不合格でも、資料を見直して"
                                   "何度でも再受験できます。すべての受験記録が残ります。",
                "pass_mark": 80,
                "questions": [
                    ("single", "What is the mission of inside sales?", "インサイドセールスのミッションは?", [
                        ("To help as many prospects as possible succeed, through timely, high-quality conversations",
                         "タイミングを逃さず質の高い会話をし、1社でも多くの見込客の成功を支援すること", True),
                        ("To book as many appointments for field sales as possible",
                         "フィールドセールスのためにできるだけ多くのアポを取ること", False),
                        ("To make as many calls as possible every day", "毎日できるだけ多く電話をかけること", False),
                    ]),
                    ("multiple", "Which two scores must both pass their thresholds for a lead to become an MQL?",
                     "リードがMQLになるために、しきい値を両方超える必要がある2つのスコアは?", [
                         ("Company score", "企業スコア", True),
                         ("Behaviour score", "行動スコア", True),
                         ("Number of calls made", "架電数", False),
                     ]),
                    ("single", "How does a lead go from inside sales to field sales?",
                     "リードはどのようにインサイドセールスからフィールドセールスへ渡りますか?", [
                         ("Through the IS manager and then the FS manager", "ISマネージャー、次にFSマネージャーを通じて", True),
                         ("The IS rep calls an FS rep directly", "IS担当者がFS担当者に直接連絡する", False),
                         ("Marketing assigns it", "マーケティングが割り当てる", False),
                     ]),
                    ("single", "What is the KGI of inside sales?", "インサイドセールスのKGIは?", [
                        ("Opportunities created", "商談化件数", True),
                        ("Calls made", "架電数", False),
                        ("Leads handed to field sales", "フィールドセールスへの送客数", False),
                    ]),
                    ("multiple", "Which KPIs guard against handing off low-quality leads?",
                     "確度の低い送客を防ぐために見るKPIは?", [
                         ("Connects", "コネクト件数", True),
                         ("Untouched leads", "Untouched数", True),
                         ("Handoffs alone", "送客数のみ", False),
                     ]),
                    ("single", "What happens to a lost deal?", "失注した案件はどうなりますか?", [
                        ("It comes back to inside sales with its reason", "理由とともにインサイドセールスに戻る", True),
                        ("It is deleted", "削除される", False),
                        ("It stays with field sales forever", "ずっとフィールドセールスが持つ", False),
                    ]),
                ],
            },
        ],
    },
    {
        "title_en": "Field-sales shadowing",
        "title_ja": "フィールドセールス同行",
        "description_en": "From week 3: shadow field-sales reps on real deals and write a report on each deal you "
                          "shadow; finish with a product presentation test.",
        "description_ja": "3週目から:フィールドセールスの実際の商談に同行し、同行した案件ごとにレポートを書きます。"
                          "最後に製品理解のテストを受けます。",
        "start_week": 3,
        "due_week": 4,
        "materials": [
            ("How to shadow a deal", "商談同行の心得",
             "Before the meeting, read the account's research notes and the lead's history. During it, note the "
             "customer's problem, the questions asked and how the field-sales rep answered. Afterwards, write "
             "your report the same day.",
             "商談の前にアカウントの調査メモとリードの履歴を読みましょう。商談中はお客様の課題、出た質問、"
             "フィールドセールスの回答をメモします。レポートは当日中に書きましょう。"),
            ("Writing a shadowing report", "同行レポートの書き方",
             "Answer: what was the customer's problem? What did field sales propose? What would help inside "
             "sales and field sales work better together on a deal like this?",
             "お客様の課題は何だったか。フィールドセールスはどのような提案をしたか。このような案件でISとFSが"
             "より連携するために何が必要か。これらに答えましょう。"),
        ],
        "assessments": [
            {
                "kind": "report",
                "title_en": "Shadowing report",
                "title_ja": "同行レポート",
                "instructions_en": "One report per deal you shadow; two deals with a passing report are needed. "
                                   "A manager grades each against the rubric (pass mark 70%) and comments. "
                                   "A report that does not pass yet can be rewritten and submitted again.",
                "instructions_ja": "同行した案件ごとに1本のレポートを提出します。合格レポートが2案件分必要です。"
                                   "マネージャーがルーブリックに沿って採点しコメントします(合格点70%)。"
                                   "不合格のレポートは書き直して再提出できます。",
                "pass_mark": 70,
                "passes_required": 2,
                "criteria": [
                    ("The customer's problem", "お客様の課題",
                     "States the problem in the customer's own terms, with its business impact.",
                     "お客様自身の言葉で課題を述べ、ビジネスへの影響まで捉えている。"),
                    ("Field sales' proposal", "フィールドセールスの提案",
                     "Explains what was proposed and why it fits the problem.",
                     "何を提案したか、なぜそれが課題に合うのかを説明している。"),
                    ("IS and FS working together", "ISとFSの連携",
                     "Names concrete things inside sales could do to make such deals go better.",
                     "このような商談をより良くするためにISができる具体的なことを挙げている。"),
                    ("Clarity", "わかりやすさ",
                     "Clear, short and written so a colleague can act on it.",
                     "簡潔で明快、同僚がそのまま行動に移せる書き方になっている。"),
                ],
            },
            {
                "kind": "test",
                "title_en": "Product understanding test",
                "title_ja": "製品理解テスト",
                "instructions_en": "Pass mark 80%. Retake it as often as you need.",
                "instructions_ja": "合格点は80%です。必要なだけ再受験できます。",
                "pass_mark": 80,
                "questions": [
                    ("single", "Before calling a new MQL, what should you read first?",
                     "新しいMQLに電話する前に、まず何を確認すべきですか?", [
                         ("Its score explanation, recent pages and account research notes",
                          "スコアの内訳、最近閲覧したページ、アカウントの調査メモ", True),
                         ("Nothing: speed is all that matters", "何も見ない。スピードだけが大事", False),
                         ("Only the company's name", "会社名だけ", False),
                     ]),
                    ("multiple", "What belongs in a handoff request?", "引き渡し依頼に含めるべきものは?", [
                        ("The customer's need", "お客様のニーズ", True),
                        ("Timing, budget and decision maker", "時期・予算・決裁者", True),
                        ("The agreed next step", "合意した次のステップ", True),
                        ("Your personal opinion of the salesperson", "営業担当者への個人的な意見", False),
                    ]),
                    ("single", "A visitor moved from product pages to case studies to pricing. What does it "
                               "suggest?",
                     "訪問者が製品ページ→事例→価格ページへ進みました。何を示していますか?", [
                         ("Their need is maturing", "ニーズが熟してきている", True),
                         ("They are lost on the site", "サイトで迷っている", False),
                         ("Nothing in particular", "特に意味はない", False),
                     ]),
                ],
            },
        ],
    },
]


def create_default_programme(apps, schema_editor):
    Programme = apps.get_model("enablement", "Programme")
    Phase = apps.get_model("enablement", "Phase")
    Material = apps.get_model("enablement", "Material")
    Assessment = apps.get_model("enablement", "Assessment")
    Question = apps.get_model("enablement", "Question")
    Choice = apps.get_model("enablement", "Choice")
    RubricCriterion = apps.get_model("enablement", "RubricCriterion")
    if Programme.objects.filter(is_default=True).exists():
        return
    programme = Programme.objects.create(is_default=True, **PROGRAMME)
    for phase_order, spec in enumerate(PHASES, start=1):
        phase = Phase.objects.create(
            programme=programme, order=phase_order, title_en=spec["title_en"], title_ja=spec["title_ja"],
            description_en=spec["description_en"], description_ja=spec["description_ja"],
            start_week=spec["start_week"], due_week=spec["due_week"],
        )
        for order, (title_en, title_ja, body_en, body_ja) in enumerate(spec["materials"], start=1):
            Material.objects.create(phase=phase, order=order, title_en=title_en, title_ja=title_ja,
                                    body_en=body_en, body_ja=body_ja)
        for order, item in enumerate(spec["assessments"], start=1):
            assessment = Assessment.objects.create(
                phase=phase, order=order, kind=item["kind"], title_en=item["title_en"], title_ja=item["title_ja"],
                instructions_en=item["instructions_en"], instructions_ja=item["instructions_ja"],
                pass_mark=item["pass_mark"], required=True, passes_required=item.get("passes_required", 1),
            )
            for q_order, (kind, text_en, text_ja, choices) in enumerate(item.get("questions", []), start=1):
                question = Question.objects.create(assessment=assessment, order=q_order, kind=kind, text_en=text_en,
                                                   text_ja=text_ja, points=1)
                for c_order, (c_en, c_ja, correct) in enumerate(choices, start=1):
                    Choice.objects.create(question=question, order=c_order, text_en=c_en, text_ja=c_ja,
                                          is_correct=correct)
            for c_order, (t_en, t_ja, d_en, d_ja) in enumerate(item.get("criteria", []), start=1):
                RubricCriterion.objects.create(assessment=assessment, order=c_order, title_en=t_en, title_ja=t_ja,
                                               description_en=d_en, description_ja=d_ja, max_points=5)


def remove_default_programme(apps, schema_editor):
    Programme = apps.get_model("enablement", "Programme")
    Enrolment = apps.get_model("enablement", "Enrolment")
    for programme in Programme.objects.filter(is_default=True, title_en=PROGRAMME["title_en"]):
        if not Enrolment.objects.filter(programme=programme).exists():
            programme.delete()


class Migration(migrations.Migration):
    dependencies = [("enablement", "0001_initial")]

    operations = [migrations.RunPython(create_default_programme, remove_default_programme)]
