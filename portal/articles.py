"""The support articles the wizards follow, read at run time for the Guided tour.

They live in PORTAL_ARTICLES_PATH (a path relative to the repository, or absolute; by default
../shared/articles beside the repository). Titles come from the folder's README.md table when it
has one, else from each file's first line. A missing folder or file gives an empty list, never an
error."""

import re
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

DEFAULT_PATH = "../shared/articles"
MAX_BYTES = 200_000
README_ROW = re.compile(r"^\|\s*([\w.-]+\.txt)\s*\|\s*([^|]+?)\s*\|\s*([^|]*?)\s*\|\s*$")


@dataclass(frozen=True)
class Article:
    slug: str  # the file name without .txt
    title: str
    summary: str
    text: str


def folder() -> Path:
    configured = Path(current_app.config["PORTAL_ARTICLES_PATH"] or DEFAULT_PATH)
    repository = Path(current_app.root_path).parent
    return configured if configured.is_absolute() else (repository / configured).resolve()


def _readme(path: Path) -> dict[str, tuple[str, str]]:
    try:
        lines = (path / "README.md").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    return {m.group(1): (m.group(2), m.group(3)) for m in map(README_ROW.match, lines) if m}


def _read(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            return f.read(MAX_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None


def all_articles() -> list[Article]:
    path = folder()
    try:
        files = sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.is_file())
    except OSError:
        return []
    titles = _readme(path)
    found = []
    for file in files:
        text = _read(file)
        if text is None:
            continue
        first = next((line.strip() for line in text.splitlines() if line.strip()), file.stem)
        title, summary = titles.get(file.name, (first, ""))
        found.append(Article(file.stem, title, summary, text))
    return found


def find(slug: str) -> Article | None:
    """One article by its slug; only a listed file, so no path ever comes from the URL."""
    return next((a for a in all_articles() if a.slug == slug), None)
