"""The MovieLens 100K knowledge-graph reader: the real shared files and small hand-made ones.

The counts of the real files were taken with ``cut``/``sort``/``uniq`` on
``../shared/data/ml-100k-kg`` and agree with ``../shared/README.md``: 91,631 triples, 24 relations,
34,628 entities, 1,598 linked movies; ``film.film.directed_by`` 1,727 triples.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hermes_core.data.readers.movielens_kg import (
    KG_FILE,
    LINK_FILE,
    MovieLensKGFormatError,
    load_movielens_kg,
)

SHARED_DATA = Path(
    os.environ.get("HERMES_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
KG_HEADER = "head_id:token\trelation_id:token\ttail_id:token\n"
LINK_HEADER = "item_id:token\tentity_id:token\n"
GOOD_TRIPLES = [
    "m.film1\tfilm.film.directed_by\tm.director",
    "m.director\tfilm.director.film\tm.film1",
    "m.film2\tfilm.film.genre\tm.drama",
    "m.film1\tfilm.film.genre\tm.drama",
]
GOOD_LINKS = ["3\tm.film1", "7\tm.film2"]


def write_kg(folder: Path, triples: list[str] = GOOD_TRIPLES, links: list[str] = GOOD_LINKS,
             kg_header: str = KG_HEADER, link_header: str = LINK_HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KG_FILE).write_text(kg_header + "".join(t + "\n" for t in triples), encoding="utf-8")
    (folder / LINK_FILE).write_text(link_header + "".join(line + "\n" for line in links), encoding="utf-8")
    return folder


def test_small_files_become_tidy_tables(tmp_path: Path) -> None:
    kg = load_movielens_kg(write_kg(tmp_path), known_items=range(1, 11))
    assert kg.triples.values.tolist() == [t.split("\t") for t in GOOD_TRIPLES]
    assert list(kg.triples.columns) == ["head", "relation", "tail"]
    assert kg.links.values.tolist() == [[3, "m.film1"], [7, "m.film2"]]
    assert kg.links["item_id"].dtype == "int64"
    assert kg.relations == ("film.director.film", "film.film.directed_by", "film.film.genre")
    assert kg.n_entities == 4  # film1, film2, director, drama
    assert kg.entity_of_item() == {3: "m.film1", 7: "m.film2"}


@pytest.mark.parametrize(("triples", "links", "message"), [
    (GOOD_TRIPLES[:2] + ["m.film2\tfilm.film.genre"], GOOD_LINKS,
     r"ml-100k\.kg:4: expected 3 tab-separated fields \(head_id, relation_id, tail_id\), found 2"),
    (GOOD_TRIPLES + ["m.a\tr\tm.b\textra"], GOOD_LINKS, r"ml-100k\.kg:6: expected 3 .* found 4"),
    (["m.film1\t\tm.director"], GOOD_LINKS, r"ml-100k\.kg:2: empty relation_id"),
    (GOOD_TRIPLES, ["3\tm.film1", "7\tm.nowhere"],
     r"ml-100k\.link:3: entity_id 'm\.nowhere' \(item_id 7\) is not an entity of ml-100k\.kg"),
    (GOOD_TRIPLES, ["3\tm.film1\tx"], r"ml-100k\.link:2: expected 2 tab-separated fields \(item_id, entity_id\), found 3"),
    (GOOD_TRIPLES, ["three\tm.film1"], r"ml-100k\.link:2: item_id 'three' is not a positive integer"),
    (GOOD_TRIPLES, ["0\tm.film1"], r"ml-100k\.link:2: item_id '0' is not a positive integer"),
    (GOOD_TRIPLES, ["3\tm.film1", "3\tm.film2"], r"ml-100k\.link:3: item_id 3 is already linked on ml-100k\.link:2"),
    (GOOD_TRIPLES, ["3\tm.film1", "4\tm.film1"],
     r"ml-100k\.link:3: entity_id 'm\.film1' is already linked on ml-100k\.link:2"),
    (GOOD_TRIPLES, ["3\tm.film1", "11\tm.film2"], r"ml-100k\.link:3: item_id 11 is not a MovieLens item"),
])
def test_malformed_lines_name_file_line_and_field(tmp_path: Path, triples: list[str], links: list[str],
                                                  message: str) -> None:
    with pytest.raises(MovieLensKGFormatError, match=message):
        load_movielens_kg(write_kg(tmp_path, triples, links), known_items=range(1, 11))


def test_wrong_header_or_empty_file_names_line_1(tmp_path: Path) -> None:
    with pytest.raises(MovieLensKGFormatError, match=r"ml-100k\.kg:1: header 'head\\tr\\ttail' is not the expected"):
        load_movielens_kg(write_kg(tmp_path / "a", kg_header="head\tr\ttail\n"))
    folder = write_kg(tmp_path / "b")
    (folder / LINK_FILE).write_bytes(b"")
    with pytest.raises(MovieLensKGFormatError, match=r"ml-100k\.link:1: the file is empty"):
        load_movielens_kg(folder)


def test_undecodable_line_is_named(tmp_path: Path) -> None:
    folder = write_kg(tmp_path)
    (folder / KG_FILE).write_bytes(KG_HEADER.encode() + b"m.a\tr\tm.\xff\n")
    with pytest.raises(MovieLensKGFormatError, match=r"ml-100k\.kg:2: not valid UTF-8"):
        load_movielens_kg(folder)


def test_missing_file_names_the_folder_and_both_files(tmp_path: Path) -> None:
    folder = write_kg(tmp_path)
    (folder / LINK_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks ml-100k\.link \(expected ml-100k\.kg and ml-100k\.link\)"):
        load_movielens_kg(folder)


def test_crlf_line_ends_are_not_part_of_the_last_field(tmp_path: Path) -> None:
    folder = write_kg(tmp_path)
    (folder / KG_FILE).write_bytes(KG_HEADER.replace("\n", "\r\n").encode() + b"m.film1\tr\tm.film2\r\n")
    (folder / LINK_FILE).write_bytes(b"item_id:token\tentity_id:token\r\n3\tm.film2\r\n")
    kg = load_movielens_kg(folder)
    assert kg.triples.values.tolist() == [["m.film1", "r", "m.film2"]]
    assert kg.entity_of_item() == {3: "m.film2"}


# --------------------------------------------------------------------------- shared data


def _shared(folder: str) -> Path:
    path = SHARED_DATA / folder
    if not path.is_dir():
        pytest.skip(f"{path} is absent (set HERMES_SHARED_DATA to the folder holding {folder}/)")
    return path


@pytest.mark.shared_data
def test_shared_ml_100k_kg_counts() -> None:
    # u.item lists ids 1..1682 (shared README); every link must point at one of them
    kg = load_movielens_kg(_shared("ml-100k-kg"), known_items=range(1, 1683))
    assert len(kg.triples) == 91_631
    assert len(kg.relations) == 24
    assert kg.n_entities == 34_628
    assert len(kg.links) == 1_598
    assert kg.links["item_id"].is_unique and kg.links["entity_id"].is_unique
    counts = kg.triples["relation"].value_counts()
    assert counts["film.film.directed_by"] == counts["film.director.film"] == 1_727
    assert counts["film.film.actor"] == 40_152
    assert counts["film.film.sequel"] == counts["film.film.prequel"] == 312
    assert counts["film.actor.film"] == 6  # the only relation whose inverse is far from complete
    # u.item 1 (Toy Story) links to m.0dyb1, which has one director in the graph (read off the file)
    assert kg.entity_of_item()[1] == "m.0dyb1"
    directed = kg.triples[(kg.triples["head"] == "m.0dyb1") & (kg.triples["relation"] == "film.film.directed_by")]
    assert directed["tail"].tolist() == ["m.04jspq"]
