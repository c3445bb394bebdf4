"""Finding and running ffmpeg: argument lists only (never a shell string), progress read from
`-progress pipe:1`, and every failure turned into one line that names the file.

The binary comes, in this order, from `GRANDIRENHLM_FFMPEG` (a path), the imageio-ffmpeg wheel (a
static ffmpeg installed by pip, a runtime dependency) or an `ffmpeg` on PATH (Debian's package).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence

from grandirenhlm.errors import EncodeInterrupted, MediaError

ENV_VAR = "GRANDIRENHLM_FFMPEG"
# What ffmpeg prints when the output cannot be written: the disk, not the master, is the problem.
WRITE_FAILURES = ("No space left on device", "File too large", "Disk quota exceeded", "Read-only file system")


# Set by the batch runner on Ctrl-C: every running ffmpeg is stopped at its next progress report.
CANCEL = threading.Event()


def ffmpeg_exe() -> str:
    """Path of an ffmpeg binary, or a one-line `MediaError` saying how to install one."""
    override = os.environ.get(ENV_VAR)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise MediaError(f"{ENV_VAR}: {override}: no such executable file (ffmpeg)")
        return override
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise MediaError(
        "ffmpeg: not found; install it with `pip install imageio-ffmpeg` or `apt-get install ffmpeg`, "
        f"or set {ENV_VAR} to its path"
    )


def run_ffmpeg(
    args: Sequence[str],
    *,
    name: str,
    output: str | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> str:
    """Run `ffmpeg ARGS` and return what it printed on stderr.

    `name` is the input as the user knows it (for messages), `output` the file being written (a
    write failure names it). `on_progress(seconds)` gets the position reached in the audio.
    Raises `MediaError` on failure and `EncodeInterrupted` on Ctrl-C or `CANCEL`, after stopping
    ffmpeg; the caller removes its temporary output.
    """
    exe = ffmpeg_exe()
    cmd = [exe, "-hide_banner", "-nostdin", "-nostats", "-progress", "pipe:1", *args]
    # stderr goes to a file, not a pipe: a pipe nobody reads while we read progress could fill up
    # and stall ffmpeg. restore_signals=False keeps Python's ignored SIGXFSZ, so a file size limit
    # gives ffmpeg a clean "File too large" error instead of killing it.
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, restore_signals=False
            )
        except OSError as exc:
            raise MediaError(f"ffmpeg: cannot run {exe}: {exc.strerror}") from exc
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                if CANCEL.is_set():
                    raise KeyboardInterrupt
                if on_progress and raw.startswith(b"out_time_us="):
                    value = raw.partition(b"=")[2].strip()
                    if value.lstrip(b"-").isdigit() and int(value) >= 0:
                        on_progress(int(value) / 1e6)
            code = proc.wait()
        except KeyboardInterrupt as exc:
            _stop(proc)
            raise EncodeInterrupted(f"{name}: interrupted; nothing was written to the media store") from exc
        except BaseException:
            _stop(proc)
            raise
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    if code != 0:
        raise MediaError(describe_failure(text, code, name=name, output=output))
    return text


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def describe_failure(stderr: str, code: int, *, name: str, output: str | None) -> str:
    """One line for a failed ffmpeg run: a write failure names the output, anything else the input."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for reason in WRITE_FAILURES:
        if reason in stderr:
            return f"{name}: cannot write the encoded file to {output or 'its folder'}: {reason}"
    last = lines[-1] if lines else f"ffmpeg exited with status {code}"
    if code < 0:
        last = f"ffmpeg was killed by signal {-code}"
    return f"{name}: ffmpeg cannot decode or encode it: {last}"
