"""HTML plumbing shared by every HTML rendering: escaping, tables, the page shell with inlined Plotly.

Private root module: imports no engine, so engines (an audit's ``to_html``) and the report face can
both use it.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path

import polars as pl

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:1.9rem;margin:.2em 0} h2{margin-top:2.2em;border-bottom:2px solid #e3e7ee;padding-bottom:.25em}
h3{margin:1.2em 0 .4em} p.lead{font-size:1.08rem;color:#3b4456;max-width:900px}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9rem;background:#fff}
th,td{border:1px solid #dde2ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f6} td.num{text-align:right;font-variant-numeric:tabular-nums}
details{background:#fff;border:1px solid #dde2ea;border-radius:6px;margin:.5em 0;padding:.4em .8em}
summary{cursor:pointer;font-weight:600} .muted{color:#687389;font-size:.9rem}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:.8rem;color:#fff}
.E1{background:#c0392b} .E2{background:#e67e22} .E0{background:#2e86c1}
.cols{display:grid;grid-template-columns:repeat(3,1fr);gap:14px} .cols>div{min-width:0}
nav a{margin-right:14px} .scroll{overflow-x:auto;max-width:100%}
"""


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def table_html(frame: pl.DataFrame, *, formats: dict[str, str] | None = None, escape: bool = True) -> str:
    """One self-contained ``<table>`` from a DataFrame; ``formats`` maps column -> format spec."""
    formats = formats or {}
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = []
        for col, value in zip(frame.columns, row, strict=True):
            if isinstance(value, int | float) and not isinstance(value, bool):
                text = format(value, formats.get(col, ".3f" if isinstance(value, float) else "d"))
                cells.append(f'<td class="num">{text}</td>')
            else:
                cells.append(f"<td>{esc(value) if escape else value}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def page(title: str, body: str) -> str:
    """A complete HTML page with Plotly's JavaScript inlined once (no CDN, works offline)."""
    from plotly.offline import get_plotlyjs

    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{esc(title)}</title>"
        f"<style>{CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body><main>{body}</main></body></html>"
    )


def figure_html(fig: object, div_id: str) -> str:
    """A Plotly figure as a ``<div>`` that uses the page's inlined Plotly."""
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,  # type: ignore[attr-defined]
        config={"displaylogo": False, "responsive": True},
    )


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace`` (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
