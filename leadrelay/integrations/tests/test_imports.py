"""Importing leads and accounts: matching, merging, refusals, encodings, Excel, history and access."""

import codecs

import pytest

from leadrelay.core.exceptions import InvalidInput, PermissionDenied
from leadrelay.core.testing import AccountFactory, LeadFactory, UserFactory
from leadrelay.integrations import selectors, services
from leadrelay.integrations.models import ImportJob, ImportMapping
from leadrelay.integrations.testing import csv_bytes, outcomes, run_import, xlsx_bytes
from leadrelay.leads.models import Account, AccountHistory, Lead, LeadHistory
from leadrelay.leads.normalize import normalize_company_name

HEADER = ["会社名", "氏名", "メールアドレス", "電話番号", "役職", "業種", "従業員数", "ウェブサイト"]
MESSY = [
    HEADER,
    ["株式会社ＡＢＣ", "山田 太郎", "taro@abc.co.jp", "03-1234-5678", "部長", "IT", "1,200", "https://www.abc.co.jp/"],
    ["(株)ABC", "佐藤 花子", "hanako@abc.co.jp", "", "課長", "", "", ""],
    ["ＸＹＺ株式会社", "鈴木 一郎", "not-an-email", "", "", "", "", ""],
    ["(株)XYZ", "田中 次郎", "jiro@gmail.com", "", "", "", "", ""],
    ["株式会社ＸＹＺ", "田中 次郎", "JIRO@GMAIL.COM", "090-0000-0000", "主任", "", "", ""],
    ["", "", "", "", "", "", "", ""],
    ["DEF合同会社", "", "", "", "", "", "", ""],
    ["株式会社ＡＢＣ", "高橋 三郎", "saburo@abc.co.jp", "", "", "", "たくさん", ""],
    ["Existing Corp", "Existing Person", "Existing@Example.com", "", "CTO", "", "", ""],
]


@pytest.fixture
def existing(db):
    account = AccountFactory(name="Existing Corp", primary_domain="example.com", domains=["example.com"])
    lead = LeadFactory(email="existing@example.com", title="Engineer", account=account, owner=None,
                       first_name="Existing", last_name="Person")
    return lead


def _snapshot():
    return (Lead.objects.count(), Account.objects.count(), LeadHistory.objects.count(), AccountHistory.objects.count(),
            list(Lead.objects.order_by("pk").values_list("pk", "title", "phone", "account_id")))


def test_messy_shift_jis_file_rows_are_created_merged_updated_and_refused_exactly(users, existing):
    """A Shift_JIS file with duplicates, a bad email, mixed 株式会社 forms and a bad number: every row accounted for."""
    admin = users["admin"]
    job = run_import(admin, csv_bytes(MESSY, encoding="cp932"), filename="messy.csv", source="Trade show")
    assert job.status == ImportJob.Status.DONE, job.error
    assert job.upload.encoding == "cp932"
    assert outcomes(job) == {
        2: "created", 3: "created", 4: "refused", 5: "created", 6: "merged", 8: "refused", 9: "refused", 10: "updated",
    }
    assert (job.rows_created, job.rows_updated, job.rows_merged, job.rows_refused) == (3, 1, 1, 3)
    assert job.rows_created + job.rows_updated + job.rows_merged + job.rows_refused == job.total == 8

    taro = Lead.objects.get(email="taro@abc.co.jp")
    assert (taro.last_name, taro.first_name, taro.phone, taro.title) == ("山田", "太郎", "03-1234-5678", "部長")
    assert taro.source == Lead.Source.IMPORT and taro.stage == "known"
    abc = taro.account
    assert abc.name == "株式会社ＡＢＣ" and abc.domains == ["abc.co.jp"] and abc.employees == 1200 and abc.industry == "IT"
    # (株)ABC is the same company: matched by the email's domain
    assert Lead.objects.get(email="hanako@abc.co.jp").account_id == abc.pk
    # the two XYZ forms are one company (matched by normalised name; gmail gives no domain)
    jiro = Lead.objects.get(email="jiro@gmail.com")
    assert jiro.account.normalized_name == "xyz" and Account.objects.filter(normalized_name="xyz").count() == 1
    # the merged row filled the phone the first row left blank; the title it also had fills the blank too
    assert jiro.phone == "090-0000-0000" and jiro.title == "主任"
    assert Account.objects.filter(normalized_name="abc").count() == 1
    existing.refresh_from_db()
    assert existing.title == "CTO" and existing.account.name == "Existing Corp"

    rows = {row.number: row for row in selectors.import_rows(job)}
    assert "email" in " ".join(rows[4].messages).lower() or "メール" in " ".join(rows[4].messages)
    assert rows[8].messages[0].startswith("Give at least an email")
    assert "たくさん" in " ".join(rows[9].messages)
    assert rows[4].raw[2] == "not-an-email" and rows[4].label == "not-an-email"
    assert rows[6].messages[0] == "Same email as row 5."
    assert job.accounts_created == 2


