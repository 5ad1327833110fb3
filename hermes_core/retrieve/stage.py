"""What ``notebooks/03_retrieve.ipynb`` runs, in the order it runs it.

1. :func:`load_inputs`: the ingest stage's world and the encode stage's index, its query side and
   the items' embeddings (or why there are none: MovieLens runs only the real-data part);
2. :func:`build_requests`: the world protocol's validation and test requests and queries
   (:mod:`hermes_core.retrieve.world_requests`), and :func:`constraint_quality` of the extractor on
   every world query;
3. :func:`encode_queries`: the queries' texts through the encode stage's text encoder;
4. :func:`train_sources`: the knowledge graph, SASRec and the baselines on the clicks before the
   validation split, and :func:`make_sources`;
5. :func:`retrieve_split` (validation, then test) through the orchestrator, :func:`fit_weights` on
   validation and :func:`blend_split` on test; :func:`run_fault_demo`;
6. :func:`run_paper_protocols`: SASRec under the paper's protocol on the world's clicks, MovieLens
   100K and ``retrieve.sequences_path``; :func:`movielens_graph_check`;
7. :func:`save_candidates`: the blend's candidates of the validation and test splits for the rank stage.

The maths lives in the modules named above; this one wires the ``retrieve`` parameters into them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hermes_core.data.readers.movielens_kg import load_movielens_kg
from hermes_core.data.readers.sequences import ItemSequences, read_movielens_100k, read_movielens_1m, read_sasrec_sequences
from hermes_core.index.faiss_index import load_index
from hermes_core.index.query_side import QuerySide, prepare_features
from hermes_core.retrieve.blending import Blend, SourceResult, WeightFit, blend, fit_blend_weights
from hermes_core.retrieve.knowledge_graph import KnowledgeGraph, KnowledgeGraphSource
from hermes_core.retrieve.orchestrator import BatchReport, Orchestrator
from hermes_core.retrieve.paper_protocol import PaperProtocolResult, run_paper_protocol
from hermes_core.retrieve.params import RetrieveParams
from hermes_core.retrieve.query_understanding import (
    ConstraintExtractor,
    Constraints,
    ConstraintScores,
    ItemAttributes,
    constraint_precision_recall,
    normalise,
)
from hermes_core.retrieve.sasrec import TrainedSasrec, train_sasrec
from hermes_core.retrieve.sequence_baselines import PopularityScorer, TransitionScorer
from hermes_core.retrieve.sources import (
    AnnSource,
    ConstraintFilter,
    GraphSource,
    SequenceSource,
    WorldRequest,
    world_entities,
)
from hermes_core.retrieve.world_requests import ClickLog, RequestSet, split_bounds, world_request_sets
from hermes_core.workspace import MissingDataError, Workspace, shared_dataset_dir
from hermes_core.world.world import World, creator_id, index_of

__all__ = [
    "load_inputs",
    "build_requests",
    "constraint_quality",
    "encode_queries",
    "train_sources",
    "make_sources",
    "retrieve_split",
    "fit_weights",
    "blend_split",
    "run_fault_demo",
    "run_paper_protocols",
    "movielens_graph_check",
    "save_candidates",
    "save_empty_candidates",
]

SOURCES: tuple[str, ...] = ("ann", "kg", "sasrec")
BASELINES: tuple[str, ...] = ("popularity", "transition")


# ----------------------------------------------------------------------------- 1 · inputs
@dataclass(frozen=True, eq=False)
class RetrieveInputs:
    """The world and what the encode stage left: prepared features, indexed vectors, the index and
    its query side; ``text_centre`` is the mean raw text embedding that prepares query texts."""

    world: World
    text: np.ndarray
    image: np.ndarray
    text_mask: np.ndarray
    image_mask: np.ndarray
    text_centre: np.ndarray
    feature_centering: bool
    item_vectors: np.ndarray
    index_items: np.ndarray
    index: object
    query_side: QuerySide
    manifest: dict


def load_inputs(workspace: Workspace) -> tuple[RetrieveInputs | None, str]:
    """The world and the encode stage's outputs, with a sentence on them; ``None`` and the reason
    when the ingest stage wrote no world (MovieLens: only the real-data experiments run)."""
    try:
        world = World.load(workspace.world)
    except FileNotFoundError:
        return None, (f"No synthetic world at {workspace.world}: the world protocol is skipped (data.source is not "
                      "'world'); the real-data experiments still run.")  # fmt: skip
    folder = workspace.stage_data("encode")
    manifest = json.loads((folder / "index" / "manifest.json").read_text(encoding="utf-8"))
    table = pq.read_table(folder / "embeddings.parquet").to_pandas()
    rows = index_of_items(table["item_id"])
    text_raw, image_raw = by_item(table, "text_embedding", rows, world.n_items), by_item(
        table, "image_embedding", rows, world.n_items)
    text_mask, image_mask = by_item(table, "has_text", rows, world.n_items), by_item(
        table, "has_image", rows, world.n_items)
    centre = bool(manifest.get("feature_centering", True))
    vector_column = next(name for name in table.columns if name.endswith("_item_vector"))
    index_rows = pq.read_table(folder / "index" / "rows.parquet").to_pandas()
    inputs = RetrieveInputs(
        world=world, text=prepare_features(text_raw, text_mask, centre), image=prepare_features(image_raw, image_mask, centre),
        text_mask=text_mask, image_mask=image_mask,
        text_centre=text_raw[text_mask].astype(np.float64).mean(axis=0) if text_mask.any() else np.zeros(text_raw.shape[1]),
        feature_centering=centre, item_vectors=by_item(table, vector_column, rows, world.n_items),
        index_items=index_of_items(index_rows.sort_values("row")["item_id"]), index=load_index(folder / "index" / "index.faiss"),
        query_side=QuerySide.load(folder / "index" / "query_side.npz"), manifest=manifest,
    )  # fmt: skip
    p = world.params
    return inputs, (f"World: {p.n_users:,} users, {p.n_items:,} items, {p.n_requests:,} logged requests over "
                    f"{p.log_days} days, {p.n_queries:,} text queries. Index: {manifest['index_type']} over "
                    f"{manifest['n_rows']:,} {manifest['tower']} item vectors of width {manifest['dim']}.")  # fmt: skip


def by_item(table: pd.DataFrame, column: str, rows: np.ndarray, n_items: int) -> np.ndarray:
    """A column of ``embeddings.parquet`` as an array indexed by world item (``rows`` gives each
    table row's item): vectors as float32 (n_items, d), flags as bool (n_items,); items absent
    from the table get zeros / False."""
    values = table[column].to_numpy()
    if values.dtype == bool:
        out = np.zeros(n_items, dtype=bool)
        out[rows] = values
        return out
    vectors = np.stack(values).astype(np.float32)
    out = np.zeros((n_items, vectors.shape[1]), dtype=np.float32)
    out[rows] = vectors
    return out


def index_of_items(item_ids: pd.Series) -> np.ndarray:
    """World item indices of ``w:item:NNNNNN`` ids."""
    return np.array([index_of(str(item)) for item in item_ids], dtype=np.int64)


# ----------------------------------------------------------------------------- 2 · requests
def build_requests(inputs: RetrieveInputs, params: RetrieveParams) -> tuple[dict[str, RequestSet], ConstraintExtractor]:
    """Validation and test request sets of the world protocol, and the constraint extractor."""
    extractor = ConstraintExtractor.from_world(inputs.world)
    return world_request_sets(inputs.world, params.split, extractor, params.seed), extractor


def constraint_quality(world: World, extractor: ConstraintExtractor) -> tuple[ConstraintScores, pd.DataFrame]:
    """Precision and recall of the extracted constraints on every world query against the truth the
    world generated them from, overall and per query kind (a visual query has no true constraint,
    so only its false ones count)."""
    queries = world.queries
    predicted = [extractor.extract(text) for text in queries.text]
    truth = [Constraints.from_dict(json.loads(spec)) for spec in queries.constraints]
    overall = constraint_precision_recall(predicted, truth)
    rows = []
    for kind in dict.fromkeys(queries.kind):
        chosen = [i for i, k in enumerate(queries.kind) if k == kind]
        scores = constraint_precision_recall([predicted[i] for i in chosen], [truth[i] for i in chosen])
        rows.append({"kind": kind, "queries": len(chosen), "precision": scores.precision, "recall": scores.recall,
                     "predicted": scores.n_predicted, "true": scores.n_true, "correct": scores.n_correct})  # fmt: skip
    return overall, pd.DataFrame(rows).set_index("kind")


# ----------------------------------------------------------------------------- 3 · query texts
def encode_queries(inputs: RetrieveInputs, requests: dict[str, RequestSet], encoder: object) -> dict[str, list]:
    """Per split, the prepared text embedding of each row's query (``None`` for logged requests):
    ``encoder.encode`` (the encode stage's text encoder), centred on the items' mean raw text
    embedding when the encode stage centres features, then L2-normalised, as the index's queries."""
    out: dict[str, list] = {}
    manifest_model = str(inputs.manifest.get("text_model", ""))
    encoder_model = str(getattr(encoder, "model_id", ""))
    if manifest_model and encoder_model and manifest_model.split("@")[0] != encoder_model.split("@")[0]:
        raise ValueError(f"the text encoder {encoder_model!r} is not the one the index was built with "
                         f"({manifest_model!r}): set encode.text to the index's model")
    for split, request_set in requests.items():
        texts = request_set.frame["text"].tolist()
        embeddings, present = encoder.encode([t if t else None for t in texts])
        raw = embeddings.astype(np.float64)
        if inputs.feature_centering:
            raw = raw - inputs.text_centre
        prepared = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
        out[split] = [prepared[i] if present[i] else None for i in range(len(texts))]
    return out


# ----------------------------------------------------------------------------- 4 · sources
@dataclass(frozen=True, eq=False)
class TrainedSources:
    """What the sources learned from the clicks before the validation split."""

    graph: KnowledgeGraphSource
    sasrec: TrainedSasrec
    popularity: PopularityScorer
    transition: TransitionScorer
    n_training_users: int
    n_training_clicks: int
    creator_entity: dict[str, str]


def training_sequences(world: World, params: RetrieveParams) -> list[np.ndarray]:
    """Each user's clicks before the validation split, oldest first, as item ids ``index + 1``."""
    start = split_bounds(world, params.split)["validation"][0]
    return [items + 1 for items in ClickLog.of(world.logs).sequences_before(start).values() if len(items)]


def train_sources(inputs: RetrieveInputs, params: RetrieveParams, device: str) -> TrainedSources:
    """The knowledge graph (path weights of ``retrieve.knowledge_graph``), SASRec and the baselines
    fitted on :func:`training_sequences`."""
    world = inputs.world
    kg = params.knowledge_graph
    graph = KnowledgeGraphSource(KnowledgeGraph.from_world(world), kg.world_meta_paths, kg.decay, kg.degree_exponent)
    sequences = training_sequences(world, params)
    n = world.n_items
    sasrec = train_sasrec(sequences, n, params.sasrec.config(params.seed, device))
    creator_entity = {normalise(str(name)): creator_id(i) for i, name in enumerate(world.creators.names)}
    return TrainedSources(graph=graph, sasrec=sasrec, popularity=PopularityScorer.fit(sequences, n),
                          transition=TransitionScorer.fit(sequences, n, params.sasrec.transition_smoothing),
                          n_training_users=len(sequences), n_training_clicks=int(sum(len(s) for s in sequences)),
                          creator_entity=creator_entity)  # fmt: skip


def _shifted(score: object) -> object:
    """A scorer of item ids ``index + 1`` as a scorer of world item indices (column j is item j)."""
    def scores(histories: list[np.ndarray]) -> np.ndarray:
        return score([np.asarray(h, dtype=np.int64) + 1 for h in histories])
    return scores


def make_sources(inputs: RetrieveInputs, trained: TrainedSources, params: RetrieveParams) -> tuple[dict, dict]:
    """The orchestrated sources (``ann``, ``kg``, ``sasrec``) and the baselines (``popularity``,
    ``transition``), each returning ``retrieve.candidates.per_source`` items."""
    k = params.candidates.per_source
    constraint_filter = ConstraintFilter(ItemAttributes.from_world(inputs.world), params.ann.constraint_filter)
    entity_names = set(trained.graph.graph.entity_index)
    def entities(constraints: Constraints) -> dict[str, float]:
        named = world_entities(constraints, trained.creator_entity)
        return {name: weight for name, weight in named.items() if name in entity_names}
    sources = {
        "ann": AnnSource(inputs.index, inputs.index_items, inputs.item_vectors, inputs.query_side, inputs.text,
                         inputs.image, inputs.text_mask, inputs.image_mask, k, constraint_filter),
        "kg": GraphSource(trained.graph, params.knowledge_graph.seed_decay, k, constraint_filter, entities),
        "sasrec": SequenceSource(_shifted(trained.sasrec.score), k, constraint_filter),
    }  # fmt: skip
    baselines = {"popularity": SequenceSource(_shifted(trained.popularity.score), k, constraint_filter),
                 "transition": SequenceSource(_shifted(trained.transition.score), k, constraint_filter)}  # fmt: skip
    return sources, baselines


def world_requests(request_set: RequestSet, vectors: list) -> list[WorldRequest]:
    """The rows of a request set as :class:`WorldRequest`."""
    frame = request_set.frame
    return [WorldRequest(user=int(frame["user"].iat[i]), history=request_set.histories[i],
                         query_class=str(frame["query_class"].iat[i]), query_text=frame["text"].iat[i] or None,
                         query_vector=vectors[i], constraints=request_set.constraints[i])
            for i in range(len(frame))]  # fmt: skip


# ----------------------------------------------------------------------------- 5 · orchestration
def make_orchestrator(sources: dict, params: RetrieveParams) -> Orchestrator:
    """The orchestrator with ``retrieve.blend``'s budget and breaker settings."""
    b = params.blend
    return Orchestrator(sources, b.budget_seconds, failure_threshold=b.failure_threshold,
                        cooldown_requests=b.cooldown_requests)  # fmt: skip


def retrieve_split(sources: dict, requests: list[WorldRequest], params: RetrieveParams) -> BatchReport:
    """Every request fanned out to the sources through a fresh orchestrator (breakers closed)."""
    with make_orchestrator(sources, params) as orchestrator:
        return orchestrator.run_batch(requests)


def baseline_results(baselines: dict, requests: list[WorldRequest]) -> dict[str, list[SourceResult]]:
    """The baselines' lists for every request (not orchestrated: they are references, not sources)."""
    return {name: [source(request) for request in requests] for name, source in baselines.items()}


def source_lists(report: BatchReport) -> dict[str, list[SourceResult | None]]:
    """Each orchestrated source's list per request (``None`` where it failed or was skipped)."""
    return {name: [item.results.get(name) for item in report.inputs] for name in SOURCES}


def fit_weights(report: BatchReport, request_set: RequestSet, params: RetrieveParams) -> WeightFit:
    """Blend weights per query class maximising validation recall@``retrieve.blend.fit_k``."""
    b = params.blend
    return fit_blend_weights([item.results for item in report.inputs], request_set.relevant,
                             request_set.frame["query_class"].tolist(), SOURCES, resolution=b.grid_resolution,
                             k=b.fit_k, normalisation=b.normalisation, rrf_c=b.rrf_c)  # fmt: skip


def blend_split(report: BatchReport, fit: WeightFit, params: RetrieveParams) -> list[Blend]:
    """The test blend of every request with the fitted weights of its class."""
    b = params.blend
    return [blend(item.results, fit.chosen.for_class(item.query_class), params.candidates.top_n,
                  normalisation=b.normalisation, rrf_c=b.rrf_c) for item in report.inputs]  # fmt: skip


def blend_results(blends: list[Blend]) -> list[SourceResult]:
    return [SourceResult(b.items, b.scores) for b in blends]


class _FailingSource:
    """Raises on every call: a source that is down."""

    def __call__(self, request: object) -> SourceResult:
        raise ConnectionError("injected failure: the source is down")


@dataclass(eq=False)
class _SlowSource:
    """Answers after ``delay_s`` (beyond the budget): a source that times out."""

    source: object
    delay_s: float

    def __call__(self, request: object) -> SourceResult:
        import time

        time.sleep(self.delay_s)
        return self.source(request)


def run_fault_demo(sources: dict, requests: list[WorldRequest], params: RetrieveParams) -> BatchReport | None:
    """The first ``retrieve.blend.fault_demo_requests`` requests with the graph source down (it
    raises) and SASRec slowed past a short budget: the blend still answers from the others, each
    failure is counted, and each breaker opens after ``failure_threshold`` failures, skips
    ``cooldown_requests`` requests, then tries again. ``None`` when the demo is off."""
    n = params.blend.fault_demo_requests
    if n == 0:
        return None
    budget = 0.2
    faulty = {"ann": sources["ann"], "kg": _FailingSource(), "sasrec": _SlowSource(sources["sasrec"], 2 * budget)}
    b = params.blend
    with Orchestrator(faulty, {"ann": b.budget_seconds, "kg": b.budget_seconds, "sasrec": budget},
                      failure_threshold=b.failure_threshold, cooldown_requests=b.cooldown_requests) as orchestrator:
        return orchestrator.run_batch(requests[:n])


def outcome_table(report: BatchReport) -> pd.DataFrame:
    """Per request of a batch, each source's outcome (ok, error, timeout, skipped)."""
    return pd.DataFrame([{name: outcome.status for name, outcome in item.outcomes.items()}
                         for item in report.inputs]).rename_axis("request")  # fmt: skip


# ----------------------------------------------------------------------------- 6 · paper protocol
def movielens_root(params: RetrieveParams) -> Path | None:
    """MovieLens 100K's folder, ``None`` when ``retrieve.movielens.enabled`` is false; enabled and
    missing is an error naming the folder and the ways out."""
    if not params.movielens.enabled:
        return None
    root, origin = shared_dataset_dir("ml-100k", params.movielens.path, "retrieve.movielens.path")
    if not (root / "u.data").is_file():
        raise MissingDataError(f"MovieLens 100K not found: no u.data in {root} (resolved from {origin}); point "
                               "retrieve.movielens.path at the folder or set retrieve.movielens.enabled: false")
    return root


def run_paper_protocols(inputs: RetrieveInputs | None, params: RetrieveParams,
                        device: str) -> dict[str, PaperProtocolResult]:
    """SASRec under the paper's protocol on the world's click sequences (all logged clicks), on
    MovieLens 100K (``retrieve.movielens``) and on ``retrieve.sequences_path`` when set."""
    results: dict[str, PaperProtocolResult] = {}
    if inputs is not None:
        sequences = [items + 1 for items in ClickLog.of(inputs.world.logs).sequences_before(np.inf).values()]
        results["world"] = run_paper_protocol(sequences, inputs.world.n_items, params.sasrec, dataset="world clicks",
                                              seed=params.seed, device=device)  # fmt: skip
    root = movielens_root(params)
    if root is not None:
        data = read_movielens_100k(root, params.movielens.min_count)
        results["ml-100k"] = run_paper_protocol(list(data.sequences), data.n_items, params.sasrec,
                                                dataset="MovieLens 100K", seed=params.seed, device=device,
                                                epochs=params.movielens.sasrec_epochs)  # fmt: skip
    if params.sequences_path is not None:
        data = read_sequences_file(params.sequences_path)
        results["sequences_path"] = run_paper_protocol(list(data.sequences), data.n_items, params.sasrec,
                                                       dataset=data.source, seed=params.seed, device=device)  # fmt: skip
    return results


def read_sequences_file(path: str) -> ItemSequences:
    """``retrieve.sequences_path``: a MovieLens 1M folder (or its ``ratings.dat``), else a
    SASRec-format file."""
    from hermes_core.workspace import resolve_project_path

    resolved = resolve_project_path(path)
    if resolved.is_dir() or resolved.name == "ratings.dat":
        return read_movielens_1m(resolved)
    return read_sasrec_sequences(resolved)


def _graph_hits(source: KnowledgeGraphSource, seeds: object, targets: np.ndarray, k: int) -> list[bool]:
    items, _ = source.batch_top_k(seeds, k)
    return [bool(target in row) for row, target in zip(items, targets, strict=True)]


def movielens_graph_check(params: RetrieveParams, k: int = 100) -> pd.DataFrame | None:
    """The knowledge-graph source on MovieLens 100K's Freebase graph, leave-one-out: each user's
    last rated film (by time) against walks out of all her earlier ones, HR@k over the whole
    catalogue less her history, beside popularity (ratings counted before each user's last) and
    each meta-path alone (which relations carry the signal)."""
    root = movielens_root(params)
    if root is None:
        return None
    kg_root, _ = shared_dataset_dir("ml-100k-kg", params.movielens.kg_path, "retrieve.movielens.kg_path")
    data = read_movielens_100k(root, min_count=0)
    item_ids = np.asarray(data.item_ids)  # dense id -> MovieLens id (entry 0: padding)
    graph_data = load_movielens_kg(kg_root, known_items=set(int(i) for i in item_ids[1:]))
    entity_of = graph_data.entity_of_item()
    entities = [entity_of.get(int(item)) for item in item_ids[1:]]
    kg = params.knowledge_graph
    source = KnowledgeGraphSource(KnowledgeGraph.from_triples(graph_data.triples, entities), kg.movielens_meta_paths,
                                  kg.decay, kg.degree_exponent)  # fmt: skip
    histories = [np.asarray(s[:-1], dtype=np.int64) - 1 for s in data.sequences if len(s) >= 2]
    targets = np.array([s[-1] - 1 for s in data.sequences if len(s) >= 2])
    seeds = source.item_seed_matrix(histories)
    counts = np.bincount(np.concatenate(histories), minlength=data.n_items).astype(np.float64)
    popular = np.argsort(-counts, kind="stable")
    hits = {"knowledge graph": _graph_hits(source, seeds, targets, k),
            "popularity": [target in popular[~np.isin(popular, history)][:k]
                           for history, target in zip(histories, targets, strict=True)]}  # fmt: skip
    for path in kg.movielens_meta_paths:  # the ablation: each meta-path alone, weight 1
        alone = KnowledgeGraphSource(source.graph, {path: 1.0}, kg.decay, kg.degree_exponent)
        hits[f"path: {path}"] = _graph_hits(alone, seeds, targets, k)
    return pd.DataFrame({name: {f"hr_at_{k}": float(np.mean(v)), "users": len(v),
                                "protocol": "leave-one-out, full ranking (history excluded)"}
                         for name, v in hits.items()}).T.rename_axis("source")  # fmt: skip


# ----------------------------------------------------------------------------- 7 · outputs
def save_candidates(folder: Path, splits: dict[str, tuple[RequestSet, list[Blend]]], world: World) -> Path:
    """``data/retrieve/candidates.parquet``: per request and query of each split (``{split: (request
    set, blends)}``, the validation and test splits), its blended candidates in rank order with their
    score and the sources that found each: the rank stage's input (test lists to score, validation
    lists to choose epochs and hyperparameters on)."""
    folder.mkdir(parents=True, exist_ok=True)
    columns: dict[str, list] = {key: [] for key in ("split", "key", "kind", "query_class", "user_id", "rank", "item_id",
                                                   "score", "sources")}
    item_ids, user_ids = world.item_ids, world.user_ids  # built once: each is a fresh list
    for split, (request_set, blends) in splits.items():
        frame = request_set.frame
        for i, item_blend in enumerate(blends):
            n = len(item_blend.items)
            columns["split"] += [split] * n
            columns["key"] += [frame["key"].iat[i]] * n
            columns["kind"] += [frame["kind"].iat[i]] * n
            columns["query_class"] += [frame["query_class"].iat[i]] * n
            columns["user_id"] += [user_ids[int(frame["user"].iat[i])]] * n
            columns["rank"] += list(range(1, n + 1))
            columns["item_id"] += [item_ids[int(item)] for item in item_blend.items]
            columns["score"] += [float(s) for s in item_blend.scores]
            columns["sources"] += ["+".join(item_blend.provenance(p)) for p in range(n)]
    path = folder / "candidates.parquet"
    pq.write_table(pa.table(columns, schema=CANDIDATE_SCHEMA), path)
    return path


CANDIDATE_SCHEMA = pa.schema([("split", pa.string()), ("key", pa.string()), ("kind", pa.string()), ("query_class", pa.string()),
                              ("user_id", pa.string()), ("rank", pa.int64()), ("item_id", pa.string()),
                              ("score", pa.float64()), ("sources", pa.string())])  # fmt: skip


def save_empty_candidates(folder: Path) -> Path:
    """An empty ``candidates.parquet`` (same columns) when there is no world to retrieve for."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "candidates.parquet"
    pq.write_table(CANDIDATE_SCHEMA.empty_table(), path)
    return path
