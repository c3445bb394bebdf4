"""What `import` is asked to do and what it reports: the values the command line and `site` pass
around, kept apart from the importer so that loading them loads neither lxml nor Pillow (every
command imports `site`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from grandirenhlm.importing.fetch import Limits


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    owner_confirmed: bool = False
    jobs: int = 4  # downloads at once
    limits: Limits = field(default_factory=Limits)


@dataclass
class Mismatch:
    slug: str
    what: str  # "length", "type", "duration"
    declared: str
    real: str


@dataclass
class ImportReport:
    """What an import did (or, with --dry-run, would do)."""

    show: str
    source: str
    dry_run: bool
    podcast_guid: str = ""
    podcast_guid_computed: bool = False
    pages: int = 0
    items: int = 0  # items in the source, every page
    show_created: bool = False
    already: int = 0  # items whose guid the show already has
    imported: list[str] = field(default_factory=list)  # record paths written (or planned)
    media_bytes: int = 0  # downloaded (declared, on a dry run)
    mismatches: list[Mismatch] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (item, why)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Items left out for a reason a rerun may fix (a download that failed)."""
        return any(why.startswith("not imported") for _, why in self.dropped)
