#!/usr/bin/env python3
"""Make the demo shows' masters reproducibly, then publish them through `ingest`: `python scripts/make_demo_media.py`.

What it makes (the repository keeps the masters and the results; rerunning gives the same bytes on
the same tool versions):
- `feeds/art/<show>.jpg`: square 1400 px RGB JPEG cover art, drawn with Pillow;
- `masters/grandir-en-hlm/temoignage-N.flac`: the six "Grandir en Hlm" masters, French speech from
  espeak-ng (a synthetic voice presenting the series; the real testimonials are not ours to ship),
  lossless, untagged, at the level the synthesiser gives (about -22 LUFS, under the target);
- the replay of "l'Émission": an MP4 with H.264 video (the cover) and AAC audio (speech), tagged.
Then the project's own commands turn them into the published files, as a producer would:
`grandirenhlm ingest --force --show grandir-en-hlm masters/grandir-en-hlm` encodes each master with
the show's `[encoding]` settings (MP3, mono 64k, normalised to -19 LUFS), tags it from its record
and stores it under its hash; `grandirenhlm ingest --force --show l-emission --slug replay-2023
REPLAY.mp4` keeps the video and derives its audio-only M4A and poster. `--force` keeps every
episode's GUID and texts and only updates `[media]`, `[master]`, `[[alternate]]` and `poster`.
`make demo` reruns the first command: with masters and records unchanged it changes nothing.

`python scripts/make_demo_media.py --covers` redraws the cover art alone.

Needs espeak-ng and fonts-dejavu-core (Debian packages).
Texts use only facts from ../shared/source/semaine-innovation-hlm-2023.txt.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
from mutagen.mp4 import MP4, MP4Cover
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
AUTHOR = "Union sociale pour l'habitat"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
COPYRIGHT = "© 2023 Union sociale pour l'habitat"

SERIES_INTRO = (
    "Cette série réunit six témoignages sur l'enfance en logement social. Elle a été publiée "
    "à l'occasion de la dixième Semaine de l'innovation Hlm, organisée du 17 au 25 juin 2023 "
    "par l'Union sociale pour l'habitat, sur le thème Enfance et Hlm."
)
DEMO_NOTE = (
    "Ceci est un enregistrement de démonstration lu par une voix de synthèse. "
    "Les témoignages originaux sont disponibles sur toutes les plateformes d'écoute de podcast."
)


@dataclass(frozen=True)
class Part:
    title: str  # chapter title
    speech: str


def testimonial_parts(n: int) -> list[Part]:
    return [
        Part("Présentation", f"Grandir en Hlm. Témoignage numéro {n} sur six."),
        Part("La série", SERIES_INTRO),
        Part("À propos de cet enregistrement", DEMO_NOTE),
    ]


REPLAY_PARTS = [
    Part("Ouverture", "L'Émission, clôture de la Semaine de l'innovation Hlm 2023."),
    Part(
        "Le thème",
        "Diffusée en ligne, l'émission a réuni un plateau d'experts pour approfondir le sujet "
        "de l'enfance et des Hlm. Pendant la Semaine, près de deux cents événements ont été "
        "organisés partout en France.",
    ),
    Part(
        "Hlm sur cour(t)",
        "La Semaine accueillait aussi la dixième édition du concours de courts métrages "
        "Hlm sur court, sur le même thème.",
    ),
    Part(
        "À propos de cet enregistrement",
        DEMO_NOTE.replace("Les témoignages originaux sont", "Le replay original est"),
    ),
]


def run(args: list[str]) -> None:
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_cover(path: Path, title: str, subtitle: str, colour: tuple[int, int, int]) -> None:
    size = 1400
    img = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(img)
    for i in range(0, size, 100):  # a quiet pattern of windows, like a housing block
        for j in range(600, size - 120, 100):
            draw.rectangle([i + 25, j + 20, i + 75, j + 70], fill=tuple(min(255, c + 40) for c in colour))
    # Text keeps a margin: from x = 100 to at most 120 px from the right edge (apps round the corners
    # and crop), each line in the largest size up to its own that fits. DejaVu (Debian's
    # fonts-dejavu-core) has é and É; Pillow's built-in font does not.
    right = size - COVER_MARGIN
    draw.text((100, 150), title, font=_fitting_font(draw, title, 150, right - 100), fill="white")
    draw.text((100, 380), subtitle, font=_fitting_font(draw, subtitle, 60, right - 100), fill="white")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=85, optimize=True)


COVER_MARGIN = 120


def _fitting_font(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans Bold at `size`, or the largest smaller size whose `text` is at most `width` wide."""
    while True:
        font = ImageFont.truetype(FONT, size=size)
        if draw.textlength(text, font=font) <= width or size <= 10:
            return font
        size -= 2


def make_covers() -> tuple[Path, Path]:
    art = ROOT / "feeds" / "art"
    grandir_cover, emission_cover = art / "grandir-en-hlm.jpg", art / "l-emission.jpg"
    make_cover(grandir_cover, "Grandir en Hlm", "Six témoignages sur l’enfance en Hlm", (0, 82, 156))
    make_cover(emission_cover, "l’Émission", "Semaine de l’innovation Hlm 2023", (29, 53, 87))
    return grandir_cover, emission_cover


