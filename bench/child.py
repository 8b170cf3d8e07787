"""One database's part of a benchmark run, in its own process (`python -m bench` starts it).

Sets Django up on the database named by the environment, migrates it, builds the datasets the
chosen scenarios need, runs each scenario `repeat` times and writes the raw samples as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("--backend", required=True)
    parser.add_argument("--scale", required=True)
    parser.add_argument("--sizes", required=True, help="JSON object of sizes")
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--keep", action="store_true", help="reuse the datasets recorded in workdir/datasets.json")
    parser.add_argument("--prepare", action="store_true", help="build the datasets only")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.core.management import call_command

    from bench import core
    from bench.context import Context, child_env

    core.load_all()
    sizes = json.loads(args.sizes)
    ctx = Context(backend=args.backend, scale=args.scale, sizes=sizes, workdir=Path(args.workdir), env=child_env())
    out = {"backend": args.backend, "setup": {}, "datasets": {}, "scenarios": {}}

    def save() -> None:
        Path(args.out).write_text(json.dumps(out, indent=1, default=str))

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    out["setup"]["migrate_seconds"] = time.perf_counter() - started
    ctx.log(f"migrated in {out['setup']['migrate_seconds']:.1f}s")
    save()

    available = core.datasets()
    built: set[str] = set()
    kept = Path(args.workdir) / "datasets.json"  # with --keep: {"sizes": {name: size}, "state": ctx.state}
    if args.keep and kept.exists():
        record = json.loads(kept.read_text())
        ctx.state.update(record["state"])
        built |= {name for name, size in record["sizes"].items()
                  if name in available and size == int(sizes.get(available[name].size_key or name, 0))}
        if built:
            ctx.log(f"reusing datasets {', '.join(sorted(built))}")

    def build(name: str) -> None:
        if name in built:
            return
        spec = available[name]
        for need in spec.needs:
            build(need)
        size = int(sizes.get(spec.size_key or name, 0))
        ctx.log(f"building {name} ({size:,})")
        begin = time.perf_counter()
        rows = spec.fn(ctx, size)  # a builder may return how many rows it wrote
        seconds = time.perf_counter() - begin
        out["datasets"][name] = {"size": rows if isinstance(rows, int) else size, "seconds": seconds}
        built.add(name)
        ctx.log(f"built {name} in {seconds:.1f}s")
        save()
        if args.keep:
            previous = json.loads(kept.read_text())["sizes"] if kept.exists() else {}
            kept.write_text(json.dumps({"sizes": {**previous, name: size}, "state": ctx.state}, default=str))

    try:
        for spec in core.select(args.only or None, args.scale):
            if args.backend not in spec.backends:
                continue
            record = out["scenarios"][spec.name] = {"samples": {}, "error": None}
            try:
                for need in spec.needs:
                    build(need)
                if args.prepare:
                    continue
                repeats = spec.repeat or args.repeat
                for round_ in range(repeats):
                    ctx.log(f"{spec.name} run {round_ + 1}/{repeats}")
                    value = spec.fn(ctx)
                    figures = value if isinstance(value, dict) else {"": value}
                    for metric, number in figures.items():
                        record["samples"].setdefault(metric, []).append(float(number))
            except Exception as error:  # noqa: BLE001 - one broken scenario must not hide the others' figures
                record["error"] = f"{type(error).__name__}: {error}"
                ctx.log(f"{spec.name} FAILED: {record['error']}")
                traceback.print_exc()
            save()
    finally:
        ctx.stop_servers()
        save()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    sys.exit(main())
