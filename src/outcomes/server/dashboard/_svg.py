"""Server-side SVG charts: no script, no font or file fetched, readable without colour.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (its text
alternative; the page also shows the numbers in a table beside it) and one
``<g class="series" data-series="...">`` per series, so a test or an assistive tool can
find what was drawn. Colours are the Okabe-Ito palette (distinguishable with the common
colour-vision deficiencies) and series also differ by marker shape in the legend order.

Why not a JavaScript charting library: the dashboard must work offline from the wheel,
render usefully without scripts, and stay small; the handful of chart kinds it needs
(lines, scatter with intervals, stacked shares, bars, a timeline) are a few dozen lines
of SVG each.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from itertools import count, pairwise

PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
    "#882255", "#44AA99", "#999933", "#AA4499",
)  # fmt: skip
"""Okabe-Ito first (eight colours told apart with deuteranopia, protanopia and
tritanopia), then four of Paul Tol's muted scheme for larger fleets."""
REFERENCE = "#888888"

W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 150, 14, 34
"""Plot margins; the right margin holds the legend."""

_ids = count(1)


@dataclass(frozen=True, slots=True)
class Series:
    """One named line: ``points`` are (x, y); ``band`` optional (x, low, high); ``line``
    False draws the points alone; ``dashed`` for a reference line (a diagonal)."""

    name: str
    points: Sequence[tuple[float, float]]
    band: Sequence[tuple[float, float, float]] = field(default_factory=tuple)
    line: bool = True
    dashed: bool = False


@dataclass(frozen=True, slots=True)
class Dot:
    """One point of a scatter chart, with an optional vertical interval."""

    label: str
    x: float
    y: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """One bar of a timeline: ``start`` and ``length`` on the x axis."""

    label: str
    start: float
    length: float
    group: str


def _f(v: float) -> str:
    return f"{v:.1f}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    out = []
    v = first
    while v <= hi + step * 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def fmt_number(v: float) -> str:
    """Short tick label: 1.2k, 0.25, 3e-05."""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e3:
        return f"{v / 1e3:.3g}k"
    if a == 0 or a >= 0.01:
        return f"{v:.3g}"
    return f"{v:.1e}"


def fmt_time(v: float, span: float) -> str:
    """Tick label of a Unix time: hour and minute for short spans, month-day otherwise."""
    t = time.gmtime(v)
    return time.strftime("%H:%M" if span <= 2 * 86_400 else "%m-%d", t)


class _Frame:
    """Scales from data to the plot area, and the axes' SVG."""

    def __init__(self, xs: Sequence[float], ys: Sequence[float], *, y0: float | None = 0.0):
        xlo, xhi = (min(xs), max(xs)) if xs else (0.0, 1.0)
        ylo, yhi = (min(ys), max(ys)) if ys else (0.0, 1.0)
        if y0 is not None:
            ylo = min(ylo, y0)
        if xhi <= xlo:
            xlo, xhi = xlo - 0.5, xhi + 0.5
        if yhi <= ylo:
            yhi = ylo + (abs(ylo) or 1.0)
        self.xlo, self.xhi, self.ylo, self.yhi = xlo, xhi, ylo, yhi
        self.pw, self.ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(self, v: float) -> float:
        return LEFT + (v - self.xlo) / (self.xhi - self.xlo) * self.pw

    def y(self, v: float) -> float:
        return TOP + self.ph - (v - self.ylo) / (self.yhi - self.ylo) * self.ph

    def axes(self, x_label: str, y_label: str, x_fmt: Callable[[float], str]) -> list[str]:
        out = ['<g class="axes" font-size="11" fill="#333">']
        bottom, right = TOP + self.ph, LEFT + self.pw
        out.append(
            f'<path d="M{LEFT},{TOP}V{bottom}H{right}" fill="none" stroke="#666" stroke-width="1"/>'
        )
        for t in nice_ticks(self.ylo, self.yhi):
            y = _f(self.y(t))
            out.append(f'<line x1="{LEFT}" x2="{right}" y1="{y}" y2="{y}" stroke="#e4e4e4"/>')
            out.append(f'<text x="{LEFT - 4}" y="{y}" text-anchor="end" dy="4">')
            out.append(f"{escape(fmt_number(t))}</text>")
        for t in nice_ticks(self.xlo, self.xhi, 6):
            x = _f(self.x(t))
            out.append(f'<line x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 4}" stroke="#666"/>')
            out.append(f'<text x="{x}" y="{bottom + 16}" text-anchor="middle">')
            out.append(f"{escape(x_fmt(t))}</text>")
        out.append(
            f'<text x="{LEFT + self.pw / 2}" y="{H - 2}" text-anchor="middle">'
            f"{escape(x_label)}</text>"
        )
        out.append(
            f'<text transform="translate(12,{TOP + self.ph / 2}) rotate(-90)" '
            f'text-anchor="middle">{escape(y_label)}</text></g>'
        )
        return out


