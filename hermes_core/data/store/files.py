"""Durable writes of the feature store: write-once files, directory syncs and the ``CURRENT`` pointer.

A version's files are written once (``open(..., "x")``) and synced; ``CURRENT`` (one line, the
version written last) is written beside itself and renamed over the old one, so a reader sees the
old pointer or the new one, never half of one.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from hermes_core.data.store.manifest import CURRENT_FILE

__all__ = ["TMP_PREFIX", "fsync_directory", "read_current", "write_current", "write_file"]

TMP_PREFIX = ".tmp-"
"""Prefix of everything being written; readers skip such names."""


def fsync_directory(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; durability is best effort there
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_file(path: Path, payload: bytes) -> None:
    """Write a new file (never an existing one) and sync it."""
    with open(path, "xb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def write_current(root: Path, version: str) -> None:
    """Point ``root/CURRENT`` at ``version`` (written beside it, then renamed over it)."""
    staging = root / f"{TMP_PREFIX}{CURRENT_FILE}-{uuid.uuid4().hex}"
    write_file(staging, f"{version}\n".encode("ascii"))
    os.replace(staging, root / CURRENT_FILE)
    fsync_directory(root)


def read_current(root: Path) -> str | None:
    """The version named by ``root/CURRENT``; ``None`` when there is no such file.

    Raises ``OSError`` or ``UnicodeDecodeError`` when the file exists but cannot be read as ASCII.
    """
    path = root / CURRENT_FILE
    if not path.is_file():
        return None
    return path.read_text(encoding="ascii").strip()
