"""Where the project's files are, wherever the project is checked out or mounted."""

from __future__ import annotations

import os
from pathlib import Path

# plugins/shopify_max/paths.py -> the project root is two folders up from this package.
PROJECT_ROOT = Path(os.environ.get("SHOPIFY_MAX_PROJECT_ROOT", Path(__file__).resolve().parents[2]))
INCLUDE_DIR = PROJECT_ROOT / "include"
# The mapping tables users edit; SHOPIFY_MAX_MAPPINGS_DIR points elsewhere (a mounted config volume, a test).
MAPPINGS_DIR = Path(os.environ.get("SHOPIFY_MAX_MAPPINGS_DIR", INCLUDE_DIR / "mappings"))


def resolve_project_path(path: str | os.PathLike[str]) -> Path:
    """Resolve a path relative to the project root; absolute paths are returned as they are."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate
