"""Bias audits of allocation and rating decisions: a decision table in; rates, impact ratios and gaps out.

:func:`audit` computes, per group attribute and intersection, the LL144 table (people, selection
or scoring rate, impact ratio, unknowns, small categories), fairlearn's fairness metrics, Aequitas
style disparities and, for ranked lists, exposure, all with seeded bootstrap intervals; the result
renders as JSON, Markdown and a self-contained HTML report. :func:`rating_gap`, :func:`pay_gap`
and :func:`concentration` measure outcome gaps: ratings adjusted for controls, pay by an
Oaxaca-Blinder decomposition, and how concentrated work is.
"""

from gigshift.audit._audit import AuditResult, audit
from gigshift.audit._gaps import GapResult, PayGapResult, concentration, pay_gap, rating_gap

__all__ = ["AuditResult", "GapResult", "PayGapResult", "audit", "concentration", "pay_gap", "rating_gap"]
