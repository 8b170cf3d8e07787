from django.db import migrations


def load_defaults(apps, schema_editor):
    from leadrelay.scoring.defaults import create_default_ruleset

    RuleSet = apps.get_model("scoring", "RuleSet")
    if RuleSet.objects.exists():
        return
    create_default_ruleset(RuleSet, apps.get_model("scoring", "FitRule"), apps.get_model("scoring", "BehaviourRule"))


def unload_defaults(apps, schema_editor):
    apps.get_model("scoring", "RuleSet").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [("scoring", "0001_initial")]

    operations = [migrations.RunPython(load_defaults, unload_defaults)]
