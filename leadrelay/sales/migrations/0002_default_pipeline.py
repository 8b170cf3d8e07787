"""The default pipeline and lost reasons, bilingual; admins can change them later."""

from django.db import migrations

STAGES = [
    ("Discovery", "ヒアリング", "open", 10),
    ("Proposal", "提案", "open", 30),
    ("Quote", "見積提示", "open", 50),
    ("Negotiation", "交渉・稟議", "open", 70),
    ("Won", "受注", "won", 100),
    ("Lost", "失注", "lost", 0),
]
REASONS = [
    ("Budget", "予算"),
    ("Timing", "時期・タイミング"),
    ("Chose a competitor", "競合を選定"),
    ("Missing features", "機能不足"),
    ("No decision maker reached", "決裁者に届かず"),
    ("No response", "連絡途絶"),
    ("Other", "その他"),
]


def create(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    PipelineStage = apps.get_model("sales", "PipelineStage")
    LostReason = apps.get_model("sales", "LostReason")
    SalesSettings = apps.get_model("sales", "SalesSettings")
    if not Pipeline.objects.exists():
        pipeline = Pipeline.objects.create(name="New business", is_default=True, currency="JPY")
        for order, (en, ja, kind, probability) in enumerate(STAGES):
            PipelineStage.objects.create(pipeline=pipeline, label_en=en, label_ja=ja, kind=kind, order=order,
                                         probability=probability)
    if not LostReason.objects.exists():
        for order, (en, ja) in enumerate(REASONS):
            LostReason.objects.create(label_en=en, label_ja=ja, order=order)
    SalesSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
