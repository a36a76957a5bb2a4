"""Small server-rendered SVG charts: no JavaScript library, nothing fetched from a CDN."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")
WIDTH, HEIGHT, MARGIN = 640, 240, 44


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[str, float]]  # (x label, y), in x order


def line_chart(series: Sequence[Series], *, title: str, y_format: str = "{:.1%}") -> str:
    """Return an SVG line chart of several series sharing x labels."""
    labels = sorted({label for s in series for label, _ in s.points})
    values = [value for s in series for _, value in s.points]
    if not labels or not values:
        return _empty(title)
    top = max(values) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def x(label: str) -> float:
        index = labels.index(label)
        return MARGIN + (plot_w * index / (len(labels) - 1) if len(labels) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return MARGIN + plot_h * (1 - value / top)

    parts = [_axes(title, top, y_format, y)]
    for number, s in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        points = " ".join(f"{x(label):.1f},{y(value):.1f}" for label, value in s.points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{points}"><title>{escape(s.name)}</title></polyline>')
        parts += [f'<circle cx="{x(label):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}">'
                  f'<title>{escape(s.name)} {escape(label)}: {y_format.format(value)}</title>'
                  f'</circle>' for label, value in s.points]
        parts.append(_legend(number, s.name, colour))
    parts.append(f'<text x="{MARGIN}" y="{HEIGHT - 12}" class="tick">{escape(labels[0])}</text>')
    if len(labels) > 1:
        parts.append(f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - 12}" class="tick" '
                     f'text-anchor="end">{escape(labels[-1])}</text>')
    return _svg(title, parts)


def lift_chart(rows: Sequence[tuple[str, float, float, float]], *, title: str) -> str:
    """Return an SVG of relative lifts (name, value, low, high) with 95% whiskers around 0."""
    if not rows:
        return _empty(title)
    extent = max(0.05, *(max(abs(low), abs(high)) for _, _, low, high in rows)) * 1.15
    plot_w = WIDTH - 2 * MARGIN - 120
    row_h = 28
    height = 2 * MARGIN + row_h * len(rows)

    def x(value: float) -> float:
        return MARGIN + 120 + plot_w * (value + extent) / (2 * extent)

    parts = [f'<text x="{MARGIN}" y="22" class="title">{escape(title)}</text>',
             f'<line x1="{x(0):.1f}" y1="{MARGIN - 8}" x2="{x(0):.1f}" '
             f'y2="{height - MARGIN + 8}" class="zero"/>',
             f'<text x="{x(-extent):.1f}" y="{height - 12}" class="tick">{-extent:+.0%}</text>',
             f'<text x="{x(extent):.1f}" y="{height - 12}" class="tick" text-anchor="end">'
             f'{extent:+.0%}</text>']
    for number, (name, value, low, high) in enumerate(rows):
        cy = MARGIN + row_h * number + row_h / 2
        colour = "#16a34a" if low > 0 else "#dc2626" if high < 0 else "#6b7280"
        parts += [
            f'<text x="{MARGIN}" y="{cy + 4:.1f}" class="label">{escape(name)}</text>',
            f'<line x1="{x(low):.1f}" y1="{cy:.1f}" x2="{x(high):.1f}" y2="{cy:.1f}" '
            f'stroke="{colour}" stroke-width="2"/>',
            f'<circle cx="{x(value):.1f}" cy="{cy:.1f}" r="5" fill="{colour}">'
            f'<title>{escape(name)}: {value:+.1%} [{low:+.1%}, {high:+.1%}]</title></circle>',
        ]
    return _svg(title, parts, height=height)


def _axes(title: str, top: float, y_format: str, y) -> str:
    return (f'<text x="{MARGIN}" y="22" class="title">{escape(title)}</text>'
            f'<line x1="{MARGIN}" y1="{y(0):.1f}" x2="{WIDTH - MARGIN}" y2="{y(0):.1f}" '
            f'class="axis"/><text x="{MARGIN - 6}" y="{y(top):.1f}" class="tick" '
            f'text-anchor="end">{y_format.format(top)}</text>'
            f'<text x="{MARGIN - 6}" y="{y(0):.1f}" class="tick" text-anchor="end">'
            f'{y_format.format(0)}</text>')


def _legend(number: int, name: str, colour: str) -> str:
    x = WIDTH - MARGIN - 150
    y = 18 + 14 * number
    return (f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y}" class="tick">{escape(name)}</text>')


def _svg(title: str, parts: list[str], height: int = HEIGHT) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'role="img" aria-label="{escape(title)}" class="chart">' + "".join(parts) + "</svg>")


def _empty(title: str) -> str:
    return _svg(title, [f'<text x="{MARGIN}" y="22" class="title">{escape(title)}</text>',
                        f'<text x="{MARGIN}" y="80" class="tick">No data yet.</text>'])
