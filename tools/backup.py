"""``make backup`` and ``make restore``: the database as a pg_dump custom-format archive, plus the media files.

    python -m tools.backup backup [FOLDER]     # default: backups/<UTC time>/ (db.dump, media.tar.gz)
    python -m tools.backup restore FOLDER      # into DATABASE_URL (or the local cluster) and MEDIA_ROOT

The database is ``DATABASE_URL`` or, without it, the project-local cluster (run through
``tools.localdb exec``, as the Makefile does). The client programs are the cluster's own when it
is local (a pg_dump never older than its server), else those on PATH. Restoring replaces what
the target database holds (``--clean --if-exists``) in one transaction, so a failed restore
changes nothing; the media archive is unpacked over MEDIA_ROOT.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from tools import localdb

ROOT = Path(__file__).resolve().parent.parent
DUMP = "db.dump"
MEDIA = "media.tar.gz"


class BackupError(RuntimeError):
    """Something the operator has to fix (no database, missing programs, an incomplete backup folder)."""


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL") or localdb.running_url()
    if not url:
        raise BackupError("No database: set DATABASE_URL, or run through `python -m tools.localdb exec -- …`")
    return url


def _program(name: str) -> str:
    """pg_dump / pg_restore: the local cluster's own when there is one, else from PATH."""
    if not os.environ.get("DATABASE_URL"):
        try:
            candidate = localdb._find_bin_dir() / name
            if candidate.exists():
                return str(candidate)
        except localdb.LocalDbError:
            pass
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} is missing: install PostgreSQL's client programs (apt-get install postgresql-client)"
        )
    return found


def _media_root() -> Path:
    return Path(os.environ.get("MEDIA_ROOT") or ROOT / ".data" / "media")


def backup(folder: Path | None = None, *, database_url: str | None = None, media_root: Path | None = None) -> Path:
    """Write ``db.dump`` (custom format) and ``media.tar.gz`` into ``folder``; returns the folder."""
    folder = folder or ROOT / "backups" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(folder / DUMP),
         "--dbname", database_url or _database_url()],
        check=True,
    )  # fmt: skip
    media = media_root or _media_root()
    with tarfile.open(folder / MEDIA, "w:gz") as archive:
        if media.is_dir():
            archive.add(media, arcname=".")
    return folder


def restore(folder: Path, *, database_url: str | None = None, media_root: Path | None = None) -> None:
    """Replace the database's content with ``folder``'s dump and unpack its media files."""
    dump = folder / DUMP
    if not dump.is_file():
        raise BackupError(f"{dump} does not exist: give the folder `make backup` wrote")
    subprocess.run(
        [_program("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
         "--exit-on-error", "--dbname", database_url or _database_url(), str(dump)],
        check=True,
    )  # fmt: skip
    media = media_root or _media_root()
    if (folder / MEDIA).is_file():
        media.mkdir(parents=True, exist_ok=True)
        with tarfile.open(folder / MEDIA, "r:gz") as archive:
            archive.extractall(media, filter="data")  # no absolute paths, links out or devices


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("backup", help="dump the database and archive the media files")
    made.add_argument("folder", nargs="?", type=Path)
    back = commands.add_parser("restore", help="restore a folder written by backup")
    back.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "backup":
            print(f"labshare: backup written to {backup(args.folder)}")
        else:
            restore(args.folder)
            print(f"labshare: restored from {args.folder}")
    except (BackupError, subprocess.CalledProcessError) as exc:
        print(f"labshare: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
