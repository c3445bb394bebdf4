"""Cover art resized for the pages with Pillow: WebP and JPEG at a few widths, for `srcset`.

The feed keeps pointing at the original (Apple wants 1400 to 3000 px); pages load a rendition
near the size they show, so a page weighs tens of kilobytes instead of the full artwork.
Output is deterministic for given input bytes: the same cover gives the same keys and bytes.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO

import PIL
from PIL import Image, ImageOps, UnidentifiedImageError

from grandirenhlm import cachekey
from grandirenhlm.errors import ConfigError, GrandirError
from grandirenhlm.files import display_path, write_atomic

# The pixel budget of every image the project reads (show covers, embedded cover art, posters):
# 25 megapixels, 5000 x 5000. Apple's largest cover is 3000 x 3000 (9 MP); a PNG of 20000 x 20000
# weighs a few kilobytes and decodes to 1.6 GB, so the size is checked from the header, before
# any pixel is decoded. Pillow's own guard (DecompressionBombWarning at 89 MP) comes too late.
MAX_IMAGE_PIXELS = 25_000_000
# Images with a side over this are decoded at reduced size (JPEG draft: 1/2, 1/4, 1/8 scale in the
# decoder itself) when only a smaller copy is needed: memory follows the output, not the input.
REDUCE_ABOVE_PX = 3000


@contextmanager
def open_image(
    source: Path | bytes | IO[bytes], name: str, error: type[GrandirError] = ConfigError
) -> Iterator[Image.Image]:
    """The image at `source` opened lazily (header only), refused with one `error` line naming
    `name` when it is not an image or exceeds `MAX_IMAGE_PIXELS`."""
    fh = io.BytesIO(source) if isinstance(source, bytes) else source
    with warnings.catch_warnings():
        # Pillow's own bomb guard warns or raises from Image.open: both become our one-line error
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(fh)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise error(f"{name}: image too large: {_first_line(exc)}") from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise error(f"{name}: not a readable image: {_first_line(exc)}") from exc
    with img:
        width, height = img.size
        if width * height > MAX_IMAGE_PIXELS or width <= 0 or height <= 0:
            raise error(
                f"{name}: image too large: {width}x{height} px is over the limit of "
                f"{MAX_IMAGE_PIXELS:,} pixels (5000x5000); Apple wants 1400 to 3000 px"
            )
        yield img


def decode_reduced(
    img: Image.Image, name: str, max_side: int, error: type[GrandirError] = ConfigError
) -> Image.Image:
    """`img` (from `open_image`) decoded, at reduced size when a side exceeds `REDUCE_ABOVE_PX`
    and only `max_side` pixels are needed; EXIF rotation applied."""
    width, height = img.size
    try:
        if max(width, height) > REDUCE_ABOVE_PX and max_side < max(width, height):
            scale = max_side / max(width, height)
            img.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
            img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        image = ImageOps.exif_transpose(img)
        image.load()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise error(f"{name}: cannot read the image: {_first_line(exc)}") from exc
    return image


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


WIDTHS = (300, 600, 1200)  # a 300-px card at 1x and 2x, and Open Graph's recommended 1200 px
FORMATS = (("image/webp", "webp", {"quality": 80, "method": 6}), ("image/jpeg", "jpg", {"quality": 82}))
# Square PNG icons: the browser tab's favicon, and the touch icon iOS and Android put on a home screen.
ICONS = (32, 180)
ICON_TYPE = "image/png"


@dataclass(frozen=True)
class Rendition:
    key: str
    width: int
    height: int
    content_type: str
    data: bytes


@dataclass(frozen=True)
class CoverSet:
    """The original cover (for the feed) and its renditions (for the pages)."""

    original: str  # key of the original file
    width: int
    height: int
    renditions: tuple[Rendition, ...] = ()

    # Every page asks for the same renditions (srcset, og:image, icons): they are sorted out once
    # per cover, not once per page (5 % of rendering an archive's pages).
    @cached_property
    def _types(self) -> dict[str, tuple[Rendition, ...]]:
        types: dict[str, tuple[Rendition, ...]] = {}
        for r in self.renditions:
            types[r.content_type] = (*types.get(r.content_type, ()), r)
        return types

    @cached_property
    def _nearest(self) -> dict[tuple[int, str], Rendition | None]:
        return {}

    def of_type(self, content_type: str) -> tuple[Rendition, ...]:
        """The renditions of a type, in their order."""
        return self._types.get(content_type, ())

    def icon(self, size: int) -> Rendition | None:
        """The square PNG icon of `size` px (ICONS), if the cover was large enough for it."""
        return next((r for r in self.of_type(ICON_TYPE) if r.width == size), None)

    def nearest(self, width: int, content_type: str = "image/jpeg") -> Rendition | None:
        """The smallest rendition at least `width` wide (else the largest) of a type."""
        key = (width, content_type)
        if key not in self._nearest:
            options = sorted(self.of_type(content_type), key=lambda r: r.width)
            self._nearest[key] = next(
                (r for r in options if r.width >= width), options[-1] if options else None
            )
        return self._nearest[key]


def resize_cover(path: Path, original_key: str, cache: Path | None = None) -> CoverSet:
    """Renditions of the cover at `path`, keyed beside `original_key` (`cover-<hash>-600.webp`).

    `original_key` names the original's content (its sha256), so renditions kept in the `cache`
    folder by an earlier build are reused as they are: resizing costs a third of a second a cover.
    """
    if cache is not None:
        kept = _cached_renditions(path, original_key, cache)
        if kept is not None:
            return kept
    cover = _resize(path, original_key)
    if cache is not None:
        with contextlib.suppress(OSError):  # a cache: a full disk costs the next build a resize
            for r in cover.renditions:
                # signed (`cachekey`): a rendition committed with the project is not published
                name = _cache_name(r.key)
                write_atomic(cache / name, cachekey.sign(r.data, name=name), durable=False)
    return cover


def _cache_name(key: str) -> str:
    # The Pillow version is in the name: another encoder may give other bytes for the same cover.
    return f"pillow{PIL.__version__}-" + key.replace("/", "--")


def _cached_renditions(path: Path, original_key: str, cache: Path) -> CoverSet | None:
    try:
        with open_image(path, display_path(path)) as opened:  # reads the header only
            width, height = opened.size
            if _rotated(opened):  # as exif_transpose will turn it
                width, height = height, width
    except GrandirError:
        return None  # _resize reports it
    stem = original_key.rsplit(".", 1)[0]
    renditions = []
    for w in WIDTHS:
        if w > width:
            break
        h = round(height * w / width)
        for content_type, extension, _ in FORMATS:
            key = f"{stem}-{w}.{extension}"
            data = _cached(cache / _cache_name(key))
            if data is None:
                return None
            renditions.append(Rendition(key, w, h, content_type, data))
    for size in ICONS:
        if size > min(width, height):
            break
        key = _icon_key(stem, size)
        data = _cached(cache / _cache_name(key))
        if data is None:
            return None
        renditions.append(Rendition(key, size, size, ICON_TYPE, data))
    return CoverSet(original_key, width, height, tuple(renditions))


def _cached(file: Path) -> bytes | None:
    """A rendition the cache holds, if this user's runs wrote it under this name."""
    return cachekey.read_named(file, MAX_RENDITION_BYTES)


