"""Scoring pages (stub replaced below)."""


def lead_scores_panel(*, request, record):
    return None
