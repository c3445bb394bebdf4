"""Media files: `probe(path) -> MediaInfo`, `to_json` for `inspect`, and every format it reads.

    types.py    every media (MIME) type and suffix the project reads or serves, declared once
    formats.py  the table: one `Format` per format (sniffing, container, codec, type, readers)
    probing.py  `probe` and `to_json`: the steps every file goes through, whatever its format
    source.py   the file being probed (`Source`) and what is read from it (`Reading`)
    artwork.py  embedded cover art and Apple's artwork rules
    mp3.py, mp4.py, riff.py, flac.py, ogg.py   one reader per container, with the parsers mpeg.py
                                               (MPEG frames, ID3v2 header) and chunks.py (RIFF/IFF/MP4)
    id3.py, vorbis.py                          the tag kinds several containers share
    comments.py                                which comment a person wrote (not iTunes' data)

The public names below are loaded on first use: `model` imports `media.types`, and `probing` needs
`model`, so importing this package must not import `probing` (nor mutagen, for the commands that
never read a media file).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grandirenhlm.media.artwork import artwork_problems
    from grandirenhlm.media.id3 import repair_latin1
    from grandirenhlm.media.probing import TAG_KEYS, probe, to_json

__all__ = ["TAG_KEYS", "artwork_problems", "probe", "repair_latin1", "to_json"]

_HOMES = {
    "TAG_KEYS": "probing",
    "probe": "probing",
    "to_json": "probing",
    "artwork_problems": "artwork",
    "repair_latin1": "id3",
}


def __getattr__(name: str) -> Any:
    """`from grandirenhlm.media import probe` loads `probing` then (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # found directly from now on
    return value
