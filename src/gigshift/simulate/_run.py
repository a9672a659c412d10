"""Running scenarios: one run, replicates, serial or on a Dask cluster, with identical results."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from gigshift._errors import GigshiftError
from gigshift._tables import check_positive_int
from gigshift.simulate._model import SimulationResult, simulate_one
from gigshift.simulate._scenario import Scenario, load_scenario


def run(
    scenario: Scenario | str,
    *,
    workers: int = 10_000,
    weeks: int | None = None,
    seed: int | None = None,
    replicates: int = 1,
    cluster: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Simulate a scenario: ``replicates`` independent runs, stacked with a ``replicate`` column.

    Parameters
    ----------
    scenario : Scenario or str
        A shipped scenario name (``baseline``, ``genai-2022``, ...), a YAML path, or a Scenario.
    workers : int, default=10_000
        Active workers at the start (a reserve for entry is drawn on top).
    weeks : int, optional
        Weeks to simulate; default the scenario's ``weeks``.
    seed : int, optional
        Root seed. Replicate i uses child i of ``numpy.random.SeedSequence(seed)``, so a replicate's
        result does not depend on how many there are or where it ran.
    replicates : int, default=1
    cluster : str, optional
        ``"local"`` for a Dask ``LocalCluster``, or a scheduler address; default serial.
    on_progress : callable, optional
        ``on_progress(done, total)`` in weeks (serial runs) or replicates (cluster runs).
    """
    scenario = load_scenario(scenario) if isinstance(scenario, str) else scenario
    workers = check_positive_int("workers", workers, caller="simulate")
    replicates = check_positive_int("replicates", replicates, caller="simulate")
    if weeks is not None:
        weeks = check_positive_int("weeks", weeks, caller="simulate")
    root = np.random.SeedSequence(seed)
    children = root.spawn(replicates)
    if cluster is None:
        results = []
        for i, child in enumerate(children):

            def progress(done: int, total: int, i: int = i) -> None:
                if on_progress is not None:
                    on_progress(i * total + done, replicates * total)

            results.append(simulate_one(scenario, workers=workers, weeks=weeks, seed=child, on_progress=progress))
    else:
        results = _on_dask(scenario, workers, weeks, children, cluster, on_progress)
    if len(results) == 1:
        return _with_replicate(results[0], 0)
    return _stack(results)


