"""HTML building blocks: the page frame, tables, the filter form and number formats.

Plain functions returning escaped strings: the pages are a frame, a form, tables and
charts, and a template engine would add a dependency without removing any code. Every
value that reaches the page passes through :func:`esc` (or is a number formatted here).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from outcomes.server.dashboard._filters import LABELS, RANGES, Filters

NAV = (
    ("models", "Models"),
    ("routing", "Routing"),
    ("calibration", "Calibration"),
    ("components", "Components"),
    ("code", "Code adoption"),
    ("trajectories", "Trajectories"),
)

CSS = """
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#dadce0;--accent:#0072B2;--bg:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
header{background:#123;color:#fff;padding:.5rem 1.25rem;display:flex;gap:1.5rem;align-items:center;
flex-wrap:wrap}
header a{color:#cfe3ff;text-decoration:none;padding:.2rem .1rem;margin-right:1rem}
header a[aria-current=page]{color:#fff;border-bottom:2px solid #E69F00}
header .brand{font-weight:700;color:#fff}
main{padding:1rem 1.25rem;max-width:1400px}
h1{font-size:1.35rem;margin:.2rem 0 .6rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
form.filters{display:flex;gap:.75rem;flex-wrap:wrap;align-items:end;background:var(--soft);
padding:.6rem .8rem;border:1px solid var(--line);border-radius:6px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
form.filters label.na{font-style:italic;opacity:.75}
form.filters select,form.filters input{font:inherit;padding:.2rem .3rem;min-width:9rem}
.api{font-size:12px;color:var(--muted);margin:.4rem 0}.api code{color:var(--fg)}
.note{background:#fff8e1;border-left:3px solid #E69F00;padding:.3rem .6rem;margin:.4rem 0}
.pair{display:grid;grid-template-columns:minmax(320px,640px) minmax(280px,1fr);gap:1rem;
align-items:start}
@media (max-width:1000px){.pair{grid-template-columns:1fr}}
svg.chart{width:100%;height:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
.scroll{max-height:420px;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
caption{text-align:left;font-weight:600;padding:.2rem 0}
th,td{padding:.25rem .5rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--soft);position:sticky;top:0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.bad{color:#b3261e;font-weight:600}.good{color:#0a7d2c;font-weight:600}.muted{color:var(--muted)}
"""


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def num(value: float | int | None, digits: int = 3) -> str:
    """A number for a table cell; an em dash for unknown."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def interval(iv: Sequence[float] | None) -> str:
    return "—" if not iv else f"{100 * iv[0]:.1f}–{100 * iv[1]:.1f}%"


def when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def usd(value: float | None) -> str:
    return "—" if value is None else f"${value:.4g}"


class Cell:
    """A pre-rendered table cell: ``html`` is trusted markup (already escaped)."""

    __slots__ = ("cls", "html")

    def __init__(self, html: str, cls: str = "") -> None:
        self.html = html
        self.cls = cls


def link(href: str, text: object) -> Cell:
    return Cell(f'<a href="{esc(href)}">{esc(text)}</a>')


def n(value: float | int | None, digits: int = 3) -> Cell:
    return Cell(esc(num(value, digits)), "n")


def table(
    caption: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, cls: str = ""
) -> str:
    """A table; cells are :class:`Cell` (trusted markup) or values (escaped)."""
    out = [
        f'<div class="scroll"><table class="{esc(cls)}">'
        f"<caption>{esc(caption)}</caption><thead><tr>"
    ]
    out += [f'<th scope="col">{esc(h)}</th>' for h in headers]
    out.append("</tr></thead><tbody>")
    count = 0
    for row in rows:
        count += 1
        out.append("<tr>")
        for cell in row:
            if isinstance(cell, Cell):
                out.append(
                    f'<td class="{cell.cls}">{cell.html}</td>'
                    if cell.cls
                    else f"<td>{cell.html}</td>"
                )
            else:
                out.append(f"<td>{esc(cell)}</td>")
        out.append("</tr>")
    if not count:
        out.append(
            f'<tr><td colspan="{len(headers)}" class="muted">nothing for these filters</td></tr>'
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def pair(chart: str, side: str) -> str:
    """A chart with its table beside it (below it on narrow screens)."""
    return f'<div class="pair"><figure style="margin:0">{chart}</figure><div>{side}</div></div>'


def _label(name: str, text: str, skipped: Mapping[str, str]) -> str:
    # A filter this page does not apply stays in the form (so it carries on to the other
    # pages' links) but says so, with the reason as its tooltip.
    why = skipped.get(name)
    if why is None:
        return f"<label>{esc(text)}"
    return f'<label class="na" title="{esc(why)}">{esc(text)} <small>(not applied here)</small>'


def _select(
    name: str, label: str, current: str, options: Sequence[str], skipped: Mapping[str, str]
) -> str:
    opts = [f'<option value=""{" selected" if not current else ""}>all</option>']
    values = list(dict.fromkeys([*options, *([current] if current else [])]))
    for o in values:
        if not o:
            continue
        sel = " selected" if o == current else ""
        opts.append(f'<option value="{esc(o)}"{sel}>{esc(o)}</option>')
    return f'{_label(name, label, skipped)}<select name="{name}">{"".join(opts)}</select></label>'


def filter_form(
    f: Filters,
    tasks: Sequence[str],
    projects: Sequence[str],
    skipped: Mapping[str, str] | None = None,
) -> str:
    """The GET form every page carries (it works without JavaScript); ``skipped``: the
    filters the page does not apply, and why."""
    skip = skipped or {}
    ranges = [
        f'<option value="{r}"{" selected" if r == f.since else ""}>{r or "all time"}</option>'
        for r in dict.fromkeys([*RANGES, f.since])
    ]
    return (
        '<form class="filters" method="get" aria-label="filters">'
        f'{_label("since", "time range", skip)}<select name="since">{"".join(ranges)}</select>'
        "</label>"
        f"{_select('task', 'task', f.task, tasks, skip)}"
        f"{_select('project', 'project', f.project, projects, skip)}"
        f'{_label("tag", "tag", skip)}<input name="tag" value="{esc(f.tag)}" placeholder="any">'
        "</label>"
        '<button type="submit">apply</button></form>'
        + (
            '<p class="muted scope">Not applied on this page: '
            + "; ".join(f"{esc(LABELS[k])} ({esc(v)})" for k, v in skip.items())
            + ".</p>"
            if skip
            else ""
        )
    )  # fmt: skip


def frame(title: str, current: str, root: str, body: str, query: str = "") -> str:
    """A whole page; ``query`` (the filters' query string) carries on in the navigation."""
    nav = "".join(
        f'<a href="{esc(root)}/{key}{esc(query)}"'
        f"{' aria-current=page' if key == current else ''}>{label}</a>"
        for key, label in NAV
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)} · outcomes</title><style>{CSS}</style></head><body>"
        f'<header><a class="brand" href="{esc(root)}/">outcomes</a>'
        f'<nav aria-label="pages">{nav}</nav>'
        f"</header><main><h1>{esc(title)}</h1>{body}</main></body></html>"
    )


def api_link(href: str) -> str:
    """The JSON call behind a page, as a link people (and scripts) can follow."""
    return (
        f'<p class="api">Data: <a class="api-link" href="{esc(href)}">'
        f"<code>GET {esc(href)}</code></a></p>"
    )


def notes(items: Sequence[str]) -> str:
    return "".join(f'<p class="note">{esc(t)}</p>' for t in items)


def path_part(value: str) -> str:
    return quote(value, safe="")
