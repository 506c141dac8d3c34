"""Ingestion of paths, globs, folders, URLs, fsspec locations, manifests and RSS feeds."""

from cintel.ingest.ingestor import Ingested, Ingestor, hash_file

__all__ = ["Ingested", "Ingestor", "hash_file"]
