"""Market insights: online labour trends from the Online Labour Index.

:func:`trends` gives each occupation class's level, share of the market, STL trend, change around
named events (ChatGPT's release by default) relative to the market with a confidence interval, and
structural breaks.
"""

from gigshift.insights._trends import TrendsResult, trends

__all__ = ["TrendsResult", "trends"]
