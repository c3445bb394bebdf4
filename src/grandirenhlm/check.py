"""`grandirenhlm check`: what would go wrong on the platforms, found before publishing.

Errors in the files themselves are raised while loading the catalog (`load_catalog`); this adds
platform advice as warnings and, with `deep`, re-hashes media to catch files changed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from grandirenhlm.catalog import Catalog
from grandirenhlm.media import artwork_problems, sha256_file
from grandirenhlm.model import Cover
from grandirenhlm.records import display_path

# Apple Podcasts categories (https://podcasters.apple.com/support/1691-apple-podcasts-categories).
APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": (
        "Alternative Health",
        "Fitness",
        "Medicine",
        "Mental Health",
        "Nutrition",
        "Sexuality",
    ),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": (
        "Animation & Manga",
        "Automotive",
        "Aviation",
        "Crafts",
        "Games",
        "Hobbies",
        "Home & Garden",
        "Video Games",
    ),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": (
        "Business News",
        "Daily News",
        "Entertainment News",
        "News Commentary",
        "Politics",
        "Sports News",
        "Tech News",
    ),
    "Religion & Spirituality": (
        "Buddhism",
        "Christianity",
        "Hinduism",
        "Islam",
        "Judaism",
        "Religion",
        "Spirituality",
    ),
    "Science": (
        "Astronomy",
        "Chemistry",
        "Earth Sciences",
        "Life Sciences",
        "Mathematics",
        "Natural Sciences",
        "Nature",
        "Physics",
        "Social Sciences",
    ),
    "Society & Culture": (
        "Documentary",
        "Personal Journals",
        "Philosophy",
        "Places & Travel",
        "Relationships",
    ),
    "Sports": (
        "Baseball",
        "Basketball",
        "Cricket",
        "Fantasy Sports",
        "Football",
        "Golf",
        "Hockey",
        "Rugby",
        "Running",
        "Soccer",
        "Swimming",
        "Tennis",
        "Volleyball",
        "Wilderness",
        "Wrestling",
    ),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def check_catalog(catalog: Catalog, deep: bool = False) -> list[Finding]:
    findings: list[Finding] = []
    for slug, show in sorted(catalog.shows.items()):
        where = display_path(show.source)
        if show.category not in APPLE_CATEGORIES:
            findings.append(
                Finding("error", where, f"category: {show.category!r} is not an Apple Podcasts category")
            )
        elif show.subcategory and show.subcategory not in APPLE_CATEGORIES[show.category]:
            findings.append(
                Finding(
                    "error",
                    where,
                    f"subcategory: {show.subcategory!r} is not a subcategory of {show.category!r}",
                )
            )
        try:
            with Image.open(show.image) as img:
                cover = Cover(Image.MIME.get(img.format, "?"), img.width, img.height)
                mode = img.mode
            findings.extend(Finding("warning", where, f"image: {p}") for p in artwork_problems(cover, mode))
        except (UnidentifiedImageError, OSError):
            findings.append(Finding("error", where, f"image: {show.image.name} is not a readable image"))
        if not catalog.episodes[slug]:
            findings.append(Finding("warning", where, "no episodes yet: Apple refuses an empty feed"))
        for episode in catalog.episodes[slug]:
            ewhere = display_path(episode.source)
            if not episode.description:
                findings.append(
                    Finding("warning", ewhere, "description: empty; apps show nothing under the title")
                )
            if deep and sha256_file(episode.media.path) != episode.media.sha256:
                findings.append(
                    Finding(
                        "error",
                        ewhere,
                        f"media.file: {episode.media.path.name} changed since ingest (sha256 differs); ingest it again",
                    )
                )
    return findings
