"""Planted instructions: exactly the requested share of texts, labelled, each one template's words,
the rest untouched, reproducible (``hermes_core/world/injections.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.injections import INJECTION_PAYLOADS, INJECTION_TEMPLATES, inject_instructions
from hermes_core.world.params import WorldParams


def all_instructions() -> list[str]:
    """Every template filled with every payload (the payload capitalised where the template starts it)."""
    return [t.format(payload=p, payload_capital=p[0].upper() + p[1:]) for t in INJECTION_TEMPLATES
            for p in INJECTION_PAYLOADS]


def planted_instruction(original: str, changed: str) -> str:
    """The instruction that turned ``original`` into ``changed`` (prepended or appended, one space)."""
    if changed.startswith(original + " "):
        return changed[len(original) + 1:]
    assert changed.endswith(" " + original), (original, changed)
    return changed[: -len(original) - 1]


TEXTS = tuple(f"Text number {k} about rivers and {'cats' if k % 2 else 'trains'}." for k in range(200))


@pytest.mark.parametrize("share", [0.0, 0.02, 0.1, 0.37, 1.0])
def test_exactly_the_share_is_changed_and_labelled(share: float) -> None:
    texts, mask = inject_instructions(TEXTS, share, np.random.default_rng(4))
    n_expected = int(round(share * len(TEXTS)))
    changed = np.array([a != b for a, b in zip(TEXTS, texts)])
    assert mask.dtype == bool and mask.shape == (len(TEXTS),)
    assert mask.sum() == n_expected and np.array_equal(changed, mask)
    instructions = set(all_instructions())
    for original, new, marked in zip(TEXTS, texts, mask):
        if not marked:
            assert new == original
            continue
        assert planted_instruction(original, new) in instructions
        # exactly one template's fixed words appear
        assert sum(t.split("{")[0].strip() in new for t in INJECTION_TEMPLATES) == 1


def test_both_placements_occur() -> None:
    texts, mask = inject_instructions(TEXTS, 0.5, np.random.default_rng(1))
    appended = sum(new.startswith(old + " ") for old, new, m in zip(TEXTS, texts, mask) if m)
    assert 0 < appended < mask.sum()


def test_the_same_seed_gives_the_same_texts() -> None:
    first = inject_instructions(TEXTS, 0.1, np.random.default_rng(7))
    second = inject_instructions(TEXTS, 0.1, np.random.default_rng(7))
    other = inject_instructions(TEXTS, 0.1, np.random.default_rng(8))
    assert first[0] == second[0] and np.array_equal(first[1], second[1])
    assert first[0] != other[0]


def test_bad_shares_and_empty_input() -> None:
    with pytest.raises(ValueError, match="share"):
        inject_instructions(TEXTS, 1.5, np.random.default_rng(0))
    texts, mask = inject_instructions((), 0.3, np.random.default_rng(0))
    assert texts == () and mask.shape == (0,)


def test_the_world_labels_its_injected_descriptions_and_queries(tiny_world: World,
                                                                 tiny_world_params: WorldParams) -> None:
    share = tiny_world.params.injection_share
    cat, queries = tiny_world.catalogue, tiny_world.queries
    assert cat.injected.sum() == round(share * tiny_world.n_items) > 0
    assert queries.injected.sum() == round(share * len(queries.text))
    instructions = all_instructions()
    for texts, mask in ((cat.descriptions, cat.injected), (queries.text, queries.injected)):
        carrying = np.array([any(i in t for i in instructions) for t in texts])
        assert np.array_equal(carrying, mask)
    # the same world without injections has the clean texts the world started from
    clean = World.generate(tiny_world_params.model_copy(update={"injection_share": 0.0}))
    assert not clean.catalogue.injected.any() and not clean.queries.injected.any()
    heavy = World.generate(tiny_world_params.model_copy(update={"injection_share": 0.2}))
    assert heavy.catalogue.injected.sum() == round(0.2 * heavy.n_items) == 30
    assert heavy.queries.injected.sum() == round(0.2 * len(heavy.queries.text))
    for world in (tiny_world, heavy):
        for original, new, marked in zip(clean.catalogue.descriptions, world.catalogue.descriptions,
                                         world.catalogue.injected):
            if marked:
                assert planted_instruction(original, new) in instructions
            else:
                assert new == original
        for original, new, marked in zip(clean.queries.text, world.queries.text, world.queries.injected):
            assert (new != original) == marked
        # instructions are text only: they change no draw of the truth
        assert np.array_equal(clean.logs.clicks, world.logs.clicks)
        assert clean.scales == world.scales
