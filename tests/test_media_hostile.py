"""Hostile and damaged input: every case gives one clean error naming the file, never a traceback or
a hang, and `ingest` writes nothing for it.

The fuzz test mutates real files a few hundred times (truncations, bit flips, random tag sizes) and
asserts that `probe` either returns sane facts or raises `MediaError`; SIGALRM bounds the time per file.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from grandirenhlm.errors import MediaError
from grandirenhlm.media import probe
from tests.support import FFMPEG, assert_clean_error, make_mp3, make_mp4, make_wav, run_cli


def ffmpeg(*args: str | Path) -> Path:
    subprocess.run([FFMPEG, "-y", "-v", "error", *map(str, args)], check=True)
    return Path(args[-1])


def cut(path: Path, out: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real, valid files of every format, 3 s each."""
    d = tmp_path_factory.mktemp("originals")
    src = ["-f", "lavfi", "-i", "sine=duration=3"]
    return {
        "mp3-xing": ffmpeg(*src, "-c:a", "libmp3lame", "-q:a", "4", d / "xing.mp3"),
        "mp3-cbr": make_mp3(d / "cbr.mp3", seconds=3, title="Titre", cover=_jpeg()),
        "m4a": make_mp4(d / "a.m4a", seconds=3, video=False),
        "mp4": make_mp4(d / "v.mp4", seconds=3),
        "ogg": ffmpeg(*src, "-c:a", "libvorbis", d / "a.ogg"),
        "opus": ffmpeg(*src, "-c:a", "libopus", d / "a.opus"),
        "flac": ffmpeg(*src, "-c:a", "flac", d / "a.flac"),
        "wav": ffmpeg(*src, "-metadata", "title=Titre", d / "a.wav"),
        "aiff": ffmpeg(*src, "-c:a", "pcm_s16be", d / "a.aiff"),
    }


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buf, "JPEG")
    return buf.getvalue()


def expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(MediaError) as caught:
        probe(path)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# ---------------------------------------------------------------- named cases


def test_text_file_named_mp3(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_text("Ceci n’est pas un MP3.\n" * 40, encoding="utf-8")
    message = expect_error(path, "notes.mp3: ")
    assert message.startswith(str(path)) and (
        "can't sync to MPEG frame" in message or "not a media file" in message
    )


def test_absurd_id3_size(originals: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "absurd.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + originals["mp3-xing"].read_bytes())
    expect_error(path, "absurd.mp3: damaged ID3 tag: its header declares 268435455 bytes, the file has")


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("mp3-xing", "truncated file: the MP3 header announces"),
        ("m4a", "truncated file: its mdat section ends"),
        ("mp4", "truncated file: its mdat section ends"),
        ("ogg", "truncated file: the Ogg stream has no end-of-stream page"),
        ("opus", "truncated file: the Ogg stream has no end-of-stream page"),
        ("flac", "truncated file: STREAMINFO announces 3.0 s of audio, its last frame ends at 1."),
        ("wav", "truncated file: its data section ends"),
        ("aiff", "truncated file: its SSND section ends"),
    ],
)
def test_truncated_files(originals: dict[str, Path], tmp_path: Path, kind: str, reason: str) -> None:
    original = originals[kind]
    path = cut(original, tmp_path / f"cut{original.suffix}")
    expect_error(path, f"cut{original.suffix}: {reason}")


def test_mp4_cut_before_its_moov_box(tmp_path: Path) -> None:
    path = tmp_path / "no-moov.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=3", "-c:a", "aac", path)  # moov written at the end
    expect_error(cut(path, tmp_path / "cut.m4a"), "cut.m4a: unreadable media file: ")


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp3"
    os.mkfifo(fifo)
    with time_limit(5):
        expect_error(fifo, "pipe.mp3: not a regular file")


