"""Item images painted from the visual latent.

The five colour styles (red, blue, green, dark, bright) set the background as a
latent-weighted mix of their palette colours and the colours of the shapes drawn on it;
the ``round`` and ``angular`` weights set how many circles and rectangles are drawn and the
``striped`` weight how opaque a stripe overlay is. An image encoder therefore sees the
visual latent and nothing of the textual one.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from hermes_core.world.vocabulary import COLOUR_STYLES, PALETTE_RGB, VISUAL_STYLE_NAMES

_PALETTE = np.array([PALETTE_RGB[c] for c in COLOUR_STYLES], dtype=float)  # (5, 3)
_ROUND = VISUAL_STYLE_NAMES.index("round")
_ANGULAR = VISUAL_STYLE_NAMES.index("angular")
_STRIPED = VISUAL_STYLE_NAMES.index("striped")


def render_item_image(visual_latent: np.ndarray, size: int, rng: np.random.Generator) -> Image.Image:
    """An RGB ``size`` x ``size`` image for one item's visual latent (8 weights on the simplex)."""
    colour_weights = visual_latent[: len(COLOUR_STYLES)]
    colour_weights = colour_weights / max(colour_weights.sum(), 1e-9)
    background = tuple(int(v) for v in colour_weights @ _PALETTE)
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    shape_share = visual_latent[_ROUND] + visual_latent[_ANGULAR] + visual_latent[_STRIPED]
    n_round = int(round(14 * visual_latent[_ROUND] / max(shape_share, 1e-9) * min(1.0, 2 * shape_share)))
    n_angular = int(round(14 * visual_latent[_ANGULAR] / max(shape_share, 1e-9) * min(1.0, 2 * shape_share)))
    shape_colours = rng.choice(len(COLOUR_STYLES), size=n_round + n_angular + 1, p=colour_weights)
    for k in range(n_round + n_angular):
        rgb = _PALETTE[shape_colours[k]]
        # shapes of the background's own colour would vanish: lighten or darken them
        rgb = np.clip(rgb * (0.55 if rgb.mean() > 128 else 1.6) + 20, 0, 255)
        radius = rng.uniform(0.06, 0.18) * size
        cx, cy = rng.uniform(0, size, size=2)
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        fill = tuple(int(v) for v in rgb)
        if k < n_round:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    stripe_alpha = min(1.0, 2.0 * float(visual_latent[_STRIPED]))
    if stripe_alpha > 0.05:
        pixels = np.asarray(image, dtype=float)
        period = max(4, size // 8)
        rows = (np.arange(size) // (period // 2)) % 2 == 0
        stripe = np.where(rows[:, None, None], 255.0 - pixels, pixels)
        pixels = (1 - stripe_alpha) * pixels + stripe_alpha * stripe
        image = Image.fromarray(pixels.astype(np.uint8))
    return image


def png_bytes(image: Image.Image) -> bytes:
    """PNG encoding with fixed settings, so equal pixels give equal bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()
