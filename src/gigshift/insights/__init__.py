"""Market insights: online labour trends from the Online Labour Index, and what a platform's own tables say.

:func:`trends` gives each occupation class's level, share of the market, STL trend, change around
named events (ChatGPT's release by default) relative to the market with a confidence interval, and
structural breaks. :func:`market` turns a market's tables (tasks, bids, assignments, the decision
log, or a simulation's category table) into activity per category and week, a mix-adjusted price
index, and a model of whom clients choose; :func:`read_folder` loads those tables from a folder
written by ``gigshift market synth``, ``gigshift allocate run`` or ``gigshift simulate``.
"""

from gigshift.insights._folder import MarketFolder, read_folder
from gigshift.insights._market import MarketInsights, market
from gigshift.insights._trends import TrendsResult, trends

__all__ = ["MarketFolder", "MarketInsights", "TrendsResult", "market", "read_folder", "trends"]
