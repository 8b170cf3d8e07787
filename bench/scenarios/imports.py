"""Imports: a leads file as a marketer exports it from an exhibition scanner or another CRM.

- imports.leads_csv: `manage.py import_leads` of an `import_rows`-row CSV (100k at full scale) with Japanese
  headers (UTF-8 with BOM, as Excel saves it): one row in five is a lead already in LeadRelay (matched by email
  and updated), the rest are new people, half of them at companies already known (matched by domain or by
  normalised company name), the others at new companies. Every row goes through the same parsing, validation,
  dedupe, history and consent rules as the Imports page. The figure is the command's whole-process wall time
  and its rate, beside the database's own bulk insert rate. The rows a run created are removed after it
  (untimed), so every repeat imports the same file into the same data.
"""

from __future__ import annotations

import csv
import io
import random

from bench.core import scenario

HEADERS = ["メールアドレス", "姓", "名", "会社名", "役職", "電話番号", "メール配信同意"]
TITLES = ["部長", "課長", "マネージャー", "エンジニア", "営業企画", "情報システム部", "代表取締役"]
SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
GIVEN = ["翔", "陽菜", "蓮", "結衣", "大翔", "葵", "悠真", "凛", "湊", "芽依"]
EMAIL_PREFIX = "bench-import-"


def _csv(ctx) -> bytes:
    from leadrelay.leads.models import Lead

    rng = random.Random(9)
    rows = ctx.size("import_rows")
    existing = list(Lead.objects.order_by("pk").values_list("email", flat=True)[: rows // 5 * 4 or 1])
    accounts = max(ctx.size("accounts"), 1)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for n in range(rows):
        if n % 5 == 0 and existing:
            email = existing[rng.randrange(len(existing))]
            company = ""
        elif n % 2:
            known = rng.randrange(accounts)
            email, company = f"{EMAIL_PREFIX}{n}@company{known}.example.jp", f"Company {known} KK"
        else:
            email, company = f"{EMAIL_PREFIX}{n}@new{n % 7000}.example.co.jp", f"株式会社ベンチ{n % 7000}"
        writer.writerow([email, rng.choice(SURNAMES), rng.choice(GIVEN), company, rng.choice(TITLES),
                         f"03-{rng.randrange(10000):04d}-{rng.randrange(10000):04d}", rng.choice(["yes", "no", ""])])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _remove_imported() -> None:
    """Delete the leads and accounts this scenario created (the import job keeps its report rows)."""
    from leadrelay.integrations.models import ImportJob
    from leadrelay.leads.models import Account, Lead

    Lead.objects.filter(email__startswith=EMAIL_PREFIX).delete()
    Account.objects.filter(name__startswith="株式会社ベンチ").delete()
    ImportJob.objects.all().delete()


@scenario("imports.leads_csv", title="Import a leads CSV (manage.py import_leads)", unit="rows/s",
          units={"seconds": "s", "rows": "rows"}, needs=("leads",), ceiling="ceiling.db_insert")
def leads_csv(ctx):
    path = ctx.workdir / "import-leads.csv"
    if not path.exists():
        path.write_bytes(_csv(ctx))
    _remove_imported()
    seconds = ctx.run_command("import_leads", str(path), "--user", "bench-admin-0", "--no-progress")
    rows = ctx.size("import_rows")
    ctx.log(f"imported {rows:,} rows in {seconds:.1f} s")
    _remove_imported()
    return {"rows_per_s": rows / seconds, "seconds": seconds, "rows": rows}
