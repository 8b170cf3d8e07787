"""The scenario and dataset registries, data sizes, and the statistics of repeated measurements.

A scenario is a function that takes a Context and returns one figure (a number) or several
({"p50": ..., "p95": ...}). The runner calls it `repeat` times on each database and reports the
median, min and max of every figure. See bench/README.md.
"""

from __future__ import annotations

import fnmatch
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

BACKENDS = ("sqlite", "postgresql")

# Data sizes per scale. `full` is the size the targets are stated for; `small` runs on a 2-core
# machine in well under 15 minutes. Any size can be overridden: `--size leads=200000`.
SCALES: dict[str, dict[str, int]] = {
    "small": {
        "accounts": 2_000,
        "leads": 20_000,
        "events": 200_000,
        "activities": 20_000,
        "rescore_leads": 100_000,
        "import_rows": 10_000,
        "http_requests": 200_000,  # at most, per load run; the run lasts http_seconds
        "http_seconds": 6,
        "http_clients": 16,
        "insert_rows": 100_000,
    },
    "full": {
        "accounts": 100_000,
        "leads": 1_000_000,
        "events": 10_000_000,
        "activities": 1_000_000,
        "rescore_leads": 1_000_000,
        "import_rows": 100_000,
        "http_requests": 2_000_000,
        "http_seconds": 30,
        "http_clients": 32,
        "insert_rows": 1_000_000,
    },
}


@dataclass(frozen=True)
class Target:
    """A goal for one figure: `op` is ">=" or "<=", compared with the median."""

    op: str
    value: float
    text: str = ""

    scales: tuple[str, ...] = ("small", "full")  # the scales it is stated for; elsewhere it is not judged

    def met(self, median: float) -> bool:
        return median >= self.value if self.op == ">=" else median <= self.value

    def describe(self) -> str:
        return self.text or f"{self.op} {self.value:g}"


@dataclass
class Scenario:
    name: str  # dotted, e.g. "tracking.collect"; the group is the part before the first dot
    fn: Callable
    title: str
    unit: str  # of every figure the function returns, e.g. "events/s", "ms", "s"
    units: dict[str, str] = field(default_factory=dict)  # a different unit for some figures: {"leads": "leads"}
    higher_is_better: bool = True
    needs: tuple[str, ...] = ()  # datasets built before the first run, e.g. ("leads", "events")
    ceiling: str | None = None  # name of the scenario whose median this one is compared with
    targets: dict[str, Target] = field(default_factory=dict)  # {"postgresql": Target(...), "sqlite": ..., "*": ...}
    backends: tuple[str, ...] = BACKENDS
    repeat: int | None = None  # None: the run's --repeat
    scales: tuple[str, ...] = ("small", "full")  # the scales it runs at

    def unit_of(self, metric: str) -> str:
        return self.units.get(metric, self.unit)

    def target_for(self, backend: str, metric: str) -> Target | None:
        for key in (f"{backend}:{metric}", backend, f"*:{metric}", "*"):
            if key in self.targets:
                return self.targets[key]
        return None


@dataclass
class Dataset:
    name: str
    fn: Callable  # fn(ctx, size) builds the data; returns nothing
    needs: tuple[str, ...] = ()
    size_key: str | None = None  # the SCALES key giving its size; defaults to its name


_scenarios: dict[str, Scenario] = {}
_datasets: dict[str, Dataset] = {}


def scenario(name: str, *, title: str, unit: str, units: dict[str, str] | None = None,
             higher_is_better: bool = True, needs: tuple[str, ...] = (),
             ceiling: str | None = None, targets: dict[str, Target] | None = None,
             backends: tuple[str, ...] = BACKENDS, repeat: int | None = None,
             scales: tuple[str, ...] = ("small", "full")):
    """Register a scenario (decorator). The function gets a Context; it returns a number or a dict of numbers."""

    def register(fn: Callable) -> Callable:
        if name in _scenarios and _scenarios[name].fn is not fn:
            raise ValueError(f"benchmark scenario {name!r} is registered twice")
        _scenarios[name] = Scenario(
            name=name, fn=fn, title=title, unit=unit, units=dict(units or {}), higher_is_better=higher_is_better,
            needs=tuple(needs),
            ceiling=ceiling, targets=dict(targets or {}), backends=tuple(backends), repeat=repeat,
            scales=tuple(scales),
        )
        return fn

    return register


def dataset(name: str, *, needs: tuple[str, ...] = (), size_key: str | None = None):
    """Register a data builder (decorator): fn(ctx, size) creates `size` rows of something, once per database."""

    def register(fn: Callable) -> Callable:
        _datasets[name] = Dataset(name=name, fn=fn, needs=tuple(needs), size_key=size_key)
        return fn

    return register


def scenarios() -> dict[str, Scenario]:
    return dict(_scenarios)


def datasets() -> dict[str, Dataset]:
    return dict(_datasets)


def load_all() -> None:
    """Import every module under bench/scenarios/ so their decorators register."""
    import importlib
    import pkgutil

    import bench.data  # noqa: F401 - the shared datasets
    import bench.scenarios as package

    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        importlib.import_module(f"{package.__name__}.{module.name}")


def select(patterns: list[str] | None, scale: str) -> list[Scenario]:
    """Scenarios matching any of the glob patterns (all when none), ceilings of the chosen ones included."""
    chosen = [s for s in _scenarios.values() if scale in s.scales]
    if patterns:
        wanted = {s.name for s in chosen if any(fnmatch.fnmatch(s.name, p) for p in patterns)}
        wanted |= {s.ceiling for s in chosen if s.name in wanted and s.ceiling}
        chosen = [s for s in chosen if s.name in wanted]
    # ceilings first, so every ratio is measured against a figure from the same run
    ceilings = {s.ceiling for s in chosen if s.ceiling}
    return sorted(chosen, key=lambda s: (s.name not in ceilings, s.name))


def summarize(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank on sorted values."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def latency_figures(seconds: list[float], qs: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    """{"p50": ms, "p95": ms, "p99": ms} from a list of durations in seconds."""
    return {f"p{q}": percentile(seconds, q) * 1000 for q in qs}