def test_dry_run_changes_nothing_but_reports_the_same_outcomes(users, existing):
    """The dry run writes no lead, account or history; the import afterwards does what it showed."""
    admin = users["admin"]
    before = _snapshot()
    dry = run_import(admin, csv_bytes(MESSY), filename="messy.csv", dry_run=True)
    assert _snapshot() == before
    assert dry.status == "done" and dry.accounts_created == 2
    real = services.import_job_start_from_dry_run(actor=admin, dry_run_job=dry)
    real = services.import_job_run(job_id=real.pk)
    assert outcomes(real) == outcomes(dry)
    assert Lead.objects.count() == before[0] + 3


def test_dry_run_rows_describe_the_new_and_matched_accounts(users, existing):
    admin = users["admin"]
    dry = run_import(admin, csv_bytes(MESSY), dry_run=True)
    rows = {row.number: row for row in selectors.import_rows(dry)}
    assert rows[2].account_note == "new account"
    assert rows[3].account_note.startswith("the new account of row 2, matched by domain abc.co.jp")
    assert rows[5].account_note == "new account"
    assert rows[2].changes["email"] == "taro@abc.co.jp" and rows[2].lead_id is None


def test_imported_records_carry_the_same_history_as_the_services_with_the_importer_as_actor(users, existing):
    manager = users["is_manager"]
    job = run_import(manager, csv_bytes(MESSY), filename="messy.csv")
    taro = Lead.objects.get(email="taro@abc.co.jp")
    created = taro.history.get()
    assert created.kind == LeadHistory.Kind.CREATED and created.to_stage == "known" and created.actor == manager
    assert created.data["source"] == "import" and created.data["import_job"] == job.pk
    assert f"import #{job.pk}" in created.reason
    updated = existing.history.get(kind=LeadHistory.Kind.UPDATED)
    assert updated.actor == manager and updated.data["changes"] == {"title": ["Engineer", "CTO"]}
    jiro = Lead.objects.get(email="jiro@gmail.com")
    assert list(jiro.history.values_list("kind", flat=True)) == ["created"]  # row 6 merged before it was written
    account_history = taro.account.history.get()
    assert account_history.changes == {"created": True} and account_history.actor == manager


def test_merge_across_batches_updates_the_written_lead_with_history(users):
    """With one row per batch, the repeat of an email finds the lead written by the earlier batch."""
    admin = users["admin"]
    rows = [["Email", "Last Name", "Phone"], ["a@corp.example", "Abe", ""], ["A@CORP.EXAMPLE", "Other", "0312"]]
    job = run_import(admin, csv_bytes(rows), batch_size=1)
    assert outcomes(job) == {2: "created", 3: "merged"}
    lead = Lead.objects.get(email="a@corp.example")
    assert (lead.last_name, lead.phone) == ("Abe", "0312")  # the earlier row's name wins; the blank phone is filled
    kinds = list(lead.history.order_by("id").values_list("kind", flat=True))
    assert kinds == ["created", "updated"]
    assert selectors.import_rows(job).get(number=3).messages == ["Same email as row 2.", "Kept the earlier row's last name."]


def test_accounts_dedupe_by_domain_then_by_normalised_japanese_name(users):
    """株式会社ＡＢＣ in the database and (株)ABC in the file are one account; a domain match wins over the name."""
    admin = users["admin"]
    by_name = AccountFactory(name="株式会社ＡＢＣ", normalized_name=normalize_company_name("株式会社ＡＢＣ"),
                             primary_domain="", domains=[], industry="", employees=None)
    by_domain = AccountFactory(name="Globex", normalized_name="globex", primary_domain="globex.example",
                               domains=["globex.example", "globex.co.jp"])
    rows = [
        ["Account Name", "Website", "Industry", "Employees"],
        ["(株)ABC", "", "SaaS", "300"],
        ["Globex Japan K.K.", "https://globex.co.jp", "", ""],
        ["新規商事株式会社", "shinki.co.jp", "Trading", "50名"],
        ["新規商事(株)", "", "", ""],
    ]
    job = run_import(admin, csv_bytes(rows), filename="accounts.csv", target="accounts", source="Salesforce")
    assert outcomes(job) == {2: "updated", 3: "updated", 4: "created", 5: "merged"}
    by_name.refresh_from_db()
    assert (by_name.industry, by_name.employees, by_name.name) == ("SaaS", 300, "株式会社ＡＢＣ")
    by_domain.refresh_from_db()
    assert by_domain.name == "Globex Japan K.K."  # matched by its second domain; the file's name is taken
    new = Account.objects.get(normalized_name="新規商事")
    assert (new.primary_domain, new.employees, new.industry) == ("shinki.co.jp", 50, "Trading")
    assert by_name.history.get().changes == {"industry": ["", "SaaS"], "employees": [None, 300]}


