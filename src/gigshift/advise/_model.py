"""The advice model: occupation-by-occupation similarity and the per-occupation facts paths are ranked on.

Similarity
----------
Eight views of each of the 923 O*NET occupations that carry exposure scores are compared by cosine:

- ``tasks``: TF-IDF over Snowball-stemmed words of all its O*NET 29.3 task statements;
- ``titles``: the same over its O*NET title, alternate titles and short titles;
- ``description``: the same over its O*NET description;
- ``activities``: TF-IDF over the detailed work activities (DWAs) its tasks link to;
- ``activity_groups``: the same over the intermediate work activities (IWAs) above them;
- ``technology``: TF-IDF over the technology skills (software and tools) O*NET lists for it;
- ``tool_classes``: the same over the UNSPSC commodity classes of those tools;
- ``skills``: cosine of the 35 O*NET skill importances, centred on the mean occupation.

Each view's similarities are standardised within the origin's row (mean 0, sd 1 over the other
occupations), so a view with many near-ties counts no more than one with sharp contrasts, and blended
with ``VIEW_WEIGHTS``. A second-order term then adds how alike two occupations' whole similarity
profiles are (occupations close to the same occupations are close), standardised the same way.

O*NET's expert-reviewed *Related Occupations* are deliberately not an input: they are the independent
check (``benchmarks/advise.py``). The view weights and the second-order weight were chosen on a
random half of the occupations (seed 0) and are reported on both halves there.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy import sparse

import gigshift

#: Weights of the standardised views in the blend (tuned on half of the occupations; see the module docstring).
VIEW_WEIGHTS: dict[str, float] = {
    "tasks": 2.0,
    "titles": 1.5,
    "description": 0.5,
    "activities": 0.25,
    "activity_groups": 0.75,
    "technology": 0.5,
    "tool_classes": 0.1,
    "skills": 0.75,
}
#: Weight of the second-order term (similarity of similarity profiles) beside the blend.
SECOND_ORDER_WEIGHT = 1.0

_WORD = re.compile(r"[a-z][a-z0-9+#]*(?:\.[a-z0-9+#]+)*")


class _Tokenizer:
    """Lower-cased words without English stop words, reduced to Snowball stems (picklable)."""

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        self._stop = frozenset(ENGLISH_STOP_WORDS)

    def __call__(self, text: str) -> list[str]:
        return _stemmer().stemWords([w for w in _WORD.findall(text.lower()) if w not in self._stop])


@functools.cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def _tfidf_text(docs: list[str]) -> sparse.csr_matrix:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        tokenizer=_Tokenizer(),
        token_pattern=None,
        lowercase=False,
        sublinear_tf=True,
        min_df=2,
        dtype=np.float32,
    )
    return vectorizer.fit_transform(docs).tocsr()


def _tfidf_items(rows: np.ndarray, items: np.ndarray, n_rows: int) -> sparse.csr_matrix:
    """Binary occupation x item incidence, idf-weighted and L2-normalised (as TF-IDF with tf in {0, 1})."""
    from sklearn.feature_extraction.text import TfidfTransformer

    codes, inverse = np.unique(items, return_inverse=True)
    incidence = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, inverse)), shape=(n_rows, len(codes)))
    incidence.data[:] = 1.0  # duplicates were summed; presence is what counts
    return TfidfTransformer().fit_transform(incidence).tocsr()


def _cosine(matrix: sparse.csr_matrix | np.ndarray) -> np.ndarray:
    from sklearn.preprocessing import normalize

    unit = normalize(matrix)
    product = unit @ unit.T
    return np.asarray(product.toarray() if sparse.issparse(product) else product, dtype=np.float64)


def standardise_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row minus its mean, over its sd, leaving out the diagonal (which is set to 0)."""
    n = matrix.shape[0]
    off = ~np.eye(n, dtype=bool)
    values = matrix[off].reshape(n, n - 1)
    mean = values.mean(axis=1, keepdims=True)
    sd = values.std(axis=1, keepdims=True)
    out = (matrix - mean) / np.where(sd > 0, sd, 1.0)
    np.fill_diagonal(out, 0.0)
    return out


@dataclass(frozen=True, slots=True)
class Views:
    """Per-view cosine similarity matrices over ``soc_codes`` (the features, before blending)."""

    soc_codes: list[str]
    cosines: dict[str, np.ndarray]
    has_skills: np.ndarray