def speak(parts: list[Part], tmp: Path, stem: str) -> tuple[Path, list[float]]:
    """One WAV master of all parts (with a pause between them) and each part's start time."""
    wavs, starts, position = [], [], 0.0
    for i, part in enumerate(parts):
        wav = tmp / f"{stem}-{i}.wav"
        run(["espeak-ng", "-v", "fr-fr", "-s", "150", "-w", str(wav), part.speech])
        starts.append(position)
        position += _duration(wav) + 0.8
        wavs.append(wav)
    listing = tmp / f"{stem}.txt"
    silence = tmp / "silence.wav"
    if not silence.exists():
        run(
            [
                FFMPEG,
                "-y",
                "-f",
                "lavfi",
                "-i",
                "anullsrc=r=22050:cl=mono",
                "-t",
                "0.8",
                "-c:a",
                "pcm_s16le",
                str(silence),
            ]
        )
    listing.write_text("".join(f"file '{w}'\nfile '{silence}'\n" for w in wavs))
    master = tmp / f"{stem}.wav"
    run([FFMPEG, "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c:a", "pcm_s16le", str(master)])
    return master, starts


def _duration(wav: Path) -> float:
    import wave

    with wave.open(str(wav)) as w:
        return w.getnframes() / w.getframerate()


def write_master(wav: Path, out: Path) -> None:
    """The studio's master: lossless FLAC of the speech, no tags (ingest writes them from the record)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    run(
        [FFMPEG, "-y", "-i", str(wav), "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
         "-c:a", "flac", "-compression_level", "12", str(out)]
    )  # fmt: skip


def make_video(master: Path, cover: Path, out: Path) -> None:
    # -t on the looped image: with -shortest alone, x264's lookahead makes the video track (and the
    # movie) twice as long as the audio, and browsers show the longer duration.
    run(
        [
            FFMPEG,
            "-y",
            "-loop",
            "1",
            "-framerate",
            "2",
            "-t",
            f"{_duration(master):.3f}",
            "-i",
            str(cover),
            "-i",
            str(master),
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-flags",
            "+bitexact",
            "-vf",
            "scale=640:640,pad=1138:640:(ow-iw)/2:0:color=0x1d3557,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "veryslow",
            "-tune",
            "stillimage",
            "-crf",
            "30",
            "-threads",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-ar",
            "44100",
            "-ac",
            "1",
            "-shortest",
            "-movflags",
            "+faststart",
            str(out),
        ]
    )


def tag_mp4(path: Path, title: str, album: str, date: str, comment: str, cover: Path) -> None:
    mp4 = MP4(path)
    mp4["\xa9nam"] = [title]
    mp4["\xa9ART"] = [AUTHOR]
    mp4["\xa9alb"] = [album]
    mp4["\xa9day"] = [date]
    mp4["\xa9cmt"] = [comment]
    mp4["cprt"] = [COPYRIGHT]
    mp4["covr"] = [MP4Cover(cover.read_bytes(), imageformat=MP4Cover.FORMAT_JPEG)]
    mp4.save()


def ingest(show: str, *args: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grandirenhlm",
            "--project",
            str(ROOT),
            "ingest",
            "--force",
            "--show",
            show,
            *args,
        ],
        check=True,
    )


def prune_media() -> None:
    """Remove the media files no record points at any more (what a corrected master replaced)."""
    import tomllib

    used = set()
    for record in (ROOT / "episodes").glob("*/*.toml"):
        data = tomllib.loads(record.read_text(encoding="utf-8"))
        files = [data.get("media", {}).get("file"), data.get("poster")]
        files += [a.get("file") for a in data.get("alternate", [])]
        used |= {(record.parent / f).resolve() for f in files if f}
    for path in sorted((ROOT / "media").glob("*/*")):
        if path.resolve() not in used:
            print(f"removed {path.relative_to(ROOT)}")
            path.unlink()


def main() -> None:
    if not Path(FONT).is_file():
        sys.exit(f"error: {FONT}: not installed (Debian: apt-get install fonts-dejavu-core)")
    if sys.argv[1:] == ["--covers"]:  # redraw the cover art only; media and records stay as they are
        make_covers()
        return
    if shutil.which("espeak-ng") is None:
        sys.exit("error: espeak-ng: not installed (Debian: apt-get install espeak-ng)")
    _, emission_cover = make_covers()
    masters = ROOT / "masters" / "grandir-en-hlm"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for n in range(1, 7):
            wav, _ = speak(testimonial_parts(n), tmp, f"temoignage-{n}")
            write_master(wav, masters / f"temoignage-{n}.flac")
        # One command for the six: encoded in parallel, tagged from their records, normalised.
        ingest("grandir-en-hlm", str(masters))
        master, _ = speak(REPLAY_PARTS, tmp, "replay")
        mp4 = tmp / "l-emission-replay.mp4"
        make_video(master, emission_cover, mp4)
        tag_mp4(
            mp4,
            "l’Émission – le replay",
            "l’Émission",
            "2023-07-03T10:00:00",
            "Le replay de l’émission de clôture de la Semaine de l’innovation Hlm 2023.",
            emission_cover,
        )
        ingest("l-emission", "--slug", "replay-2023", str(mp4))
    prune_media()


if __name__ == "__main__":
    main()