def test_unreadable_file(tmp_path: Path) -> None:
    """Permission denied, for real: as root, probe runs in a child that drops to user `nobody`."""
    folder = tmp_path / "shared"
    folder.mkdir()
    for level in (folder, *folder.parents):  # user nobody must reach the file to be refused by it
        if level == Path("/"):
            break
        level.chmod(level.stat().st_mode | 0o055)
    path = folder / "secret.mp3"
    make_mp3(path)
    path.chmod(0)
    if os.geteuid() != 0:
        expect_error(path, "secret.mp3: permission denied")
        return
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, probe, report the message through the pipe
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                probe(path)
                result = "no error"
            except MediaError as exc:
                result = str(exc)
        except BaseException as exc:  # anything else is reported to the parent as a failure
            result = f"unexpected {type(exc).__name__}: {exc}"
        os.write(write, result.encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    message = os.read(read, 4096).decode()
    assert message.endswith("secret.mp3: permission denied"), message


def test_directory_named_like_a_file(tmp_path: Path) -> None:
    (tmp_path / "dossier.mp3").mkdir()
    expect_error(tmp_path / "dossier.mp3", "dossier.mp3: is a directory")


def test_inspect_reports_every_bad_file_and_still_prints_the_good_ones(
    originals: dict[str, Path], tmp_path: Path
) -> None:
    bad_text = tmp_path / "texte.mp3"
    bad_text.write_text("pas de son", encoding="utf-8")
    truncated = cut(originals["m4a"], tmp_path / "coupe.m4a")
    result = run_cli(
        None,
        "inspect",
        "--jsonl",
        str(originals["mp3-cbr"]),
        str(bad_text),
        str(truncated),
        str(originals["flac"]),
    )
    assert_clean_error(result, "texte.mp3: ", "coupe.m4a: truncated file")
    assert len(result.stderr.strip().splitlines()) == 2
    assert len(result.stdout.strip().splitlines()) == 2  # the two good files


def test_ingest_of_a_folder_with_hostile_files_writes_only_the_good_records(
    project: Path, originals: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "01-bon.mp3").write_bytes(originals["mp3-cbr"].read_bytes())
    (folder / "02-texte.mp3").write_text("pas de son", encoding="utf-8")
    cut(originals["m4a"], folder / "03-coupe.m4a")
    (folder / "04-absurde.mp3").write_bytes(
        b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + originals["mp3-cbr"].read_bytes()
    )
    (folder / "05-vide.mp3").write_bytes(b"")
    (folder / "06-bon.m4a").write_bytes(originals["m4a"].read_bytes())
    make_wav(folder / "07-maitre.wav")  # a good master: encoded since issue 8 (tests/test_encode.py)
    result = run_cli(project, "ingest", "--show", "grandir-en-hlm", "--quiet", str(folder))
    assert_clean_error(
        result,
        "02-texte.mp3",
        "03-coupe.m4a: truncated file",
        "04-absurde.mp3: damaged ID3 tag",
        "05-vide.mp3: empty file",
        "error: 4 of 7 file(s) not ingested",
    )
    assert "07-maitre.wav" not in result.stderr
    records = sorted(p.name for p in (project / "episodes" / "grandir-en-hlm").glob("*.toml"))
    assert records == ["06-bon.toml", "07-maitre.toml", "titre.toml"]  # 01-bon.mp3 is tagged "Titre"
    stored = sorted(p.suffix for p in (project / "media" / "grandir-en-hlm").iterdir())
    assert stored == [".m4a", ".mp3", ".mp3"]  # the WAV itself never reaches the media store
    assert not list(project.rglob("*.tmp*")), "no temporary file left behind"


# ---------------------------------------------------------------- fuzzing


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def mutate(data: bytes, rng: random.Random) -> bytes:
    kind = rng.choice(["truncate", "flip", "flips", "tag-size", "splice", "zero-run"])
    buf = bytearray(data)
    if kind == "truncate":
        return bytes(buf[: rng.randrange(1, len(buf))])
    if kind == "flip":
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
    elif kind == "flips":
        for _ in range(rng.randrange(2, 40)):
            buf[rng.randrange(min(len(buf), 4096))] = rng.randrange(256)  # mostly headers and tags
    elif kind == "tag-size":
        # overwrite a 4-byte size field at a box/chunk/tag boundary with a random, often absurd, value
        candidates = [
            i
            for i in range(0, min(len(buf), 8192) - 8)
            if buf[i + 4 : i + 8].isalpha() or buf[i : i + 3] == b"ID3"
        ]
        i = rng.choice(candidates) if candidates else rng.randrange(len(buf) - 4)
        if buf[i : i + 3] == b"ID3":
            i += 6
        buf[i : i + 4] = rng.choice([0, 1, 7, 0x7F7F7F7F, 0xFFFFFFFF, rng.randrange(1 << 32)]).to_bytes(
            4, "big"
        )
    elif kind == "splice":
        i, j = sorted(rng.sample(range(len(buf)), 2))
        return bytes(buf[:i] + buf[j:])
    else:
        i = rng.randrange(len(buf))
        buf[i : i + rng.randrange(1, 512)] = bytes(min(512, len(buf) - i))
    return bytes(buf)


FUZZ_ROUNDS = int(os.environ.get("GRANDIRENHLM_FUZZ_ROUNDS", "50"))


@pytest.mark.parametrize("kind", ["mp3-xing", "mp3-cbr", "m4a", "mp4", "ogg", "opus", "flac", "wav", "aiff"])
def test_fuzzed_files_give_a_result_or_a_clean_error(
    originals: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    rng = random.Random(f"grandirenhlm-{kind}")
    data = originals[kind].read_bytes()
    path = tmp_path / f"fuzz{originals[kind].suffix}"
    outcomes = {"result": 0, "error": 0}
    original = probe(originals[kind])
    shorter = 0  # valid results that lost audio: the mutations reached the stream, not only tags
    for round_ in range(FUZZ_ROUNDS):
        mutated = mutate(data, rng)
        path.write_bytes(mutated)
        try:
            with time_limit(10):
                info = probe(path)
        except MediaError as exc:
            message = str(exc)
            assert message.startswith(str(path) + ": ") and "\n" not in message, message
            outcomes["error"] += 1
            continue
        except Exception as exc:  # the point of the test: keep the input that broke probe
            crash = tmp_path.parent / f"crash-{kind}-{round_}{path.suffix}"
            crash.write_bytes(mutated)
            raise AssertionError(
                f"round {round_}: {type(exc).__name__}: {exc} (input kept in {crash})"
            ) from exc
        assert info.size == len(mutated)
        assert 0 < info.duration_seconds < 3600, info.duration_seconds
        assert all(
            0 <= c.start_seconds <= c.end_seconds <= info.duration_seconds + 0.001 for c in info.chapters
        )
        outcomes["result"] += 1
        shorter += info.duration_seconds < original.duration_seconds - 0.05
    assert outcomes["result"] > 0, outcomes
    if kind == "mp3-cbr":
        # a bare MPEG stream resynchronises after any damage: every mutation leaves a playable file
        assert outcomes["error"] == 0 and shorter > 0, (outcomes, shorter)
    else:
        assert outcomes["error"] > 0, outcomes  # the mutations reach both outcomes


if __name__ == "__main__":  # pragma: no cover - a longer fuzzing session: GRANDIRENHLM_FUZZ_ROUNDS=2000
    sys.exit(pytest.main([__file__, "-k", "fuzz", "-q"]))
