"""The benchmark harness's own parts work on both databases: the bulk loader behind the insert ceiling
and the datasets, the loopback load generator, the statistics and the report."""

from datetime import timedelta

import pytest

from bench import core, report
from bench.data import bulk_insert, now
from bench.load import http_load
from leadrelay.leads.models import Account
from leadrelay.tracking.models import Event

EVENT_COLUMNS = ["event_id", "type", "url", "path", "utm", "occurred_at", "received_at"]


@pytest.mark.django_db(transaction=True)
def test_bulk_insert_writes_rows_with_json_datetimes_and_defaults():
    """COPY (PostgreSQL) / executemany (SQLite) store what the ORM reads back; unnamed fields get their defaults."""
    at = now()
    rows = [(f"b-{n}", "page_view", f"https://x.example/{n}", f"/{n}", {"utm_source": "google"} if n else {},
             at - timedelta(minutes=n), at) for n in range(500)]
    assert bulk_insert(Event, EVENT_COLUMNS, rows) == 500

    assert Event.objects.count() == 500
    first = Event.objects.get(event_id="b-1")
    assert first.utm == {"utm_source": "google"} and first.props == {}
    assert first.occurred_at == at - timedelta(minutes=1)
    assert first.scored is False and first.site_id is None and first.title == ""


@pytest.mark.django_db(transaction=True)
def test_bulk_insert_fills_auto_now_fields_and_refuses_missing_required_ones():
    """auto_now fields get a time; a required field without a default must be named, with a clear error."""
    bulk_insert(Account, ["name", "normalized_name"], [("Acme KK", "acmekk")])
    account = Account.objects.get()
    assert account.created_at is not None and account.domains == []

    with pytest.raises(ValueError, match="required field name"):
        bulk_insert(Account, ["normalized_name"], [("x",)])


def test_load_generator_counts_answers_from_concurrent_clients(live_server):
    """Every request is answered and counted; statuses and latencies are kept."""
    result = http_load(live_server.url + "/healthz", requests=60, clients=4, processes=2)
    assert result.requests == 60 and result.errors == 0
    assert result.statuses == {200: 60}
    assert len(result.latencies) == 60 and result.per_second > 0


def test_load_generator_only_targets_loopback():
    """Load is never sent anywhere but this machine."""
    with pytest.raises(ValueError, match="loopback"):
        http_load("http://192.0.2.10/healthz", requests=1)


def test_percentiles_and_summary():
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert core.percentile(values, 50) == 0.05
    assert core.percentile(values, 99) == 0.099
    assert core.latency_figures(values) == pytest.approx({"p50": 50, "p95": 95, "p99": 99})
    assert core.summarize([3, 1, 2]) == {"median": 2, "min": 1, "max": 3, "n": 3}


def test_report_puts_each_figure_beside_its_ceiling_and_target():
    """The ratio is the figure's median over the ceiling's median on the same database; targets say met or not."""
    specs = {
        "ceiling.http_204": core.Scenario(name="ceiling.http_204", fn=None, title="Ceiling", unit="req/s"),
        "x.collect": core.Scenario(name="x.collect", fn=None, title="Collect", unit="events/s",
                                   ceiling="ceiling.http_204",
                                   targets={"postgresql": core.Target(">=", 1000), "sqlite": core.Target(">=", 300)}),
    }
    raw = {
        "sqlite": {"scenarios": {"ceiling.http_204": {"samples": {"": [1000, 900, 1100]}},
                                 "x.collect": {"samples": {"": [250, 200, 300]}}}},
        "postgresql": {"scenarios": {"ceiling.http_204": {"samples": {"": [2000, 2000, 2000]}},
                                     "x.collect": {"samples": {"": [1500, 1400, 1600]}, "error": None}}},
    }
    meta = {"date": "2026-01-01", "scale": "small", "sizes": {"leads": 1}, "repeat": 3, "cpus": 2, "python": "3.12",
            "sqlite": "3", "postgresql": "15", "seconds": 1.0}
    built = report.build(meta, raw, specs)
    rows = {(r["scenario"], r["backend"]): r for r in built["rows"]}
    assert rows[("x.collect", "sqlite")]["ratio"] == pytest.approx(0.25)
    assert rows[("x.collect", "sqlite")]["met"] is False
    assert rows[("x.collect", "postgresql")]["ratio"] == pytest.approx(0.75)
    assert rows[("x.collect", "postgresql")]["met"] is True
    text = report.markdown(built)
    expected = ("| Collect | — | sqlite | 250 | 200 | 300 | events/s | 1,000 (ceiling.http_204) | 25% | >= 300 "
                "| **no** |")
    assert expected in text


def test_report_judges_a_target_only_at_the_scales_it_is_stated_for():
    """A 1M-lead target is not judged on a small run's 100k figure; its ratio to a ceiling needs the same unit."""
    specs = {"x.rescore": core.Scenario(name="x.rescore", fn=None, title="Rescore", unit="s",
                                        units={"leads": "leads"}, higher_is_better=False,
                                        targets={"*:seconds": core.Target("<=", 60, "1M < 60 s", scales=("full",))})}
    raw = {"sqlite": {"scenarios": {"x.rescore": {"samples": {"seconds": [12.0, 11.0], "leads": [100_000, 100_000]}}}}}
    meta = {"date": "2026-01-01", "scale": "small", "sizes": {}, "repeat": 2, "cpus": 2, "python": "3.12",
            "sqlite": "3", "postgresql": None, "seconds": 1.0}
    small = {r["metric"]: r for r in report.build(meta, raw, specs)["rows"]}
    assert small["seconds"]["target"] is None and small["seconds"]["met"] is None
    full = {r["metric"]: r for r in report.build({**meta, "scale": "full"}, raw, specs)["rows"]}
    assert full["seconds"]["met"] is True and full["leads"]["target"] is None
