"""Reports: self-contained HTML pages (Plotly inlined, no network) rendered from engine results.

:func:`write_atlas_report` writes the exposure atlas; :func:`run_demo` runs the end-to-end demo
(simulate, estimate, audit, three workers' stories) and writes its report.
"""

from gigshift.report._atlas import atlas_html, write_atlas_report
from gigshift.report._demo import DemoResult, run_demo

__all__ = ["DemoResult", "atlas_html", "run_demo", "write_atlas_report"]
