"""Hermes core: the thin, tested package behind every pipeline notebook.

Layers that import only downwards (``tests/test_layering.py`` enforces it): the base modules
(``params``, ``workspace``, ``runner``, ``device``, ``figures``, the HTML renderer), ``data``,
``world``, the shared research code (``evaluation``, ``losses``, ``index``) and one subpackage per
pipeline stage with the same faces (``params``, ``stage``, ``metrics``, ``plots``). Notebooks only
load parameters, call these functions and show their results.
"""

from __future__ import annotations

__version__ = "0.1.0"
