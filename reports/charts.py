"""A grouped bar chart as inline SVG, drawn on the server: no script, no CDN, no web font.

Readable without colour: every series has its own fill pattern (solid, hatched, dotted,
cross-hatched, striped) shown in the legend next to its name, and the chart carries a
<title> and a <desc> saying what it shows. The numbers themselves are in the table beside
it, which is what screen readers are pointed to. Presentation attributes only (no style
attributes): the Content-Security-Policy allows no inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

INK = "#1a1a1a"
# (pattern id suffix, pattern body): each readable in black and white.
PATTERNS: tuple[tuple[str, str], ...] = (
    ("solid", f'<rect width="8" height="8" fill="{INK}"/>'),
    ("hatch", f'<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="{INK}" stroke-width="2"/>'),
    ("dots", f'<circle cx="4" cy="4" r="2" fill="{INK}"/>'),
    (
        "cross",
        f'<path d="M0,0 l8,8 M8,0 l-8,8" stroke="{INK}" stroke-width="1.5"/>',
    ),
    ("stripes", f'<path d="M0,4 h8" stroke="{INK}" stroke-width="2.5"/>'),
)

# Room on the left and below for the category labels, which are turned 45°.
_LEFT, _RIGHT, _TOP, _BOTTOM = 84, 16, 16, 104
_BAR, _GAP_IN_GROUP, _GAP_BETWEEN = 10, 1, 14
_HEIGHT = 220
# A chart of one or two periods is still drawn at a readable width.
_MIN_PLOT_WIDTH = 480
_LEGEND_ROW = 22


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int]


def _number(value: float) -> str:
    """A coordinate as SVG wants it; format_html would escape a number to text first."""
    return f"{value:.1f}"


def _nice_max(value: int) -> int:
    """The top of the scale: 1, 2 or 5 times a power of ten, at least the value."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart_svg(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
) -> SafeString:
    """The chart as an <svg> element; `chart_id` keeps pattern and title ids unique on a page."""
    groups = max(len(categories), 1)
    group_width = max(
        len(series) * (_BAR + _GAP_IN_GROUP) + _GAP_BETWEEN, _MIN_PLOT_WIDTH // groups
    )
    plot_width = groups * group_width
    width = _LEFT + plot_width + _RIGHT
    legend_top = _TOP + _HEIGHT + _BOTTOM
    height = legend_top + _LEGEND_ROW * len(series) + 8
    top_value = _nice_max(max((max(s.values, default=0) for s in series), default=0))

    def y(value: int) -> str:
        return _number(_TOP + _HEIGHT - _HEIGHT * value / top_value)

    patterns = format_html_join(
        "",
        '<pattern id="{}-{}" width="8" height="8" patternUnits="userSpaceOnUse">'
        '<rect width="8" height="8" fill="#ffffff"/>{}</pattern>',
        ((chart_id, name, mark_safe(body)) for name, body in PATTERNS),  # constants of this module
    )
    gridlines = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#8c8c8c" stroke-width="0.5"/>'
        '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="{}">{}</text>',
        (
            (
                _LEFT,
                _LEFT + plot_width,
                y(tick),
                y(tick),
                _LEFT - 6,
                _number(float(y(tick)) + 4),
                INK,
                tick,
            )
            for tick in sorted({0, top_value // 2, top_value})
        ),
    )
    bars = []
    for group, category in enumerate(categories):
        bars_width = len(series) * (_BAR + _GAP_IN_GROUP)
        x0 = _LEFT + group * group_width + (group_width - bars_width) / 2
        for index, one in enumerate(series):
            value = one.values[group] if group < len(one.values) else 0
            if not value:
                continue
            name = PATTERNS[index % len(PATTERNS)][0]
            bars.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="url(#{}-{})" '
                    'stroke="{}" stroke-width="1"><title>{}, {}: {}</title></rect>',
                    _number(x0 + index * (_BAR + _GAP_IN_GROUP)),
                    y(value),
                    _BAR,
                    _number(_TOP + _HEIGHT - float(y(value))),
                    chart_id,
                    name,
                    INK,
                    category,
                    one.label,
                    value,
                )
            )
        # Category labels turned 45° so hours and dates fit under narrow groups.
        label_x = _number(x0 + bars_width / 2)
        label_y = _TOP + _HEIGHT + 14
        bars.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" fill="{}" text-anchor="end" '
                'transform="rotate(-45 {} {})">{}</text>',
                label_x,
                label_y,
                INK,
                label_x,
                label_y,
                category,
            )
        )
    legend = format_html_join(
        "",
        '<rect x="{}" y="{}" width="16" height="14" fill="url(#{}-{})" stroke="{}"/>'
        '<text x="{}" y="{}" font-size="13" fill="{}">{}</text>',
        (
            (
                _LEFT,
                legend_top + row * _LEGEND_ROW,
                chart_id,
                PATTERNS[row % len(PATTERNS)][0],
                INK,
                _LEFT + 24,
                legend_top + row * _LEGEND_ROW + 12,
                INK,
                one.label,
            )
            for row, one in enumerate(series)
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" aria-labelledby="{id}-title {id}-desc" class="report-chart">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        "<defs>{patterns}</defs>"
        '<rect width="{w}" height="{h}" fill="#ffffff"/>'
        "{grid}"
        '<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="{ink}"/>'
        '<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{ink}"/>'
        "{bars}{legend}</svg>",
        w=width,
        h=height,
        id=chart_id,
        title=title,
        desc=description,
        patterns=patterns,
        grid=gridlines,
        left=_LEFT,
        right=_LEFT + plot_width,
        top=_TOP,
        bottom=_TOP + _HEIGHT,
        ink=INK,
        bars=mark_safe("".join(bars)),  # each part built by format_html above
        legend=legend,
    )
