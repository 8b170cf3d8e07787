"""Charts drawn as inline SVG on the server: no script, no third-party asset, works under the CSP."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def line_chart(values: list[float | None], labels: list[str], *, title: str, width: int = 480, height: int = 160) -> SafeString:
    """A line over `values` (None leaves a gap), x labels under the first and last points."""
    pad_left, pad_bottom, pad_top = 36, 22, 10
    inner_w, inner_h = width - pad_left - 8, height - pad_bottom - pad_top
    present = [v for v in values if v is not None]
    top = max(present) if present and max(present) > 0 else 1
    n = max(len(values) - 1, 1)

    def x(i: int) -> float:
        return pad_left + inner_w * i / n

    def y(v: float) -> float:
        return pad_top + inner_h * (1 - v / top)

    segments, current = [], []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(f"{_fmt(x(i))},{_fmt(y(value))}")
    if current:
        segments.append(current)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{pad_left}" y1="{pad_top + inner_h}" x2="{width - 8}" y2="{pad_top + inner_h}" stroke="#d9dee7"/>',
        f'<text x="{pad_left - 4}" y="{pad_top + 8}" text-anchor="end" font-size="10" fill="#5b6678">{escape(_number(top))}</text>',
        f'<text x="{pad_left - 4}" y="{pad_top + inner_h}" text-anchor="end" font-size="10" fill="#5b6678">0</text>',
    ]
    for points in segments:
        parts.append(f'<polyline fill="none" stroke="#1f5fbf" stroke-width="2" points="{" ".join(points)}"/>')
    for i, value in enumerate(values):
        if value is not None:
            parts.append(f'<circle cx="{_fmt(x(i))}" cy="{_fmt(y(value))}" r="2.5" fill="#1f5fbf">'
                         f'<title>{escape(labels[i])}: {escape(_number(value))}</title></circle>')
    if labels:
        parts.append(f'<text x="{pad_left}" y="{height - 6}" font-size="10" fill="#5b6678">{escape(labels[0])}</text>')
        parts.append(f'<text x="{width - 8}" y="{height - 6}" text-anchor="end" font-size="10" fill="#5b6678">'
                     f'{escape(labels[-1])}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_funnel(steps: list[dict], *, title: str, width: int = 560) -> SafeString:
    """Horizontal bars, one per funnel step, widths relative to the largest step."""
    row_h, label_w = 28, 130
    height = row_h * len(steps) + 8
    top = max((s["count"] for s in steps), default=0) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, step in enumerate(steps):
        y = 4 + i * row_h
        bar = (width - label_w - 70) * step["count"] / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" font-size="12" fill="#1d2430">'
                     f'{escape(str(step["label"]))}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{_fmt(max(bar, 1))}" height="{row_h - 10}" fill="#1f5fbf"/>')
        parts.append(f'<text x="{_fmt(label_w + bar + 6)}" y="{y + 17}" font-size="12" fill="#1d2430">'
                     f'{escape(_number(step["count"]))}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _number(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"