def test_utf8_with_and_without_bom_and_tab_separated_files_are_read(users):
    admin = users["admin"]
    rows = [["E-mail Address", "Last Name", "First Name", "Company Name"], ["bom@x.example", "姓", "名", "BOM社"]]
    with_bom = codecs.BOM_UTF8 + csv_bytes(rows)
    job = run_import(admin, with_bom)
    assert job.upload.encoding == "utf-8-sig" and job.upload.headers[0] == "E-mail Address"
    assert outcomes(job) == {2: "created"}
    rows[1][0] = "plain@x.example"
    job = run_import(admin, csv_bytes(rows))
    assert job.upload.encoding == "utf-8" and outcomes(job) == {2: "created"}
    rows[1][0] = "tab@x.example"
    job = run_import(admin, csv_bytes(rows, delimiter="\t"), filename="people.tsv")
    assert job.upload.delimiter == "\t" and Lead.objects.filter(email="tab@x.example", last_name="姓").exists()


def test_xlsx_file_with_numbers_is_imported(users):
    admin = users["admin"]
    data = xlsx_bytes([
        ["Email", "First Name", "Last Name", "Company", "Number of Employees", "Phone Number"],
        ["xl@book.example", "Hana", "Sato", "Book KK", 250, "0311112222"],
        [None, None, None, None, None, None],
        ["bad", "No", "Email", "Book KK", 10, None],
    ])
    job = run_import(admin, data, filename="book.xlsx")
    assert job.upload.file_format == "xlsx"
    assert outcomes(job) == {2: "created", 4: "refused"}
    lead = Lead.objects.get(email="xl@book.example")
    assert lead.account.employees == 250 and lead.phone == "0311112222"


def test_mapping_is_remembered_per_source(users):
    """A column mapped by hand for a source is proposed again for the next file from that source."""
    admin = users["admin"]
    rows = [["Mail", "Sei", "Memo"], ["m@remember.example", "Mori", "x"]]
    job = run_import(admin, csv_bytes(rows), source="Eight", mapping={"Mail": "email", "Sei": "last_name"})
    assert outcomes(job) == {2: "created"}
    saved = ImportMapping.objects.get(source_key="eight", target="leads")
    assert saved.columns == {"Mail": "email", "Sei": "last_name", "Memo": ""}
    upload = services.import_upload_create(actor=admin, filename="next.csv", data=csv_bytes(rows), source_name="EIGHT")
    assert selectors.import_mapping_proposal(upload) == {"Mail": "email", "Sei": "last_name", "Memo": ""}
    other = services.import_upload_create(actor=admin, filename="next.csv", data=csv_bytes(rows), source_name="Other")
    assert selectors.import_mapping_proposal(other) == {"Mail": "", "Sei": "", "Memo": ""}


def test_known_export_headers_are_recognised(users):
    """Salesforce, HubSpot, Marketo and Sansan headers map without help."""
    admin = users["admin"]
    headers = ["First Name", "Last Name", "Company / Account", "Email Address", "Job Title", "Lead Source",
               "No. of Employees", "State/Province", "Company Domain Name", "姓", "名", "部署名"]
    upload = services.import_upload_create(actor=admin, filename="x.csv", data=csv_bytes([headers]))
    assert selectors.import_mapping_proposal(upload) == {
        "First Name": "first_name", "Last Name": "last_name", "Company / Account": "company", "Email Address": "email",
        "Job Title": "title", "Lead Source": "source", "No. of Employees": "employees", "State/Province": "region",
        "Company Domain Name": "domain", "姓": "last_name", "名": "first_name", "部署名": "",
    }


def test_a_row_wider_than_the_header_and_formula_prefixes(users):
    admin = users["admin"]
    rows = [["Email", "Last Name"], ["w@wide.example", "Wide", "extra"], ["q@quote.example", "'=Quoted"]]
    job = run_import(admin, csv_bytes(rows))
    assert outcomes(job) == {2: "refused", 3: "created"}
    assert Lead.objects.get(email="q@quote.example").last_name == "=Quoted"  # an export's ' is taken off again


