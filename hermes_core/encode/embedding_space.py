r"""The embedding space: a 2-D projection of each modality and how pure its nearest neighbours are.

:func:`projection_frame` is a 2-D PCA of each modality's prepared embeddings;
:func:`purity_table` gives the share of each item's 10 nearest neighbours (inner product)
that share its label (domain, or genre when the catalogue has one domain) against chance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hermes_core.encode.catalogue import EncodedItems
from hermes_core.encode.inputs import ItemTable


def purity_label(items: ItemTable) -> str:
    """The label the space is read by: ``domain`` when the catalogue spans several, else ``genre``
    (MovieLens: every item is a movie)."""
    return "domain" if len(set(items.domain)) > 1 else "genre"


def projection_frame(items: ItemTable, encoded: EncodedItems, seed: int) -> pd.DataFrame:
    """2-D PCA of each modality's prepared embeddings (present items only), with labels."""
    from sklearn.decomposition import PCA

    frames = []
    modalities = (("text", encoded.text, encoded.text_mask), ("image", encoded.image, encoded.image_mask))
    for modality, features, mask in modalities:
        if mask.sum() < 3:
            continue
        pca = PCA(n_components=2, random_state=seed)
        points = pca.fit_transform(features[mask])
        frames.append(pd.DataFrame({
            "modality": modality, "item_id": items.item_ids[mask], "x": points[:, 0], "y": points[:, 1],
            "domain": items.domain[mask], "genre": items.genre[mask],
            "explained": float(pca.explained_variance_ratio_.sum()),
        }))
    return pd.concat(frames, ignore_index=True)


def neighbour_purity(features: np.ndarray, mask: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Mean share of each item's ``k`` nearest neighbours (inner product, self excluded) that
    share its label; rows without the modality are left out. Chance level: sum of squared shares."""
    rows = np.flatnonzero(mask)
    if len(rows) <= k:
        return float("nan")
    vectors = features[rows]
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    neighbours = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    label = np.asarray(labels, dtype=object)[rows]
    return float((label[neighbours] == label[:, None]).mean())


def purity_table(items: ItemTable, encoded: EncodedItems, label_name: str, k: int = 10) -> pd.DataFrame:
    """Per modality with vectors: :func:`neighbour_purity` of ``items.<label_name>`` and its chance
    level, the sum of squared label shares :math:`\\sum_\\ell p_\\ell^2` (two items drawn at random
    share a label with that probability)."""
    labels = np.asarray(getattr(items, label_name), dtype=object)
    shares = pd.Series(labels).value_counts(normalize=True)
    chance = float((shares ** 2).sum())
    rows = {}
    modalities = (("text", encoded.text, encoded.text_mask), ("image", encoded.image, encoded.image_mask))
    for modality, features, mask in modalities:
        if mask.any():
            rows[modality] = {f"{label_name} purity of {k} nearest neighbours":
                              neighbour_purity(features, mask, labels, k), "chance": chance}
    return pd.DataFrame(rows).T
