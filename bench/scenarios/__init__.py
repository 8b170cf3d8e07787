"""Scenario modules: every module in this package is imported by the runner (bench/README.md)."""
