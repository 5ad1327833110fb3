"""Hermes core: the thin, tested package behind every pipeline notebook.

Each pipeline stage has one module or subpackage here; notebooks only load parameters,
call these functions and show their results.
"""

from __future__ import annotations

__version__ = "0.1.0"
