"""What the device keeps on its own storage: the event log (queued, then sent), and a few values (clock, key, session).

SQLite (standard library) with full synchronous writes: a power cut loses nothing the device
already decided. Events are kept after they are sent (marked, not deleted) so a technician can
replay the whole log (``labshare-device replay --all``); the server ignores what it has seen.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created REAL NOT NULL,
    sent REAL
);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    """The device's log and small state, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # --- Values -------------------------------------------------------------------------------

    def get(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, key: str, value) -> None:
        if value is None:
            self.db.execute("DELETE FROM kv WHERE key = ?", (key,))
        else:
            self.db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    # --- The event log ------------------------------------------------------------------------

    def log(self, event: dict) -> None:
        """Queue an event to send (its ``id`` makes a second queueing a no-op)."""
        self.db.execute(
            "INSERT OR IGNORE INTO events (id, body, created) VALUES (?, ?, ?)",
            (event["id"], json.dumps(event), time.time()),
        )

    def pending(self, limit: int = 100) -> list[dict]:
        """The oldest events not yet sent, in the order they happened."""
        rows = self.db.execute("SELECT body FROM events WHERE sent IS NULL ORDER BY seq LIMIT ?", (limit,))
        return [json.loads(body) for (body,) in rows]

    def pending_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM events WHERE sent IS NULL").fetchone()[0]

    def mark_sent(self, ids: list[str]) -> None:
        now = time.time()
        self.db.executemany("UPDATE events SET sent = ? WHERE id = ?", [(now, i) for i in ids])

    def everything(self) -> list[dict]:
        """Every event ever logged, in order (for a full replay)."""
        return [json.loads(body) for (body,) in self.db.execute("SELECT body FROM events ORDER BY seq")]

    def mark_all_unsent(self) -> None:
        self.db.execute("UPDATE events SET sent = NULL")