def test_too_long_values_are_refused_with_the_field_named(users):
    admin = users["admin"]
    job = run_import(admin, csv_bytes([["Email", "Last Name", "Title"], ["long@x.example", "L", "x" * 151]]))
    row = selectors.import_rows(job).get()
    assert row.action == "refused" and row.messages[0].startswith("title:")


def test_an_is_manager_cannot_change_another_teams_lead(users):
    """A lead the importer may not edit is refused with that reason; others are still imported."""
    outsider_rep = UserFactory(username="other_team_rep", roles=["is_rep"])  # in no team of the manager
    theirs = LeadFactory(email="theirs@x.example", owner=outsider_rep, title="Old title")
    team_lead = LeadFactory(email="team@x.example", owner=users["is_rep2"], title="Old title")
    rows = [["Email", "Last Name", "Title"], ["theirs@x.example", "T", "New title"], ["team@x.example", "T", "New title"],
            ["mine@x.example", "M", ""]]
    job = run_import(users["is_manager"], csv_bytes(rows))
    assert outcomes(job) == {2: "refused", 3: "updated", 4: "created"}
    assert selectors.import_rows(job).get(number=2).messages == ["This lead already exists and you may not change it."]
    theirs.refresh_from_db()
    team_lead.refresh_from_db()
    assert (theirs.title, team_lead.title) == ("Old title", "New title")


def test_marketing_imports_leads_but_not_accounts_and_reps_import_nothing(users):
    data = csv_bytes([["Email", "Last Name"], ["list@x.example", "List"]])
    job = run_import(users["marketing"], data)
    assert outcomes(job) == {2: "created"}
    with pytest.raises(PermissionDenied):
        services.import_upload_create(actor=users["marketing"], filename="a.csv", data=data, target="accounts")
    with pytest.raises(PermissionDenied):
        services.import_upload_create(actor=users["is_rep"], filename="a.csv", data=data)


def test_unreadable_and_unmappable_files_are_refused_with_field_messages(users):
    admin = users["admin"]
    with pytest.raises(InvalidInput) as empty:
        services.import_upload_create(actor=admin, filename="a.csv", data=b"   ")
    assert "file" in empty.value.fields
    with pytest.raises(InvalidInput) as binary:
        services.import_upload_create(actor=admin, filename="a.csv", data=bytes(range(128, 256)) * 4)
    assert "file" in binary.value.fields
    with pytest.raises(InvalidInput) as bad_xlsx:
        services.import_upload_create(actor=admin, filename="a.xlsx", data=b"PK\x03\x04not a zip")
    assert "file" in bad_xlsx.value.fields
    upload = services.import_upload_create(actor=admin, filename="a.csv", data=csv_bytes([["Memo"], ["x"]]))
    with pytest.raises(InvalidInput) as unmapped:
        services.import_job_start(actor=admin, upload=upload, mapping={"Memo": ""}, dry_run=True, enqueue=False)
    assert "mapping" in unmapped.value.fields
    with pytest.raises(InvalidInput):
        services.import_job_start(actor=admin, upload=upload, mapping={"Memo": "salary"}, dry_run=True, enqueue=False)


def test_the_job_runs_as_a_background_task_after_commit(users, django_capture_on_commit_callbacks):
    """import_job_start queues the task after commit; the immediate backend of the tests runs it at once."""
    admin = users["admin"]
    upload = services.import_upload_create(actor=admin, filename="a.csv", data=csv_bytes(MESSY[:3]))
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_job_start(actor=admin, upload=upload, mapping=selectors.import_mapping_proposal(upload),
                                        dry_run=False)
    job.refresh_from_db()
    assert job.status == "done" and job.processed == job.total == 2 and job.rows_created == 2


def test_reimporting_the_same_file_updates_without_changes(users):
    admin = users["admin"]
    data = csv_bytes(MESSY[:3])
    run_import(admin, data)
    again = run_import(admin, data)
    assert outcomes(again) == {2: "updated", 3: "updated"}
    assert selectors.import_rows(again).get(number=2).messages == ["No changes."]
    assert LeadHistory.objects.filter(kind="updated").count() == 0


def test_an_email_taken_while_the_import_ran_refuses_only_that_row(users, monkeypatch):
    """If another writer creates the same email between planning and writing, that row is refused, not the batch."""
    from leadrelay.integrations.imports import ImportRunner

    LeadFactory(email="race@x.example")
    monkeypatch.setattr(ImportRunner, "_load_leads", lambda self, parsed, lock: {})
    rows = [["Email", "Last Name"], ["race@x.example", "Race"], ["calm@x.example", "Calm"]]
    job = run_import(users["admin"], csv_bytes(rows))
    assert outcomes(job) == {2: "refused", 3: "created"}
    assert "created while the import ran" in selectors.import_rows(job).get(number=2).messages[0]
    assert Lead.objects.filter(email="calm@x.example").exists()


