"""Turn the raw samples of a run into bench/results/<date>.json and .md."""

from __future__ import annotations

import json
from pathlib import Path

from bench.core import Scenario, summarize


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.3g}"


def build(meta: dict, raw: dict[str, dict], specs: dict[str, Scenario]) -> dict:
    """{"meta": ..., "rows": [...], "datasets": ..., "errors": [...]} from each backend's child output."""
    rows, errors = [], []
    medians: dict[tuple[str, str, str], float] = {}
    for backend, out in raw.items():
        for name, record in out.get("scenarios", {}).items():
            for metric, samples in record.get("samples", {}).items():
                medians[(backend, name, metric)] = summarize(samples)["median"]
    for backend, out in raw.items():
        for name, record in out.get("scenarios", {}).items():
            spec = specs.get(name)
            if record.get("error"):
                errors.append({"backend": backend, "scenario": name, "error": record["error"]})
            for metric, samples in record.get("samples", {}).items():
                stats = summarize(samples)
                row = {
                    "scenario": name, "title": spec.title if spec else name, "metric": metric, "backend": backend,
                    "unit": spec.unit_of(metric) if spec else "", **stats, "samples": samples,
                    "higher_is_better": spec.higher_is_better if spec else True,
                    "ceiling": None, "ceiling_name": None, "ratio": None, "target": None, "met": None,
                }
                if spec and spec.ceiling and spec.unit_of(metric) == spec.unit:  # a ratio only of like figures
                    ceiling = medians.get((backend, spec.ceiling, metric)) or medians.get((backend, spec.ceiling, ""))
                    row["ceiling_name"] = spec.ceiling
                    if ceiling:
                        row["ceiling"] = ceiling
                        row["ratio"] = stats["median"] / ceiling
                target = spec.target_for(backend, metric) if spec else None
                if target and meta.get("scale", "full") in target.scales:
                    row["target"] = target.describe()
                    row["met"] = target.met(stats["median"])
                rows.append(row)
    rows.sort(key=lambda r: (not r["scenario"].startswith("ceiling."), r["scenario"], r["metric"], r["backend"]))
    datasets = {backend: out.get("datasets", {}) for backend, out in raw.items()}
    setup = {backend: out.get("setup", {}) for backend, out in raw.items()}
    return {"meta": meta, "rows": rows, "datasets": datasets, "setup": setup, "errors": errors}


def markdown(report: dict) -> str:
    meta = report["meta"]
    lines = [
        f"# LeadRelay benchmarks — {meta['date']}",
        "",
        f"Scale **{meta['scale']}** · commit `{meta.get('commit', '?')}` · {meta['cpus']} cores · Python "
        f"{meta['python']} · SQLite {meta['sqlite']} · PostgreSQL {meta.get('postgresql') or 'not run'} · "
        f"{meta['repeat']} runs each (median, min, max) · total {meta['seconds']:.0f} s",
        "",
        "Sizes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(meta["sizes"].items())),
        "",
        "| Scenario | Figure | DB | Median | Min | Max | Unit | Ceiling | Ratio | Target | Met |",
        "|---|---|---|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for row in report["rows"]:
        ceiling = f"{_fmt(row['ceiling'])} ({row['ceiling_name']})" if row["ceiling"] else (
            f"— ({row['ceiling_name']} missing)" if row["ceiling_name"] else "")
        ratio = f"{row['ratio'] * 100:.0f}%" if row["ratio"] is not None else ""
        met = "" if row["met"] is None else ("yes" if row["met"] else "**no**")
        lines.append(
            f"| {row['title']} | {row['metric'] or '—'} | {row['backend']} | {_fmt(row['median'])} | "
            f"{_fmt(row['min'])} | {_fmt(row['max'])} | {row['unit']} | {ceiling} | {ratio} | "
            f"{row['target'] or ''} | {met} |"
        )
    if report["errors"]:
        lines += ["", "## Failed scenarios", ""]
        lines += [f"- `{e['scenario']}` on {e['backend']}: {e['error']}" for e in report["errors"]]
    lines += ["", "## Data and set-up", "", "| DB | Step | Rows | Seconds |", "|---|---|---:|---:|"]
    for backend, setup in report["setup"].items():
        if "migrate_seconds" in setup:
            lines.append(f"| {backend} | migrate | | {setup['migrate_seconds']:.1f} |")
        for name, info in report["datasets"].get(backend, {}).items():
            lines.append(f"| {backend} | build {name} | {info['size']:,} | {info['seconds']:.1f} |")
    for note in meta.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def write(report: dict, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    name = report["meta"].get("name")
    stem = folder / (f"{report['meta']['date']}-{name}" if name else report["meta"]["date"])
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    md_path.write_text(markdown(report))
    return json_path, md_path
