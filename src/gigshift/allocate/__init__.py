"""Task allocation: candidates, transparent scores, optimal matching with fairness, explanations.

The pipeline, each stage a pure function over columnar tables:

1. candidates: each task's top-k eligible workers (category, skills, capacity, remote or same area);
2. scores: a weighted sum of named components, weights from a :class:`Policy` (YAML);
3. solve: maximum total score, each task at most once, each worker at most its capacity
   (:func:`solve`: exact, greedy or dispatch), optionally with group parity (four-fifths rule);
4. explanations: rank, runner-up, margin and a verified counterfactual for every decision, and a
   transparency statement generated from the policy;
5. the decision log: every candidate edge with its components, score, outcome and policy version.

:func:`allocate` runs it all; :func:`solve` is the solver alone on an edge table.
"""

from gigshift.allocate._explain import Explanation, transparency_statement
from gigshift.allocate._pipeline import LOG_COLUMNS, AllocationResult, allocate, explain
from gigshift.allocate._policy import COMPONENTS, Policy, default_policy
from gigshift.allocate._solve import FairnessReport, InfeasibleError, Solution, solve, solve_table

__all__ = [
    "COMPONENTS",
    "LOG_COLUMNS",
    "AllocationResult",
    "Explanation",
    "FairnessReport",
    "InfeasibleError",
    "Policy",
    "Solution",
    "allocate",
    "default_policy",
    "explain",
    "solve",
    "solve_table",
    "transparency_statement",
]
