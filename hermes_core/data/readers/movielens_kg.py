"""The knowledge graph of MovieLens 100K: Freebase triples and the item-entity links; it only reads.

Source (``../shared/data/ml-100k-kg/SOURCE.txt``): the KB4Rec linkage of MovieLens 100K to
Freebase (Zhao et al., "KB4Rec: A Data Set for Linking Knowledge Bases with Recommender Systems",
Data Intelligence 2019) as shipped with RecBole 1.2.1. Two tab-separated files with a header:

- ``ml-100k.kg``: ``head_id:token  relation_id:token  tail_id:token``, one triple a line, entities
  as Freebase mids (``m.0dyb1``) and relations as Freebase properties (``film.film.directed_by``);
- ``ml-100k.link``: ``item_id:token  entity_id:token``, the MovieLens item (the ``u.item`` id)
  each linked film entity stands for.

What the files hold (counted by :func:`load_movielens_kg`, checked by
``tests/data/test_movielens_kg.py``): 91,631 triples over 34,628 entities and 24 relations, most
paired with their inverse (``film.film.directed_by`` / ``film.director.film``, 1,727 each way);
``film.film.actor`` (40,152) has no inverse but ``film.actor.film``'s 6 stray triples; 1,598
links, one to one, every linked entity in the graph. The reader keeps every triple as it is;
which relations a walk follows is the caller's choice.

Every problem raises :class:`MovieLensKGFormatError` naming ``file:line`` and the field: a header
other than the one above, a line that is not UTF-8, a wrong number of fields, an empty field, an
item id that is not a positive integer, an item or entity linked twice, a link to an entity the
graph does not hold, or (when ``known_items`` is given) to an item ``u.item`` does not list.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

KG_FILE = "ml-100k.kg"
LINK_FILE = "ml-100k.link"
KG_HEADER: tuple[str, ...] = ("head_id:token", "relation_id:token", "tail_id:token")
LINK_HEADER: tuple[str, ...] = ("item_id:token", "entity_id:token")
TRIPLE_COLUMNS: tuple[str, ...] = ("head", "relation", "tail")
LINK_COLUMNS: tuple[str, ...] = ("item_id", "entity_id")


class MovieLensKGFormatError(ValueError):
    """A malformed line or file of the MovieLens knowledge graph; the message names ``file:line``."""


@dataclass(frozen=True)
class MovieLensKG:
    """The triples and links of one ``ml-100k-kg`` folder, in file order.

    ``triples``: columns ``head``, ``relation``, ``tail`` (str), one row per line of ``ml-100k.kg``;
    ``links``: columns ``item_id`` (int64, the ``u.item`` id) and ``entity_id`` (str).
    """

    triples: pd.DataFrame
    links: pd.DataFrame
    root: Path

    @property
    def relations(self) -> tuple[str, ...]:
        """The distinct relations, sorted."""
        return tuple(sorted(self.triples["relation"].unique()))

    @property
    def n_entities(self) -> int:
        """Distinct entities among the heads and tails."""
        return int(pd.concat([self.triples["head"], self.triples["tail"]]).nunique())

    def entity_of_item(self) -> dict[int, str]:
        """MovieLens item id -> its entity, for the linked items only."""
        return dict(zip(self.links["item_id"].tolist(), self.links["entity_id"].tolist()))


def load_movielens_kg(path: str | Path, known_items: Collection[int] | None = None) -> MovieLensKG:
    """Read ``ml-100k.kg`` and ``ml-100k.link`` from the folder ``path`` (see the module docstring).

    ``known_items``: the MovieLens item ids that exist (``u.item``'s); a link to any other id is
    an error. Raises ``FileNotFoundError`` naming the folder and both files when one is missing,
    and :class:`MovieLensKGFormatError` on the first malformed line.
    """
    root = Path(path)
    missing = [name for name in (KG_FILE, LINK_FILE) if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"MovieLens knowledge-graph folder {root} lacks {', '.join(missing)} "
            f"(expected {KG_FILE} and {LINK_FILE})"
        )
    triples = _read_triples(root / KG_FILE)
    entities = set(triples["head"]) | set(triples["tail"])
    links = _read_links(root / LINK_FILE, entities, known_items)
    return MovieLensKG(triples=triples, links=links, root=root)


def _data_lines(path: Path, header: tuple[str, ...]) -> Iterator[tuple[str, list[str]]]:
    """``(source, fields)`` of each data line after checking the header; ``source`` is ``file:line``."""
    chunks = path.read_bytes().split(b"\n")
    if chunks[-1] == b"":
        chunks.pop()  # the newline that ends the last line opens no new one
    for number, chunk in enumerate(chunks, start=1):
        source = f"{path.name}:{number}"
        try:
            text = chunk.removesuffix(b"\r").decode("utf-8")
        except UnicodeDecodeError as error:
            raise MovieLensKGFormatError(f"{source}: not valid UTF-8 ({error.reason} at byte {error.start})") from None
        fields = text.split("\t")
        if number == 1:
            if tuple(f.strip().lstrip("\ufeff") for f in fields) != header:
                raise MovieLensKGFormatError(
                    f"{source}: header {text!r} is not the expected {chr(9).join(header)!r}"
                )
            continue
        if len(fields) != len(header):
            names = ", ".join(h.split(":")[0] for h in header)
            raise MovieLensKGFormatError(
                f"{source}: expected {len(header)} tab-separated fields ({names}), found {len(fields)}"
            )
        for name, value in zip(header, fields):
            if not value.strip():
                raise MovieLensKGFormatError(f"{source}: empty {name.split(':')[0]}")
        yield source, [value.strip() for value in fields]
    if not chunks:
        raise MovieLensKGFormatError(f"{path.name}:1: the file is empty (expected the header {chr(9).join(header)!r})")


def _read_triples(path: Path) -> pd.DataFrame:
    rows = [fields for _, fields in _data_lines(path, KG_HEADER)]
    return pd.DataFrame(rows, columns=list(TRIPLE_COLUMNS), dtype=str) if rows else pd.DataFrame(
        {c: pd.Series(dtype=str) for c in TRIPLE_COLUMNS})


def _read_links(path: Path, entities: set[str], known_items: Collection[int] | None) -> pd.DataFrame:
    known = None if known_items is None else {int(i) for i in known_items}
    line_of_item: dict[int, str] = {}
    line_of_entity: dict[str, str] = {}
    items: list[int] = []
    linked: list[str] = []
    for source, (item_text, entity) in _data_lines(path, LINK_HEADER):
        if not (item_text.isascii() and item_text.isdigit()) or int(item_text) < 1:
            raise MovieLensKGFormatError(f"{source}: item_id {item_text!r} is not a positive integer")
        item = int(item_text)
        if known is not None and item not in known:
            raise MovieLensKGFormatError(f"{source}: item_id {item} is not a MovieLens item (not in u.item)")
        if item in line_of_item:
            raise MovieLensKGFormatError(f"{source}: item_id {item} is already linked on {line_of_item[item]}")
        if entity in line_of_entity:
            raise MovieLensKGFormatError(f"{source}: entity_id {entity!r} is already linked on {line_of_entity[entity]}")
        if entity not in entities:
            raise MovieLensKGFormatError(
                f"{source}: entity_id {entity!r} (item_id {item}) is not an entity of {KG_FILE}"
            )
        line_of_item[item] = line_of_entity[entity] = source
        items.append(item)
        linked.append(entity)
    return pd.DataFrame({"item_id": pd.Series(items, dtype="int64"), "entity_id": pd.Series(linked, dtype=str)})