def test_other_contexts_hear_about_changed_and_imported_records(users, existing, django_capture_on_commit_callbacks):
    """Updated accounts emit account_changed, relinked leads lead_changed, and each batch leads_imported once."""
    from leadrelay.core import hooks

    heard = []
    for name in ("account_changed", "lead_changed", "leads_imported"):
        hooks.register(name, lambda _name=name, **kwargs: heard.append((_name, kwargs)))
    unlinked = LeadFactory(email="nolink@abc.co.jp", account=None)
    rows = [["Email", "Company", "Website"], ["nolink@abc.co.jp", "ABC", "abc.co.jp"], ["new@abc.co.jp", "ABC", ""]]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = run_import(users["admin"], csv_bytes(rows))
    finally:
        for name in ("account_changed", "lead_changed", "leads_imported"):
            hooks._handlers[name] = [h for h in hooks._handlers[name] if getattr(h, "__defaults__", None) != (name,)]
    assert outcomes(job) == {2: "updated", 3: "created"}
    new_lead = Lead.objects.get(email="new@abc.co.jp")
    assert ("lead_changed", {"lead_id": unlinked.pk}) in heard
    imported = [kwargs for name, kwargs in heard if name == "leads_imported"]
    assert imported == [{"lead_ids": [new_lead.pk], "account_ids": [new_lead.account_id]}]


def test_a_job_runs_once_and_a_stalled_one_is_continued_after_its_last_batch(users):
    """A second runner leaves a running job alone; a job whose worker died resumes where its batches stopped."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    admin = users["admin"]
    rows = [["Email", "Last Name"], *[[f"p{i}@stall.example", f"P{i}"] for i in range(5)]]
    upload = services.import_upload_create(actor=admin, filename="a.csv", data=csv_bytes(rows))
    job = services.import_job_start(actor=admin, upload=upload, mapping=selectors.import_mapping_proposal(upload),
                                    dry_run=False, enqueue=False)
    # a worker took the job, committed two batches of two rows, then died
    from leadrelay.integrations.imports import ImportRunner

    assert services._claim_import(job.pk)
    job.refresh_from_db()
    runner = ImportRunner(job, batch_size=2)
    batches = iter([list(runner.reader.rows())[:2], list(runner.reader.rows())[2:4]])
    runner.reason = "test"
    for batch in batches:
        plans = runner.plan(batch, lock=True)
        runner.apply(plans)
        runner.record(plans)
        runner._end_batch()
    job.refresh_from_db()
    assert (job.status, job.processed) == ("running", 4)
    assert services.import_job_run(job_id=job.pk).processed == 4  # still alive: another runner does nothing
    assert services.import_jobs_resume() == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert services.import_jobs_resume() == 1  # the immediate backend runs it at once
    job.refresh_from_db()
    assert (job.status, job.processed, job.total, job.rows_created) == ("done", 5, 5, 5)
    assert Lead.objects.filter(email__endswith="@stall.example").count() == 5
    assert sorted(outcomes(job)) == [2, 3, 4, 5, 6]


@pytest.mark.parametrize("dry_run", [True, False])
def test_repeats_across_batches_of_an_updated_lead_agree_between_dry_run_and_import(users, existing, dry_run):
    """The earlier row's new value wins over a later repeat, in the dry run exactly as in the import."""
    Lead.objects.filter(pk=existing.pk).update(phone="")
    rows = [["Email", "Phone", "Title"], ["existing@example.com", "0311", ""], ["x@y.example", "1", ""],
            ["EXISTING@example.com", "0399", "Boss"]]
    job = run_import(users["admin"], csv_bytes(rows), batch_size=2, dry_run=dry_run)
    assert outcomes(job) == {2: "updated", 3: "created", 4: "merged"}
    merged = selectors.import_rows(job).get(number=4)
    assert merged.changes == {}
    assert merged.messages == ["Same email as row 2.", "Kept the earlier row's phone, title."]


def test_files_over_the_size_limit_are_refused(users, monkeypatch):
    monkeypatch.setenv("LEADRELAY_IMPORT_MAX_BYTES", "100")
    with pytest.raises(InvalidInput) as error:
        services.import_upload_create(actor=users["admin"], filename="a.csv", data=b"Email\n" + b"x" * 200)
    assert "larger than" in error.value.fields["file"][0]