def build_views(occupations: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> Views:
    """Cosine similarity of every pair of ``occupations`` under each view (see the module docstring).

    ``occupations`` needs ``soc_code``, ``title`` and ``description``; ``tables`` the shipped ``tasks``,
    ``alternate_titles``, ``task_activities``, ``technology_skills`` and ``skills`` tables.
    """
    occ = occupations.select("soc_code", "title", "description").sort("soc_code").with_row_index("i")
    occ = occ.with_columns(pl.col("i").cast(pl.Int64))
    n = occ.height
    idx = occ.select("soc_code", "i")

    def docs(frame: pl.DataFrame, column: str) -> list[str]:
        joined = frame.join(idx, on="soc_code").group_by("i").agg(pl.col(column).str.join(". "))
        return idx.join(joined, on="i", how="left").sort("i")[column].fill_null("").to_list()

    tasks = tables["tasks"].filter(pl.col("onet_status") == "current").sort("soc_code", "task_id")
    alt = tables["alternate_titles"]
    titles = pl.concat(
        [
            occ.select("soc_code", "title"),
            alt.select("soc_code", title=pl.col("alternate_title")),
            alt.drop_nulls("short_title").select("soc_code", title=pl.col("short_title")),
        ]
    )
    act = tables["task_activities"].join(idx, on="soc_code")
    tech = tables["technology_skills"].join(idx, on="soc_code")
    cosines = {
        "tasks": _cosine(_tfidf_text(docs(tasks, "task"))),
        "titles": _cosine(_tfidf_text(docs(titles, "title"))),
        "description": _cosine(_tfidf_text(occ["description"].to_list())),
        "activities": _cosine(_tfidf_items(act["i"].to_numpy(), act["dwa_id"].to_numpy(), n)),
        "activity_groups": _cosine(_tfidf_items(act["i"].to_numpy(), act["iwa_id"].to_numpy(), n)),
        "technology": _cosine(_tfidf_items(tech["i"].to_numpy(), tech["technology"].to_numpy(), n)),
        "tool_classes": _cosine(_tfidf_items(tech["i"].to_numpy(), tech["commodity_code"].to_numpy(), n)),
    }
    skills = tables["skills"].join(idx, on="soc_code")
    elements = np.unique(skills["element_id"].to_numpy(), return_inverse=True)
    importance = np.zeros((n, len(elements[0])))
    importance[skills["i"].to_numpy(), elements[1]] = skills["importance"].fill_null(0).to_numpy()
    has_skills = np.zeros(n, dtype=bool)
    has_skills[skills["i"].to_numpy()] = True
    centred = np.where(has_skills[:, None], importance - importance[has_skills].mean(axis=0), 0.0)
    cosines["skills"] = _cosine(centred)
    return Views(soc_codes=occ["soc_code"].to_list(), cosines=cosines, has_skills=has_skills)


def blend(
    views: Views,
    *,
    weights: dict[str, float] | None = None,
    second_order: float = SECOND_ORDER_WEIGHT,
) -> np.ndarray:
    """The blended similarity matrix (row i: how close each occupation is to occupation i).

    Rows are on a standardised scale (mean 0, sd about 1 over the other occupations); higher is closer.
    An occupation without O*NET skill ratings gets no skill evidence (its skill view is neutral, 0).
    """
    weights = VIEW_WEIGHTS if weights is None else weights
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("view weights must sum to a positive number")
    n = len(views.soc_codes)
    combined = np.zeros((n, n))
    for name, weight in weights.items():
        if not weight:
            continue
        z = standardise_rows(views.cosines[name])
        if name == "skills":
            missing = ~views.has_skills
            z[missing, :] = 0.0
            z[:, missing] = 0.0
        combined += (weight / total) * z
    combined = standardise_rows(combined)
    if second_order:
        # profiles: each row with itself counted as its best match, unit length
        profile = combined.copy()
        np.fill_diagonal(profile, combined.max(axis=1))
        profile /= np.linalg.norm(profile, axis=1, keepdims=True)
        combined = combined + second_order * standardise_rows(profile @ profile.T)
    return combined


# -- per-occupation facts ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdviceModel:
    """Everything ``paths``, ``similar`` and ``skill_levers`` need, as arrays over ``occupations`` rows.

    ``occupations`` (row i = index i) holds the 923 scored occupations with exposure, wage, job zone
    and outlook columns; ``similarity`` is the blended matrix; ``technology`` and ``activities`` are
    sparse occupation x item incidences with their item tables.
    """

    occupations: pl.DataFrame
    similarity: np.ndarray
    technology: sparse.csr_matrix
    technology_items: pl.DataFrame  # item (name), is_hot, is_in_demand, n_occupations
    activities: sparse.csr_matrix  # values: how many of the occupation's tasks link to the DWA
    activity_items: pl.DataFrame  # item (dwa_id), name (DWA title), n_occupations

    @property
    def soc_codes(self) -> list[str]:
        return self.occupations["soc_code"].to_list()


def _outlook_columns(
    occ: pl.DataFrame, oli: pl.DataFrame, members: pl.DataFrame, class_of: pl.DataFrame
) -> pl.DataFrame:
    """Outlook per occupation: BLS change and openings, their percentile ranks, and the OLI class trend."""
    months = oli["month"].unique().sort()
    last, prev = months.tail(12), months.tail(24).head(12)
    trend = (
        oli.group_by("occupation_class")
        .agg(
            recent=pl.col("level").filter(pl.col("month").is_in(last.implode())).mean(),
            before=pl.col("level").filter(pl.col("month").is_in(prev.implode())).mean(),
        )
        .select("occupation_class", oli_trend_pct=100 * (pl.col("recent") / pl.col("before") - 1))
    )
    # each occupation's online class: the class of the gig category giving it the most weight
    online = (
        members.unique(["slug", "soc_code"])
        .join(class_of, on="slug")
        .filter(pl.col("occupation_class") != "on-location")
        .sort(["soc_code", "occupation_weight", "slug"], descending=[False, True, False])
        .unique("soc_code", keep="first")
        .select("soc_code", "occupation_class")
        .join(trend, on="occupation_class", how="left")
    )
    rate = pl.col("ep_openings_2024_34_annual_thousands") / pl.col("ep_employment_2024_thousands")
    return (
        occ.join(online, on="soc_code", how="left")
        .with_columns(openings_rate=pl.when(pl.col("ep_employment_2024_thousands") > 0).then(rate))
        .with_columns(
            change_rank=pl.col("ep_employment_change_2024_34_pct").rank("average")
            / pl.col("ep_employment_change_2024_34_pct").count(),
            openings_rank=pl.col("openings_rate").rank("average") / pl.col("openings_rate").count(),
        )
    )


def build_model() -> AdviceModel:
    """Build the model from the shipped atlas tables (about 2 s; cached in memory and on disk)."""
    from gigshift.taxonomy import categories, occupations, online_labour_index, technology_skills
    from gigshift.taxonomy import skills as skill_table
    from gigshift.taxonomy import tasks as task_table
    from gigshift.taxonomy._atlas import _definitions
    from gigshift.taxonomy._store import load_table

    occ = occupations().filter(pl.col("has_exposure_scores")).sort("soc_code")
    tables = {
        "tasks": task_table(),
        "alternate_titles": load_table("alternate_titles"),
        "task_activities": load_table("task_activities"),
        "technology_skills": technology_skills(),
        "skills": skill_table(),
    }
    views = build_views(occ, tables)
    similarity = blend(views).astype(np.float32)

    _, members = _definitions()
    class_of = categories().select("slug", occupation_class=pl.col("class").cast(pl.String))
    occ = (
        _outlook_columns(occ, online_labour_index(), members, class_of)
        .with_row_index("i")
        .with_columns(pl.col("i").cast(pl.Int64))
    )
    idx = occ.select("soc_code", "i")
    n = occ.height

    tech = tables["technology_skills"].join(idx, on="soc_code")
    tech_items = (
        tech.group_by("technology")
        .agg(
            is_hot=pl.col("is_hot").any(),
            is_in_demand=pl.col("is_in_demand").any(),
            n_occupations=pl.col("i").n_unique(),
        )
        .sort("technology")
        .with_row_index("k")
        .with_columns(pl.col("k").cast(pl.Int64))
    )
    pairs = tech.select("i", "technology").unique().join(tech_items.select("technology", "k"), on="technology")
    technology = sparse.csr_matrix(
        (np.ones(pairs.height, dtype=np.float32), (pairs["i"].to_numpy(), pairs["k"].to_numpy())),
        shape=(n, tech_items.height),
    )
    act = (
        tables["task_activities"]
        .join(idx, on="soc_code")
        .group_by("i", "dwa_id")
        .agg(n_tasks=pl.col("task_id").n_unique(), name=pl.col("dwa_title").first())
    )
    act_items = (
        act.group_by("dwa_id")
        .agg(name=pl.col("name").first(), n_occupations=pl.len())
        .sort("dwa_id")
        .with_row_index("k")
        .with_columns(pl.col("k").cast(pl.Int64))
    )
    act = act.join(act_items.select("dwa_id", "k"), on="dwa_id")
    activities = sparse.csr_matrix(
        (act["n_tasks"].to_numpy().astype(np.float32), (act["i"].to_numpy(), act["k"].to_numpy())),
        shape=(n, act_items.height),
    )
    return AdviceModel(
        occupations=occ,
        similarity=similarity,
        technology=technology,
        technology_items=tech_items.rename({"technology": "item"}).with_columns(name=pl.col("item")),
        activities=activities,
        activity_items=act_items.rename({"dwa_id": "item"}),
    )


def _cache_path() -> Path:
    from gigshift.taxonomy._store import data_dir

    base = os.environ.get("GIGSHIFT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gigshift"
    )
    digest = hashlib.sha256(gigshift.__version__.encode())
    for path in (data_dir() / "manifest.json", data_dir() / "categories.yaml", Path(__file__)):
        digest.update(path.read_bytes())
    return Path(base) / f"advise-{digest.hexdigest()[:20]}.pickle"


@functools.cache
def default_model() -> AdviceModel:
    """The process-wide model, loaded from the on-disk cache when one matches the shipped data."""
    path = _cache_path()
    if path.is_file():
        try:
            with path.open("rb") as handle:
                model = pickle.load(handle)  # our own cache file, written below
            if isinstance(model, AdviceModel):
                return model
        except Exception:  # a stale or truncated cache is rebuilt, never trusted
            pass
    model = build_model()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump(model, handle, protocol=5)
        os.replace(tmp, path)
    except OSError:  # a read-only cache directory only costs speed
        pass
    return model
