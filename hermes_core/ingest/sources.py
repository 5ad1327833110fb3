"""Where the ingest stage's records come from: the synthetic world or a MovieLens variant.

* :func:`source_description`: what the source is, as Markdown for the notebook (the world's
  generative model, or the dataset as its GroupLens README describes it);
* :func:`load_source`: the raw tables of the configured source and their validation context
  (the world is generated and its raw logs written first);
* :func:`world_summary`: the world's ground truth, which no real source has.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.data.raw import RawTable
from hermes_core.data.schema import RatingScale
from hermes_core.ingest.validate import read_raw_folder
from hermes_core.params import HermesParams
from hermes_core.workspace import MissingDataError, Workspace, resolve_project_path, shared_data_dir
from hermes_core.world import World
from hermes_core.world.export import InjectedRecord, write_raw

MOVIELENS_FOLDERS = {"movielens-100k": "ml-100k", "movielens-1m": "ml-1m", "movielens-latest": "ml-latest-small"}

WORLD_MODEL_MARKDOWN = r"""**Items.** Item $i$ has a textual latent $t_i \in \Delta^{16}$ (themes), a visual latent
$v_i \in \Delta^{8}$ (colour and shape styles), a hidden latent $h_i \sim \mathcal N(0, I_H)$
that no content reveals, a creator (mainstream or independent, with heavy-tailed log-normal
popularity) and a domain. Its description is written from its strongest themes and its image
is painted from its visual styles. Cold items are created after the logging window.

**Users and true relevance.** User $u$ has preferences $p^{vis}_u, p^{txt}_u, p^{hid}_u$, a taste
$q_u$ for the creators' factors, a modality affinity $m_u \sim \mathrm{Beta}(c,c)$ and domain
affinities $a_u$ (region shifts $a_u$, age shifts $p^{vis}_u$; a `newsletter` flag is a placebo).
With each term standardised, in a session context $x$ (modality intent, hour of day, day),
$$ s(u,i \mid x) = 1.4\,[m_{udx} \tilde v_{ui} + (1-m_{udx})\tilde t_{ui}] + 0.8\,\tilde h_{ui} + 0.8\log(4 a_{u,d(i)}) + w_c\, \tilde e_{u,c(i)} + \chi(x, d(i)), $$
where the modality weight $m_{udx}$ moves with the domain and the session's intent, the creator
taste $e$ carries over to a creator's collaborators, and $\chi$ shifts domains by the hour.
Popularity drives exposure, not merit (`world.popularity_in_relevance: false`). Inside a session
with clicks $h$, a history term adds the session's drifting intent (a decayed mean of the clicked
items' content), the clicked creators, the next part of a clicked series and a genre transition.
Graded relevance $rel \in \{0,\dots,4\}$ cuts the affinity at fixed quantiles.

**Logging policy and feedback.** Each request ranks $C$ candidates with a Plackett–Luce policy of
noisy scores; the exact marginal probability of every candidate at every position is logged as
the propensity. A position-based model turns relevance into clicks,
$P(\text{click}\mid u,i,k) = (k+1)^{-\eta}\,[\epsilon + (\gamma-\epsilon)(2^{\tilde g}-1)/15]\, f_k$ with the
continuous grade $\tilde g$ and a similarity fatigue $f_k$ (a near copy of an item above loses
appeal), and a click
converts with probability $\sigma(b_0 + b_{rel}\,rel + b_{price}\,z(\log price))$ after a delay
(exponential by default, mean depending on the domain) that the log only sees if it ends before
the window closes."""
"""The synthetic world's generative model (``hermes_core.world``), as the notebook shows it."""

_MOVIELENS_COMMON = (
    "Each rating carries a Unix timestamp (seconds, UTC) of when it was *entered* on the website, "
    "not of when the film was watched. There are no impressions, clicks, conversions or logging "
    "propensities, no creator cohorts and no ground truth: every interaction below is a rating, and "
    "nothing here can validate an off-policy estimate. Movies carry their title, release year and a "
    "genre multi-hot vector (stored as `dense_features`)."
)

MOVIELENS_MARKDOWN: dict[str, str] = {
    "movielens-100k": (
        "**MovieLens 100K** (GroupLens Research, University of Minnesota; Harper and Konstan 2015). "
        "Explicit ratings given on the MovieLens website between 19 September 1997 and 22 April 1998. "
        "Its README: 100,000 ratings from 943 users on 1,682 movies, on a scale of whole stars from 1 "
        "to 5; users with fewer than 20 ratings or incomplete demographics were removed, so every user "
        "has rated at least 20 movies. Users carry age, gender and occupation. " + _MOVIELENS_COMMON
    ),
    "movielens-1m": (
        "**MovieLens 1M** (GroupLens Research; Harper and Konstan 2015). Its README: 1,000,209 ratings "
        "of about 3,900 movies by 6,040 users who joined MovieLens in 2000, whole stars from 1 to 5, "
        "every user with at least 20 ratings. Users carry age group, gender and occupation. "
        + _MOVIELENS_COMMON
    ),
    "movielens-latest": (
        "**MovieLens latest-small** (GroupLens Research; Harper and Konstan 2015). Its README: 100,836 "
        "ratings on 9,742 movies by 610 randomly selected users between 29 March 1996 and 24 September "
        "2018, on a 5-star scale with half-star increments (0.5 to 5.0); every user rated at least 20 "
        "movies; no demographics (users are derived from the ratings). " + _MOVIELENS_COMMON
    ),
}
"""What each MovieLens variant is, from its GroupLens README (counts are the README's; the
notebook's data profile shows the counts actually ingested)."""


