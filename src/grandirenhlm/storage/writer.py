"""The writer process of `storage.local.EarlyWriter`: pages handed over a pipe as they are rendered,
each written as a new file of a staging folder by `files.write_new` (the file a build writes itself;
one a killed rendering helper's child left at that name is replaced).

The build sends `frame(key, data)` for each page; the process reads them from its standard input
until it ends, and answers the first failure on its standard output as "key NUL reason", then
stops. It imports nothing of the package but `files` (standard library only): it starts in a few
tens of milliseconds, isolated from the user's environment (`python -I -S`, the package's folder
put first on its path by `command`).
"""

from __future__ import annotations

import os
import signal
import struct
import sys
from pathlib import Path
from typing import BinaryIO

_HEAD = struct.Struct("!II")  # key length, data length


def frame(key: str, data: bytes) -> bytes:
    """What the build writes for one page, before `data` itself."""
    name = key.encode("utf-8", "surrogateescape")
    return _HEAD.pack(len(name), len(data)) + name


def command(root: Path) -> list[str]:
    """The process's command line for the staging folder `root`."""
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (
        f"import sys; sys.path.insert(0, {package!r}); from grandirenhlm.storage.writer import main; main()"
    )
    return [sys.executable, "-I", "-S", "-c", code, str(root)]


def serve(root: Path, source: BinaryIO, answer: BinaryIO) -> bool:
    """Write every page framed on `source` under `root`; False after answering the first failure."""
    from grandirenhlm.files import write_new

    while len(head := source.read(_HEAD.size)) == _HEAD.size:
        key_length, data_length = _HEAD.unpack(head)
        key = source.read(key_length).decode("utf-8", "surrogateescape")
        data = source.read(data_length)
        try:
            write_new(root.joinpath(*key.split("/")), data, replace=True)
        except OSError as exc:
            answer.write(f"{key}\0{exc.strerror or exc}\n".encode("utf-8", "surrogateescape"))
            answer.flush()
            return False
    return True


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the build, which then stops this
    ok = serve(Path(sys.argv[1]), sys.stdin.buffer, sys.stdout.buffer)
    os._exit(0 if ok else 1)
