#!/usr/bin/env python3
"""The demo's transcripts, made from its media: `python scripts/make_demo_extras.py` (after make_demo_media.py).

(The replay's audio-only rendition and poster are made by `grandirenhlm ingest` itself, from the MP4.)

The WebVTT transcripts of every demo episode, from what their audio actually says. The spoken text is
the one `make_demo_media.py` gives espeak-ng, one cue per sentence; each cue's timing is the
stretch of speech between two pauses that ffmpeg's `silencedetect` finds in the published media.
The script stops if the number of sentences and of speech stretches differ, rather than guess.
The voice is named for what it is: « Voix de synthèse ».
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "src"))

from make_demo_media import REPLAY_PARTS, Part, testimonial_parts  # noqa: E402

from grandirenhlm.transcripts import Cue, Transcript, to_vtt  # noqa: E402

VOICE = "Voix de synthèse"
SILENCE = re.compile(r"silence_(start|end): ([0-9.]+)")


def speech_stretches(media: Path) -> list[tuple[float, float]]:
    """(start, end) of each stretch of speech: the gaps between silences of 0.25 s or more."""
    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(media), "-af",
         "silencedetect=noise=-35dB:d=0.25", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    marks = [(kind, float(value)) for kind, value in SILENCE.findall(out)]
    stretches, start = [], 0.0
    for kind, value in marks:
        if kind == "start":
            stretches.append((start, value))
        else:
            start = value
    return stretches


def sentences(parts: list[Part]) -> list[str]:
    """Each sentence as written French: typographic apostrophes, and the replay note's agreement
    (« est disponibles » in make_demo_media.py sounds the same as the correct « est disponible »)."""
    said = [s for p in parts for s in re.split(r"(?<=\.)\s+", p.speech) if s]
    return [s.replace("'", "’").replace("est disponibles", "est disponible") for s in said]


def write(media: Path, parts: list[Part], out: Path) -> None:
    said = sentences(parts)
    stretches = speech_stretches(media)
    if len(said) != len(stretches):
        sys.exit(f"error: {media}: {len(stretches)} stretches of speech for {len(said)} sentences")
    cues = tuple(
        Cue(round(start, 3), round(end, 3), VOICE, text)
        for (start, end), text in zip(stretches, said, strict=True)
    )
    out.write_text(to_vtt(Transcript(cues, "fr")), encoding="utf-8")
    print(out.relative_to(ROOT))


def main() -> None:
    for n in range(1, 7):
        (media,) = (ROOT / "media" / "grandir-en-hlm").glob(f"temoignage-{n}-*.mp3")
        write(media, testimonial_parts(n), ROOT / "episodes" / "grandir-en-hlm" / f"temoignage-{n}.vtt")
    (media,) = (ROOT / "media" / "l-emission").glob("replay-2023-*.mp4")
    write(media, REPLAY_PARTS, ROOT / "episodes" / "l-emission" / "replay-2023.vtt")


if __name__ == "__main__":
    main()