def source_description(source: str) -> str:
    """Markdown describing where the data come from: the world's generative model for
    ``world``, the dataset (what it is, rating scale, timestamps) for a MovieLens source."""
    if source == "world":
        return "**Source `world`: the synthetic world's generative model.**\n\n" + WORLD_MODEL_MARKDOWN
    if source in MOVIELENS_MARKDOWN:
        return f"**Source `{source}`.** " + MOVIELENS_MARKDOWN[source]
    raise ValueError(f"data.source '{source}': no description; known sources: world, "
                     f"{', '.join(MOVIELENS_MARKDOWN)}")


def movielens_path(params: HermesParams) -> Path:
    """The configured MovieLens folder (``data.movielens_path``, else under the shared data)."""
    if params.data.movielens_path:
        return resolve_project_path(params.data.movielens_path)
    return shared_data_dir(params.data.shared_data_dir) / MOVIELENS_FOLDERS[params.data.source]


@dataclass
class LoadedSource:
    """The raw tables of a source with what validating them needs and, for the world, its truth."""

    tables: dict[str, RawTable]
    now: datetime  # when the source was taken (world: end of its logging window): later timestamps are rejected
    dense_dim: int  # length of the items' side-feature vectors
    world: World | None = None  # None for a real dataset
    injected: list[InjectedRecord] = field(default_factory=list)  # malformed records put in on purpose
    rating_scale: RatingScale | None = None  # the ratings a real source allows; None: no ratings (world)


def load_source(params: HermesParams, workspace: Workspace) -> LoadedSource:
    """Raw tables and validation context of ``data.source``.

    ``world``: the world is generated from ``params.world``, saved under ``data/world`` and its
    raw logs (with deliberately malformed records, listed in ``data/world/injected.json``)
    written under ``data/raw/world``; ``now`` is the end of its logging window. MovieLens: the
    GroupLens files are read (downloaded first when ``data.allow_download``); ``now`` is when the
    variant was taken and ``rating_scale`` its scale
    (:mod:`~hermes_core.data.readers.movielens_variants`), never the wall clock, so the same files
    give byte-identical outputs.
    """
    if params.data.source == "world":
        world = World.generate(params.world)
        world.save(workspace.world)
        raw_folder = workspace.raw / "world"
        injected = write_raw(world, raw_folder)
        (workspace.world / "injected.json").write_text(
            json.dumps([asdict(i) for i in injected], indent=0), encoding="utf-8")
        return LoadedSource(read_raw_folder(raw_folder), now=world.end, dense_dim=params.world.dense_dim,
                            world=world, injected=injected)

    from hermes_core.data.readers.movielens import download_movielens, load_movielens

    variant = params.data.source.removeprefix("movielens-")
    path = movielens_path(params)
    if not path.exists() and params.data.allow_download:
        path = download_movielens(variant, workspace.raw / "downloads")  # type: ignore[arg-type]
    if not path.exists():
        raise MissingDataError(
            f"data.source is {params.data.source} but its folder {path} does not exist; point "
            "data.movielens_path or data.shared_data_dir (or $HERMES_SHARED_DATA outside DVC) at it, "
            "or set data.allow_download: true")
    raw = load_movielens(path, variant)  # type: ignore[arg-type]
    workspace.raw.mkdir(parents=True, exist_ok=True)
    workspace.world.mkdir(parents=True, exist_ok=True)
    (workspace.raw / "SOURCE.json").write_text(json.dumps({"source": params.data.source, "path": str(path)}, indent=1))
    (workspace.world / "NO_WORLD.txt").write_text(f"source {params.data.source}: no synthetic ground truth\n")
    return LoadedSource(dict(raw.tables), now=raw.now, dense_dim=raw.dense_dim, rating_scale=raw.rating_scale)


def world_summary(world: World) -> dict[str, Any]:
    """Ground-truth statistics of the synthetic world (what the raw logs were drawn from)."""
    logs = world.logs
    return {
        "n_users": world.n_users,
        "n_items": world.n_items,
        "n_cold_items": int(world.catalogue.is_cold.sum()),
        "n_requests": int(len(logs.user)),
        "n_impressions": int(logs.clicks.size),
        "n_sessions": int(len(np.unique(logs.session))),
        "click_through_rate": float(logs.clicks.mean()),
        "conversion_rate_per_click": float(logs.converted.mean()),
        "conversions_censored_share": float(1 - logs.conversion_observed.sum() / max(1, logs.converted.sum())),
        "logging_policy_value": world.logging_policy_value(),
        "min_logged_propensity": float(np.take_along_axis(logs.logging_marginals, logs.slate[:, None, :], 1).min()),
    }


def world_summary_table(world: World) -> pd.DataFrame:
    """:func:`world_summary` as a one-column table for the notebook: integers with thousands
    separators, every other number at four significant digits."""
    truth = pd.Series(world_summary(world), name="ground truth", dtype=object)
    return truth.map(lambda v: f"{v:,}" if isinstance(v, int) else f"{v:.4g}").to_frame()