MAX_RENDITION_BYTES = 64 * 1024 * 1024  # far above a 1200 px JPEG; a file above it is made again


def _icon_key(stem: str, size: int) -> str:
    return f"{stem}-icon-{size}.png"


def _rotated(image: Image.Image) -> bool:
    """An EXIF orientation that swaps width and height (5 to 8)."""
    return image.getexif().get(0x0112, 1) in (5, 6, 7, 8)


def _resize(path: Path, original_key: str) -> CoverSet:
    name = display_path(path)
    with open_image(path, name) as opened:
        width, height = opened.size
        if _rotated(opened):
            width, height = height, width
        # a cover over 3000 px is decoded at reduced size: the largest rendition is 1200 px
        image = decode_reduced(opened, name, max(WIDTHS))
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")  # JPEG has no alpha; covers are opaque squares anyway
    stem = original_key.rsplit(".", 1)[0]
    renditions = []
    for w in WIDTHS:
        if w > width:
            break
        h = round(height * w / width)
        resized = image.resize((w, h), Image.Resampling.LANCZOS)
        for content_type, extension, options in FORMATS:
            out = io.BytesIO()
            resized.save(out, format=extension.replace("jpg", "jpeg").upper(), optimize=True, **options)
            renditions.append(Rendition(f"{stem}-{w}.{extension}", w, h, content_type, out.getvalue()))
    for size in ICONS:
        if size > min(image.width, image.height):
            break
        icon = ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)  # centre crop if not square
        out = io.BytesIO()
        icon.save(out, format="PNG", optimize=True)
        renditions.append(Rendition(_icon_key(stem, size), size, size, ICON_TYPE, out.getvalue()))
    return CoverSet(original_key, width, height, tuple(renditions))


def favicon_ico(cover: CoverSet) -> bytes | None:
    """`favicon.ico` (16, 32 and 48 px) from the cover's largest icon, for the browsers and tools
    that ask for /favicon.ico whatever the page says; None when the cover has no icon."""
    icons = cover.of_type(ICON_TYPE)
    if not icons:
        return None
    # Pillow knows how to write ICO once its plugin is imported; asked for a format it does not
    # know yet, it imports all of its forty plugins (4 MiB and 40 ms of every build)
    from PIL import IcoImagePlugin  # noqa: F401

    with Image.open(io.BytesIO(icons[-1].data)) as source:
        out = io.BytesIO()
        source.convert("RGB").save(out, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return out.getvalue()
