"""Future-of-work simulator: a gig marketplace week by week as clients and workers adopt AI.

State is held in arrays (no per-agent Python loops); each week clients post tasks (anchored on the
Online Labour Index), AI-adopting clients skip tasks AI can do alone, adopting workers work faster,
workers bid from a reservation wage, and the platform allocates with :mod:`gigshift.allocate`.
Scenarios are YAML files (:func:`load_scenario`); :func:`run` returns the worker x week panel,
category x week aggregates and a sampled decision log.
"""

from gigshift.simulate._model import SimulationResult
from gigshift.simulate._run import run, sweep
from gigshift.simulate._scenario import SCENARIO_NAMES, Scenario, load_scenario, scenario_from_yaml

__all__ = ["SCENARIO_NAMES", "Scenario", "SimulationResult", "load_scenario", "run", "scenario_from_yaml", "sweep"]
