"""What `publish` shows while it runs: bars on a terminal, one line per object otherwise.

- a terminal (stderr is a TTY): two tqdm bars, files and bytes; notes printed above them;
- anything else (a pipe, a CI log): `PUT key (N bytes)` lines, which grep and diff well;
- `--quiet`: nothing but errors.
Everything goes to stderr, so that `--json` and `--dry-run` keep stdout for their output.
"""

from __future__ import annotations

import shutil
import sys
import threading
from typing import TextIO


class Reporter:
    """The line-per-object reporter; the base of the others."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream

    def _out(self) -> TextIO:
        return self.stream or sys.stderr  # looked up late: click's test runner swaps sys.stderr

    def log(self, line: str) -> None:
        print(line, file=self._out(), flush=True)

    def start(self, files: int, total_bytes: int) -> None:
        if files:
            self.log(f"uploading {files} object(s), {total_bytes} bytes")

    def put_done(self, key: str, size: int) -> None:
        self.log(f"PUT {key} ({size} bytes)")

    def bytes_sent(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


class QuietReporter(Reporter):
    def log(self, line: str) -> None:
        pass


class BarReporter(Reporter):
    """tqdm bars for files and bytes; bytes move per chunk on S3 (big files show progress)."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__(stream)
        self.files = self.bytes = None
        self._lock = threading.Lock()  # the transfer manager reports from its worker threads

    def log(self, line: str) -> None:
        from tqdm import tqdm

        tqdm.write(line, file=self._out())

    def start(self, files: int, total_bytes: int) -> None:
        from tqdm import tqdm

        if not files:
            return
        # A terminal that reports no size (a fresh pty, some CI consoles) makes tqdm draw nothing
        # at all: fall back to 80x24.
        size = shutil.get_terminal_size((80, 24))
        common = {"file": self._out(), "ncols": size.columns or 80, "nrows": size.lines or 24}
        self.files = tqdm(total=files, desc="files", unit="file", position=0, **common)
        self.bytes = tqdm(
            total=total_bytes, desc="bytes", unit="B", unit_scale=True, unit_divisor=1024, position=1,
            **common,
        )  # fmt: skip

    def put_done(self, key: str, size: int) -> None:
        if self.files is not None:
            with self._lock:
                self.files.update(1)

    def bytes_sent(self, count: int) -> None:
        if self.bytes is not None:
            with self._lock:
                self.bytes.update(count)

    def close(self) -> None:
        for bar in (self.bytes, self.files):
            if bar is not None:
                bar.close()


def make_reporter(quiet: bool = False, stream: TextIO | None = None) -> Reporter:
    """Bars on a terminal, lines elsewhere, nothing with `quiet`."""
    if quiet:
        return QuietReporter(stream)
    out = stream or sys.stderr
    if out.isatty():
        return BarReporter(stream)
    return Reporter(stream)