def sweep(
    scenario: Scenario | str,
    values: dict[str, list[object]],
    *,
    workers: int = 10_000,
    weeks: int | None = None,
    seed: int | None = None,
    replicates: int = 1,
    cluster: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Run every combination of scenario values (a grid), each with ``replicates`` runs.

    ``values`` maps dotted scenario keys to the values to try, e.g.
    ``{"ai.substitution": [0.2, 0.4], "policies.pay_floor_usd_per_hour": [None, 12.0]}``. Run j of
    the grid uses child j of the root seed (and its replicates that child's children), so a point of
    the grid gives the same tables alone, in a larger grid, serially or on Dask. The tables gain a
    ``variant`` column (the grid point's index) and one column per swept key.
    """
    import itertools

    scenario = load_scenario(scenario) if isinstance(scenario, str) else scenario
    if not values:
        raise GigshiftError("sweep: give at least one key to vary")
    keys = list(values)
    grid = list(itertools.product(*(values[k] for k in keys)))
    variants = [scenario.with_values(dict(zip(keys, point, strict=True))) for point in grid]
    root = np.random.SeedSequence(seed)
    jobs = [
        (v, child)
        for v, variant_seed in zip(variants, root.spawn(len(variants)), strict=True)
        for child in variant_seed.spawn(replicates)
    ]
    workers = check_positive_int("workers", workers, caller="sweep")
    if cluster is None:
        results = []
        for i, (variant, child) in enumerate(jobs):
            results.append(simulate_one(variant, workers=workers, weeks=weeks, seed=child))
            if on_progress is not None:
                on_progress(i + 1, len(jobs))
    else:
        results = _on_dask_jobs(jobs, workers, weeks, cluster, on_progress)
    parts = []
    for j, result in enumerate(results):
        point = grid[j // replicates]
        extra = [pl.lit(j // replicates, dtype=pl.Int32).alias("variant")]
        extra += [pl.lit(str(v)).alias(k) for k, v in zip(keys, point, strict=True)]
        r = _with_replicate(result, j % replicates)
        parts.append(
            SimulationResult(
                panel=r.panel.with_columns(extra),
                categories=r.categories.with_columns(extra),
                decision_log=r.decision_log.with_columns(extra) if r.decision_log.width else r.decision_log,
                scenario=scenario,
                provenance=r.provenance,
                timings=r.timings,
                n_workers=r.n_workers,
                weeks=r.weeks,
            )
        )
    logs = [p.decision_log for p in parts if p.decision_log.width]
    return SimulationResult(
        panel=pl.concat([p.panel for p in parts]),
        categories=pl.concat([p.categories for p in parts]),
        decision_log=pl.concat(logs, how="vertical_relaxed") if logs else pl.DataFrame(),
        scenario=scenario,
        provenance=parts[0].provenance,
        timings={k: sum(p.timings[k] for p in parts) for k in parts[0].timings},
        n_workers=workers,
        weeks=parts[0].weeks,
    )


def _on_dask_jobs(jobs, workers, weeks, cluster, on_progress):  # type: ignore[no-untyped-def]
    scenarios = [j[0] for j in jobs]
    seeds = [j[1] for j in jobs]
    return _on_dask(scenarios, workers, weeks, seeds, cluster, on_progress)


def _on_dask(scenario, workers, weeks, children, cluster, on_progress):  # type: ignore[no-untyped-def]
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise GigshiftError("simulate: cluster runs need dask[distributed]") from None
    if cluster == "local":
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(local)
    else:
        local = None
        try:
            client = Client(cluster, timeout=10)
        except OSError as exc:
            raise GigshiftError(f"simulate: cannot reach the Dask scheduler at {cluster!r}: {exc}") from None
    try:
        # positional: ``workers=`` is a keyword of Client.submit itself (where a task may run)
        scenarios = scenario if isinstance(scenario, list) else [scenario] * len(children)
        futures = [
            client.submit(_one, sc, workers, weeks, child, pure=False)
            for sc, child in zip(scenarios, children, strict=True)
        ]
        for done, _ in enumerate(as_completed(futures), start=1):
            if on_progress is not None:
                on_progress(done, len(futures))
        return client.gather(futures)
    finally:
        client.close()
        if local is not None:
            local.close()


def _one(scenario: Scenario, workers: int, weeks: int | None, seed: np.random.SeedSequence) -> SimulationResult:
    return simulate_one(scenario, workers=workers, weeks=weeks, seed=seed)


def _with_replicate(result: SimulationResult, i: int) -> SimulationResult:
    add = pl.lit(i, dtype=pl.Int32).alias("replicate")
    return SimulationResult(
        panel=result.panel.with_columns(add),
        categories=result.categories.with_columns(add),
        decision_log=result.decision_log.with_columns(add) if result.decision_log.width else result.decision_log,
        scenario=result.scenario,
        provenance=result.provenance,
        timings=result.timings,
        n_workers=result.n_workers,
        weeks=result.weeks,
    )


def _stack(results: list[SimulationResult]) -> SimulationResult:
    parts = [_with_replicate(r, i) for i, r in enumerate(results)]
    timings = {k: sum(r.timings[k] for r in results) for k in results[0].timings}
    logs = [p.decision_log for p in parts if p.decision_log.width]
    return SimulationResult(
        panel=pl.concat([p.panel for p in parts]),
        categories=pl.concat([p.categories for p in parts]),
        decision_log=pl.concat(logs, how="vertical_relaxed") if logs else pl.DataFrame(),
        scenario=results[0].scenario,
        provenance=results[0].provenance,
        timings=timings,
        n_workers=results[0].n_workers,
        weeks=results[0].weeks,
    )
