"""grandirenhlm: ingest podcast media, build RSS feeds and pages, publish them to a folder or S3."""

__version__ = "0.1.0"
