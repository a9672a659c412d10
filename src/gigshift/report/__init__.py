"""Reports: self-contained HTML pages (Plotly inlined, no network) rendered from engine results."""

from gigshift.report._atlas import atlas_html, write_atlas_report

__all__ = ["atlas_html", "write_atlas_report"]
