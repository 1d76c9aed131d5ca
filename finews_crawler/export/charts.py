"""Charts as inline SVG, drawn in Python: no script, no font file, nothing fetched.

Each function returns one `<svg>` element as text, sized by its `width`, labelled in the
page's own font (the browser's sans-serif, CJK included), every value also in a `<title>`
tooltip. Pure: data in, markup out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

#: Series colours, in order (distinct on screen and for the report's screenshot test).
PALETTE = (
    "#2563eb",
    "#f97316",
    "#16a34a",
    "#dc2626",
    "#9333ea",
    "#0891b2",
    "#ca8a04",
    "#db2777",
    "#64748b",
)
GRID = "#e5e7eb"
TEXT = "#374151"
FONT = 12


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'font-size="{FONT}" fill="{TEXT}">' + "".join(body) + "</svg>"
    )


def _swatch(x: float, y: float, colour: str) -> str:
    """A legend's colour box."""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{colour}"/>'


def _nice_max(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= value)


def stacked_columns(
    labels: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    width: int = 900,
    height: int = 280,
    label: str = "chart",
) -> str:
    """Columns per label (e.g. a day), stacked by series (e.g. category), with a legend."""
    left, right, top, bottom = 44, 12, 12, 56
    legend_rows = (len(series) + 3) // 4
    height += legend_rows * 18
    plot_w, plot_h = width - left - right, height - top - bottom - legend_rows * 18
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top_value = _nice_max(max(totals, default=0))
    body = []
    for step in range(5):
        value = top_value * step / 4
        y = top + plot_h - plot_h * step / 4
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.8, 1)
    every = max(1, round(len(labels) / 12))
    for i, name in enumerate(labels):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for n, (serie, values) in enumerate(series.items()):
            if not values[i]:
                continue
            h = plot_h * values[i] / top_value
            y -= h
            colour = PALETTE[n % len(PALETTE)]
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(name)} {escape(serie)}: {values[i]:,}</title></rect>"
            )
        if i % every == 0:
            body.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                f"{escape(name[5:] if len(name) == 10 else name)}</text>"
            )
    for n, serie in enumerate(series):
        lx = left + (n % 4) * (plot_w / 4)
        ly = height - 14 - (legend_rows - 1 - n // 4) * 18
        body.append(_swatch(lx, ly - 10, PALETTE[n % len(PALETTE)]))
        body.append(f'<text x="{lx + 18:.1f}" y="{ly}">{escape(serie)}</text>')
    return _svg(width, height, body, label)


def horizontal_bars(
    items: Sequence[tuple[str, int]],
    *,
    colour: str = PALETTE[0],
    width: int = 440,
    label: str = "chart",
) -> str:
    """One bar per (label, value), longest first as given, the value at the bar's end."""
    row, left, right = 24, 170, 56
    height = max(row * len(items), row) + 8
    top_value = max((value for _, value in items), default=0) or 1
    body = []
    for i, (name, value) in enumerate(items):
        y = 4 + i * row
        w = (width - left - right) * value / top_value
        shown = name if len(name) <= 14 else name[:13] + "…"
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(shown)}</text>')
        body.append(
            f'<rect x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 8}" '
            f'fill="{colour}"><title>{escape(name)}: {value:,}</title></rect>'
        )
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}">{value:,}</text>')
    if not items:
        body.append(f'<text x="{left}" y="18">none yet</text>')
    return _svg(width, height, body, label)


def grouped_columns(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    width: int = 900,
    height: int = 240,
    label: str = "chart",
) -> str:
    """Side-by-side columns per label (e.g. a run), one per series, each series on its own
    scale (so pages and errors both show); the value is in each column's tooltip."""
    left, right, top, bottom = 12, 12, 26, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(labels), 1)
    bar = slot * 0.8 / max(len(series), 1)
    body = []
    for n, serie in enumerate(series):
        lx = left + n * 200
        body.append(_swatch(lx, 4, PALETTE[n % len(PALETTE)]))
        body.append(f'<text x="{lx + 18}" y="15">{escape(serie)} (own scale)</text>')
    scales = {name: (max(values, default=0) or 1) for name, values in series.items()}
    every = max(1, round(len(labels) / 15))
    for i, name in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for n, (serie, values) in enumerate(series.items()):
            h = plot_h * values[i] / scales[serie]
            body.append(
                f'<rect x="{x0 + n * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{max(h, 0.5):.1f}" fill="{PALETTE[n % len(PALETTE)]}">'
                f"<title>{escape(name)} {escape(serie)}: {values[i]:,}</title></rect>"
            )
        if i % every == 0:
            body.append(
                f'<text x="{x0 + bar * len(series) / 2:.1f}" y="{top + plot_h + 16}" '
                f'text-anchor="middle">{escape(name)}</text>'
            )
    base = top + plot_h
    body.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" stroke="{GRID}"/>')
    return _svg(width, height, body, label)


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Mapping[tuple[str, str], float | None],
    *,
    cell: int = 28,
    label: str = "chart",
) -> str:
    """Shares (0..1) as cells: green when full, red when empty, grey when unknown."""
    left, top = 110, 22
    width = left + cell * max(len(columns), 1) + 8
    height = top + 20 * len(rows) + 4
    body = []
    every = max(1, round(len(columns) / 15))
    for j, column in enumerate(columns):
        if j % every == 0:
            x = left + j * cell + cell / 2
            body.append(f'<text x="{x:.1f}" y="14" text-anchor="middle">{escape(column)}</text>')
    for i, row in enumerate(rows):
        y = top + i * 20
        body.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{escape(row)}</text>')
        for j, column in enumerate(columns):
            share = values.get((row, column))
            colour = "#d1d5db" if share is None else _share_colour(share)
            shown = "-" if share is None else f"{share:.0%}"
            body.append(
                f'<rect x="{left + j * cell + 1}" y="{y + 1}" width="{cell - 2}" height="18" '
                f'fill="{colour}"><title>{escape(row)} in {escape(column)}: {shown}</title></rect>'
            )
    return _svg(width, height, body, label)


def _share_colour(share: float) -> str:
    """Red (0) through amber to green (1)."""
    share = min(max(share, 0.0), 1.0)
    red = (220, 38, 38)
    green = (22, 163, 74)
    mix = [round(r + (g - r) * share) for r, g in zip(red, green, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*mix)
