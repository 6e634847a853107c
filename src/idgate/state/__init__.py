"""Durable state behind a small interface: embedded SQLite by default; the
Splunk app implements the same interface on the KV store."""
from .base import StateStore
from .sqlite import SQLiteState


def open_state(folder: str) -> StateStore:
    return SQLiteState(folder)


__all__ = ["StateStore", "SQLiteState", "open_state"]
