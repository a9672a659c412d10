"""AI-impact estimation on panels: difference-in-differences and event studies by exposure.

:func:`estimate` runs a two-way fixed-effects DiD and an event study (leads and lags around an
event date) with standard errors clustered by unit, on any panel of units and periods: the
simulator's output or a platform's own export. :func:`estimate_staggered` handles staggered
events (each unit treated from its own period) with a heterogeneity-robust estimator (Gardner's
two-stage did2s). :func:`attach_exposure` adds the atlas's AI exposure of each row's category or
occupation, for continuous treatment. :func:`published_estimates` lists published estimates of
generative AI's effect on online freelancing; :func:`compare_with_published` estimates each of
them on a simulation's tables, the way its paper did.
"""

from gigshift.impact._estimate import ImpactResult, attach_exposure, check_panel, estimate
from gigshift.impact._published import compare_with_published, published_estimates
from gigshift.impact._staggered import estimate_staggered

__all__ = [
    "ImpactResult",
    "attach_exposure",
    "check_panel",
    "compare_with_published",
    "estimate",
    "estimate_staggered",
    "published_estimates",
]
