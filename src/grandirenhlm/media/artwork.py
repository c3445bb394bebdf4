"""Embedded cover art: read with Pillow, checked against Apple Podcasts' artwork rules."""

from __future__ import annotations

import io

from grandirenhlm.errors import MediaError
from grandirenhlm.model import Cover


def read_cover(data: bytes | None, warnings: list[str], name: object = "") -> Cover | None:
    """The cover a format's reader found (`data`), or None; problems are added to `warnings`.

    Only the image's header is read. One over the pixel budget (`images.MAX_IMAGE_PIXELS`) is a
    decompression bomb waiting for whatever decodes it next: the file is refused (`MediaError`)."""
    if data is None:
        return None
    # only files with a cover pay for Pillow's import
    from PIL import Image

    from grandirenhlm.images import open_image

    try:
        with open_image(io.BytesIO(data), f"{name}: embedded cover art", MediaError) as img:
            cover = Cover(
                mime_type=Image.MIME.get(img.format, "image/unknown"), width=img.width, height=img.height
            )
            mode = img.mode
    except MediaError as exc:
        if "image too large" in str(exc):
            raise
        warnings.append("embedded cover art is not a readable image")
        return None
    warnings.extend(f"embedded cover art: {p}" for p in artwork_problems(cover, mode))
    return cover


def artwork_problems(cover: Cover, mode: str) -> list[str]:
    """Apple Podcasts' artwork rules: square JPEG or PNG, 1400-3000 px, RGB without alpha."""
    problems = []
    if cover.width != cover.height:
        problems.append(f"{cover.width}x{cover.height} is not square")
    if not min(cover.width, cover.height) >= 1400 or max(cover.width, cover.height) > 3000:
        problems.append(f"{cover.width}x{cover.height} px, Apple wants 1400 to 3000 px")
    if cover.mime_type not in ("image/jpeg", "image/png"):
        problems.append(f"{cover.mime_type}, Apple wants JPEG or PNG")
    if mode not in ("RGB",):
        problems.append(f"colour mode {mode}, Apple wants RGB without alpha")
    return problems