def _open(kind: str, title: str, desc: str, height: int = H) -> list[str]:
    n = next(_ids)
    return [
        f'<svg class="chart" data-chart="{escape(kind)}" role="img" '
        f'aria-labelledby="c{n}t c{n}d" viewBox="0 0 {W} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">',
        f'<title id="c{n}t">{escape(title)}</title><desc id="c{n}d">{escape(desc)}</desc>',
    ]


def _legend(names: Sequence[str], top: int = TOP, colors: Sequence[str] | None = None) -> list[str]:
    out = ['<g class="legend" font-size="11">']
    for i, name in enumerate(names[:16]):
        y = top + 6 + i * 15
        color = colors[i] if colors is not None else PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{W - RIGHT + 10}" y="{y - 8}" width="10" height="10" fill="{color}"/>'
        )
        out.append(f'<text x="{W - RIGHT + 24}" y="{y + 1}">{escape(name[:22])}</text>')
    out.append("</g>")
    return out


def _empty(kind: str, title: str, desc: str) -> str:
    out = _open(kind, title, desc, 60)
    out.append('<text x="10" y="34" font-size="13" fill="#666">no data for these filters</text>')
    return "".join([*out, "</svg>"])


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    y_label: str,
    x_label: str = "time (UTC)",
    time_axis: bool = True,
    step: bool = False,
    y_range: tuple[float, float] | None = None,
) -> str:
    """Lines (optionally steps) with optional interval bands; x is Unix time by default."""
    series = [s for s in series if s.points]
    desc = "; ".join(f"{s.name}: {len(s.points)} points" for s in series)
    if not series:
        return _empty("line", title, "no data")
    xs = [p[0] for s in series for p in s.points]
    ys = [p[1] for s in series for p in s.points] + [
        v for s in series for b in s.band for v in b[1:]
    ]
    if y_range is not None:
        ys = [*ys, *y_range]
    fr = _Frame(xs, ys)
    span = fr.xhi - fr.xlo
    x_fmt = (lambda v: fmt_time(v, span)) if time_axis else fmt_number
    out = _open("line", title, desc)
    out += fr.axes(x_label, y_label, x_fmt)
    colors = [REFERENCE if s.dashed else PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
    for s, color in zip(series, colors, strict=True):
        out.append(f'<g class="series" data-series="{escape(s.name)}">')
        if s.band:
            upper = " ".join(f"{_f(fr.x(x))},{_f(fr.y(hi))}" for x, _, hi in s.band)
            lower = " ".join(f"{_f(fr.x(x))},{_f(fr.y(lo))}" for x, lo, _ in reversed(s.band))
            out.append(f'<polygon points="{upper} {lower}" fill="{color}" fill-opacity="0.15"/>')
        d = []
        for j, (x, y) in enumerate(s.points):
            if j and step:
                d.append(f"H{_f(fr.x(x))}")
            d.append(f"{'L' if j else 'M'}{_f(fr.x(x))},{_f(fr.y(y))}")
        if s.line:
            dash = ' stroke-dasharray="5 4"' if s.dashed else ""
            out.append(
                f'<path d="{"".join(d)}" fill="none" stroke="{color}" stroke-width="2"{dash}/>'
            )
        if s.dashed:
            out.append("</g>")
            continue
        for x, y in s.points:
            out.append(
                f'<circle cx="{_f(fr.x(x))}" cy="{_f(fr.y(y))}" r="2.5" fill="{color}">'
                f"<title>{escape(s.name)}: {escape(fmt_number(y))}</title></circle>"
            )
        out.append("</g>")
    out += _legend([s.name for s in series], colors=colors)
    return "".join([*out, "</svg>"])


def scatter_chart(
    title: str, dots: Sequence[Dot], *, x_label: str, y_label: str, log_x: bool = False
) -> str:
    """One labelled point per item, with its vertical interval when known."""
    dots = [d for d in dots if math.isfinite(d.x) and (not log_x or d.x > 0)]
    if not dots:
        return _empty("scatter", title, "no data")
    desc = "; ".join(
        f"{d.label}: {x_label} {fmt_number(d.x)}, {y_label} {fmt_number(d.y)}"
        + (
            f" [{fmt_number(d.low)}, {fmt_number(d.high)}]"
            if d.low is not None and d.high is not None
            else ""
        )
        for d in dots
    )
    tx: Callable[[float], float] = math.log10 if log_x else float
    xs = [tx(d.x) for d in dots]
    ys = [v for d in dots for v in (d.y, d.low, d.high) if v is not None]
    fr = _Frame(xs, ys, y0=None)
    pad, ypad = (fr.xhi - fr.xlo) * 0.06, (fr.yhi - fr.ylo) * 0.08
    fr.xlo, fr.xhi = fr.xlo - pad, fr.xhi + pad
    fr.ylo, fr.yhi = fr.ylo - ypad, fr.yhi + ypad
    x_fmt = (lambda v: fmt_number(10**v)) if log_x else fmt_number
    out = _open("scatter", title, desc)
    out += fr.axes(x_label + (" (log scale)" if log_x else ""), y_label, x_fmt)
    for i, d in enumerate(dots):
        color = PALETTE[i % len(PALETTE)]
        x, y = _f(fr.x(tx(d.x))), _f(fr.y(d.y))
        out.append(f'<g class="series" data-series="{escape(d.label)}">')
        if d.low is not None and d.high is not None:
            lo, hi = _f(fr.y(d.low)), _f(fr.y(d.high))
            out.append(f'<path d="M{x},{lo}V{hi}M{float(x) - 4},{lo}h8M{float(x) - 4},{hi}h8" ')
            out.append(f'stroke="{color}" stroke-width="1.5" fill="none"/>')
        out.append(
            f'<circle cx="{x}" cy="{y}" r="5" fill="{color}"><title>{escape(d.label)}</title>'
            "</circle></g>"
        )
    out += _legend([d.label for d in dots])
    return "".join([*out, "</svg>"])


def stacked_bars(
    title: str,
    xs: Sequence[float],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    y_label: str,
    share: bool = False,
    time_axis: bool = True,
) -> str:
    """One stacked bar per x; with ``share`` each bar is scaled to 100%."""
    series = [(n, v) for n, v in series if any(v)]
    if not xs or not series:
        return _empty("stacked", title, "no data")
    totals = [sum(v[i] for _, v in series) for i in range(len(xs))]
    desc = "; ".join(f"{n}: {fmt_number(sum(v))} in total" for n, v in series)
    step = min((b - a for a, b in pairwise(xs)), default=1.0) or 1.0
    fr = _Frame([xs[0] - step / 2, xs[-1] + step / 2], [0.0, 1.0 if share else max(totals)])
    span = fr.xhi - fr.xlo
    x_fmt = (lambda v: fmt_time(v, span)) if time_axis else fmt_number
    out = _open("stacked", title, desc)
    out += fr.axes("time (UTC)" if time_axis else "", y_label, x_fmt)
    width = max(fr.x(xs[0] + step * 0.4) - fr.x(xs[0] - step * 0.4), 1.0)
    base = [0.0] * len(xs)
    for k, (name, values) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        out.append(f'<g class="series" data-series="{escape(name)}" fill="{color}">')
        for i, x in enumerate(xs):
            v = values[i] / totals[i] if share and totals[i] else values[i]
            if v <= 0:
                continue
            top, bottom = fr.y(base[i] + v), fr.y(base[i])
            base[i] += v
            out.append(
                f'<rect x="{_f(fr.x(x) - width / 2)}" y="{_f(top)}" width="{_f(width)}" '
                f'height="{_f(bottom - top)}"><title>{escape(name)}: '
                f"{escape(fmt_number(v))}</title></rect>"
            )
        out.append("</g>")
    out += _legend([n for n, _ in series])
    return "".join([*out, "</svg>"])


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, x_label: str) -> str:
    """Horizontal bars, one per label, longest value scaled to the plot width."""
    bars = [(n, v) for n, v in bars if v > 0]
    if not bars:
        return _empty("bars", title, "no data")
    height = TOP + BOTTOM + 22 * len(bars)
    desc = "; ".join(f"{n}: {fmt_number(v)}" for n, v in bars)
    out = _open("bars", title, desc, height)
    top = max(v for _, v in bars)
    left, width = 150, W - 150 - 60
    for i, (name, v) in enumerate(bars):
        y = TOP + i * 22
        w = max(v / top * width, 1.0)
        out.append(f'<g class="series" data-series="{escape(name)}" font-size="11">')
        out.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(name[:24])}</text>'
        )
        out.append(
            f'<rect x="{left}" y="{y + 2}" width="{_f(w)}" height="16" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        out.append(f'<text x="{_f(left + w + 4)}" y="{y + 14}">{escape(fmt_number(v))}</text></g>')
    out.append(
        f'<text x="{left + width / 2}" y="{height - 8}" font-size="11" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    return "".join([*out, "</svg>"])


def timeline(title: str, spans: Sequence[Span], *, x_label: str = "ms since start") -> str:
    """A Gantt-like row per span, coloured by group (a step kind)."""
    if not spans:
        return _empty("timeline", title, "no data")
    groups = list(dict.fromkeys(s.group for s in spans))
    height = TOP + BOTTOM + 16 * len(spans)
    desc = "; ".join(f"{s.label}: {fmt_number(s.length)} at {fmt_number(s.start)}" for s in spans)
    out = _open("timeline", title, desc, height)
    end = max(s.start + s.length for s in spans) or 1.0
    left, width = 150, W - 150 - RIGHT
    for i, s in enumerate(spans):
        y = TOP + i * 16
        color = PALETTE[groups.index(s.group) % len(PALETTE)]
        x0 = left + s.start / end * width
        w = max(s.length / end * width, 2.0)
        out.append(f'<g class="series" data-series="{escape(s.group)}" font-size="10">')
        out.append(
            f'<text x="{left - 6}" y="{y + 11}" text-anchor="end">{escape(s.label[:26])}</text>'
        )
        out.append(
            f'<rect x="{_f(x0)}" y="{y + 2}" width="{_f(w)}" height="12" fill="{color}">'
            f"<title>{escape(s.label)}: {escape(fmt_number(s.length))} ms</title></rect></g>"
        )
    out.append(
        f'<text x="{left + width / 2}" y="{height - 8}" font-size="11" text-anchor="middle">'
        f"{escape(x_label)} (total {escape(fmt_number(end))})</text>"
    )
    out += _legend(groups)
    return "".join([*out, "</svg>"])


@dataclass(frozen=True, slots=True)
class Period:
    """A stretch of time on one lane (a model), coloured by ``group`` (a cause)."""

    lane: str
    start: float
    end: float
    group: str


def lanes(
    title: str, periods: Sequence[Period], *, groups: Sequence[str], x_range: tuple[float, float]
) -> str:
    """A row per lane and group on a time axis (the lane named on its first row), a bar
    per period, one series per group (colours follow ``groups``' order, so a cause keeps
    its colour whichever causes are shown); overlapping periods of different groups of
    one lane stay visible."""
    if not periods:
        return _empty("lanes", title, "no periods")
    rows = sorted({(p.lane, groups.index(p.group) if p.group in groups else -1, p.group)
                   for p in periods})  # fmt: skip
    names = [(lane, group) for lane, _, group in rows]
    shown = [g for g in groups if any(p.group == g for p in periods)]
    lo, hi = x_range[0], max(x_range[1], *(p.end for p in periods))
    hi = hi if hi > lo else lo + 1.0
    height = TOP + BOTTOM + 20 * len(names)
    per = {g: [p for p in periods if p.group == g] for g in shown}
    desc = "; ".join(
        f"{g}: {len(ps)} periods, {fmt_number(sum(p.end - p.start for p in ps))} s in total"
        for g, ps in per.items()
    )
    out = _open("lanes", title, desc, height)
    left, width = 150, W - 150 - RIGHT
    bottom = height - BOTTOM

    def x(v: float) -> float:
        return left + (min(max(v, lo), hi) - lo) / (hi - lo) * width

    out.append('<g class="axes" font-size="11" fill="#333">')
    for i, (lane, _) in enumerate(names):
        y = TOP + i * 20
        label = escape(lane[:24]) if i == 0 or names[i - 1][0] != lane else ""
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">'
                   f'{label}</text><line x1="{left}" x2="{left + width}" '
                   f'y1="{y + 19}" y2="{y + 19}" stroke="#e4e4e4"/>')  # fmt: skip
    for t in nice_ticks(lo, hi, 5):
        out.append(f'<text x="{_f(x(t))}" y="{bottom + 16}" text-anchor="middle">'
                   f"{escape(fmt_time(t, hi - lo))}</text>")  # fmt: skip
    out.append(
        f'<text x="{left + width / 2}" y="{height - 4}" text-anchor="middle">time (UTC)</text></g>'
    )
    colors = [PALETTE[groups.index(g) % len(PALETTE)] for g in shown]
    for g, color in zip(shown, colors, strict=True):
        out.append(f'<g class="series" data-series="{escape(g)}" fill="{color}">')
        for p in per[g]:
            y = TOP + names.index((p.lane, g)) * 20
            x0 = x(p.start)
            out.append(
                f'<rect x="{_f(x0)}" y="{y + 3}" width="{_f(max(x(p.end) - x0, 2.0))}" '
                f'height="14"><title>{escape(p.lane)}: {escape(g)}, '
                f"{escape(fmt_number(p.end - p.start))} s</title></rect>"
            )
        out.append("</g>")
    out += _legend(shown, colors=colors)
    return "".join([*out, "</svg>"])
