"""Download of the official GroupLens MovieLens archives, with their SHA-256 checked before
anything is extracted.

Only an explicit call reaches the network: ``movielens.load_movielens`` never downloads (it reads
a folder), and the ingest stage calls :func:`download_movielens` only when no local copy is
configured. :mod:`hermes_core.data.readers.movielens` re-exports the names of this module.
"""

from __future__ import annotations

import hashlib
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from hermes_core.data.readers.movielens_lines import MovieLensFormatError

if TYPE_CHECKING:
    from hermes_core.data.readers.movielens import Variant

__all__ = ["DOWNLOAD_URLS", "ChecksumMismatchError", "download_movielens"]

DOWNLOAD_URLS: dict[str, str] = {
    "100k": "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
    "1m": "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
    "latest": "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
}


class ChecksumMismatchError(ValueError):
    """A downloaded archive's SHA-256 differs from the expected one."""


def download_movielens(
    variant: Variant,
    dest: str | Path,
    *,
    expected_sha256: str | None = None,
    timeout_s: float = 60.0,
) -> Path:
    """Download the official GroupLens zip of ``variant`` into ``dest`` and unzip it.

    Returns the extracted folder (``dest/ml-100k``, ``dest/ml-1m`` or ``dest/ml-latest-small``).
    The SHA-256 of the archive is checked against ``expected_sha256`` *before* anything is
    extracted (mismatch: :class:`ChecksumMismatchError` naming both hashes, and the download is
    deleted); without it, a ``UserWarning`` reports the hash so that it can be pinned. Never
    called by the loader: only an explicit call reaches the network.
    """
    if variant not in DOWNLOAD_URLS:
        raise ValueError(f"variant must be one of {', '.join(DOWNLOAD_URLS)}, got {variant!r}")
    import urllib.request  # imported here: the network stack is needed only when asked

    url = DOWNLOAD_URLS[variant]
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    archive_path = dest / url.rsplit("/", 1)[-1]
    partial_path = archive_path.with_name(archive_path.name + ".part")
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=timeout_s) as response, partial_path.open("wb") as out:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    actual = digest.hexdigest()
    if expected_sha256 is not None and actual != expected_sha256.strip().lower():
        partial_path.unlink()
        raise ChecksumMismatchError(
            f"{url}: downloaded archive has sha256 {actual}, expected {expected_sha256}; "
            "nothing was extracted"
        )
    partial_path.replace(archive_path)
    if expected_sha256 is None:
        warnings.warn(
            f"{archive_path}: checksum not verified; its sha256 is {actual} "
            "(pass expected_sha256= to pin it)",
            UserWarning,
            stacklevel=2,
        )
    return _extract(archive_path, dest)


def _extract(archive_path: Path, dest: Path) -> Path:
    """Unzip ``archive_path`` into ``dest`` and return its top folder; refuse members that would
    land outside ``dest`` ("zip slip") before writing anything."""
    folder = dest / archive_path.stem
    root = dest.resolve()
    with zipfile.ZipFile(archive_path) as archive:
        for member in archive.namelist():
            if not (root / member).resolve().is_relative_to(root):
                raise MovieLensFormatError(
                    f"{archive_path}: member {member!r} would be written outside {dest}"
                )
        archive.extractall(dest)
    if not folder.is_dir():
        raise MovieLensFormatError(f"{archive_path}: the archive has no top folder {folder.name}/")
    return folder
