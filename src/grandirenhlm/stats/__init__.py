"""Audience measurement (issue 15): downloads counted from the storage's own access logs.

Placeholder docstring; completed below.
"""

from grandirenhlm.stats.engine import count_downloads
from grandirenhlm.stats.model import EpisodeRef, MediaFile, StatsReport

__all__ = ["EpisodeRef", "MediaFile", "StatsReport", "count_downloads"]
