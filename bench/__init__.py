"""LeadRelay's benchmarks: `python -m bench` (or `make bench`). See bench/README.md."""

from bench.core import Target, dataset, latency_figures, percentile, scenario

__all__ = ["Target", "dataset", "latency_figures", "percentile", "scenario"]
