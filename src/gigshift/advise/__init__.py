"""Career advice for gig workers: similar occupations, less-exposed career paths, working with AI, and
what a market says about niches, rates and peers.

Everything rests on the atlas (``gigshift.taxonomy``): O*NET 29.3 tasks, activities, titles, skills and
tools for the similarity; the published exposure scores (Eloundou et al. 2024) under both lenses;
BLS wages and 2024-34 projections; the Online Labour Index. An origin is an O*NET-SOC code, a gig
category (its occupations weighted as the atlas weighs them) or free text (its three best lookup
matches, weighted by match score).

- :func:`similar`: the closest occupations by the similarity alone;
- :func:`paths`: destinations that are less exposed, well paid and close enough, ranked jointly, each
  with what to learn, and the search widened (and said so) when too few qualify;
- :func:`skill_levers`: the single tools and activities that open the most such paths;
- :func:`tasks`: the worker's tasks split into what AI can do, what it speeds up, and the human edge;
- :func:`niches`: on a market (``gigshift.market``), the categories and skill clusters a worker could
  serve, ranked on demand growth, competition, AI substitution exposure and pay, each explained;
- :func:`price`: a rate range for a worker profile from the winning bids of a category
  (quantile regression), with its uncertainty, or the nearest category with enough data;
- :func:`peers`: entrants matched with experienced workers as mentors (``gigshift.allocate`` with
  capacities and its fairness options), each match explained;
- :func:`career_card`: all of it on one self-contained HTML page for one worker's work.
"""

from gigshift.advise._market_results import NichesResult, PeersResult, PriceResult
from gigshift.advise._niches import NICHE_WEIGHTS, niches
from gigshift.advise._origin import Origin, OriginKind
from gigshift.advise._paths import SCORE_WEIGHTS, paths, preparation_cost, similar, skill_levers
from gigshift.advise._peers import PEER_WEIGHTS, peers
from gigshift.advise._price import price
from gigshift.advise._report import CareerCard, career_card
from gigshift.advise._results import PathsResult, SimilarResult, SkillLeversResult, TasksResult
from gigshift.advise._tasks import tasks

__all__ = [
    "NICHE_WEIGHTS",
    "PEER_WEIGHTS",
    "SCORE_WEIGHTS",
    "CareerCard",
    "NichesResult",
    "Origin",
    "OriginKind",
    "PathsResult",
    "PeersResult",
    "PriceResult",
    "SimilarResult",
    "SkillLeversResult",
    "TasksResult",
    "career_card",
    "niches",
    "paths",
    "peers",
    "preparation_cost",
    "price",
    "similar",
    "skill_levers",
    "tasks",
]
