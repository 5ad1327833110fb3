"""The synthetic world: a seeded multi-domain platform whose ground truth is known.

``World.generate(params.world)`` builds it; :mod:`hermes_core.world.export` writes its raw
files (with injected malformed records); ``World.save``/``World.load`` persist the truth
that later stages check themselves against.
"""

from __future__ import annotations

from hermes_core.world.world import World, creator_id, index_of, item_id, user_id

__all__ = ["World", "creator_id", "index_of", "item_id", "user_id"]
