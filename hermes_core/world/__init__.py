"""The synthetic world: a seeded multi-domain platform whose ground truth is known.

``World.generate(params.world)`` builds it; :mod:`hermes_core.world.export` writes its raw
files (with injected malformed records); ``World.save``/``World.load`` persist the truth
that later stages check themselves against. ``SessionContext`` is the session part of a
question to the truth (modality intent, hour of day, day), e.g.
``world.contextual_relevance(user, history, items, SessionContext.single(hour=20))``.
"""

from __future__ import annotations

from hermes_core.world.preferences import SessionContext
from hermes_core.world.world import World, creator_id, index_of, item_id, user_id

__all__ = ["SessionContext", "World", "creator_id", "index_of", "item_id", "user_id"]
