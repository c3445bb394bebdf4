"""Problems a user can fix. Anything else raised is a bug and keeps its traceback."""

from __future__ import annotations

from collections.abc import Iterable


class GrandirError(Exception):
    """A problem the user can fix; its message names the file or setting and what is wrong."""


class ConfigError(GrandirError):
    """A show definition, episode record or configuration value is wrong."""


class MediaError(GrandirError):
    """A media file is missing, unreadable or not a media file we understand."""


class StorageError(GrandirError):
    """A publish target is misconfigured, unreachable or refused an operation."""


class EncodeInterrupted(GrandirError):
    """Ctrl-C (or a cancel) during an encode: the files being written were removed."""


class ValidationError(ConfigError):
    """Several problems found at once; the message lists every one, one per line."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class Terminated(KeyboardInterrupt):
    """SIGTERM (how CI cancels a job, how `kill` stops a process), handled like Ctrl-C: what was
    done is recorded, locks are released, temporary files removed."""


def interrupt_exit_code(exc: BaseException) -> int:
    """128 + the signal number, as shells report it: 143 for SIGTERM, 130 for Ctrl-C."""
    return 143 if isinstance(exc, Terminated) else 130
