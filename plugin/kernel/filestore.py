"""Content-addressed file store: every blob is named by its SHA-256 and never overwritten.

A write goes to ``tmp/`` (same filesystem), is fsynced, made read-only and then *linked* to its
final name, so a reader sees either the whole file or nothing, and a concurrent writer of the same
content cannot replace it. A process killed mid-write leaves only a ``tmp/*.part`` file, which
``sweep_temp`` removes and which is never visible as a blob.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_SHA256 = re.compile(r"[0-9a-f]{64}")  # always used with fullmatch: "$" would let a trailing newline in
_CHUNK = 1024 * 1024


class BlobNotFound(LookupError):
    pass


class CorruptBlob(ValueError):
    """A stored file no longer hashes to its name."""


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"

    # -- writing ---------------------------------------------------------------------------
    def put_bytes(self, data: bytes) -> StoredBlob:
        return self.put_chunks([data])

    def put_stream(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredBlob:
        def chunks() -> Iterator[bytes]:
            while block := stream.read(_CHUNK):
                yield block

        return self.put_chunks(chunks(), max_bytes=max_bytes)

    def put_chunks(self, chunks: Iterable[bytes], *, max_bytes: int | None = None) -> StoredBlob:
        """Store the concatenated ``chunks``; returns the hash and size.

        Raises ``ValueError`` when more than ``max_bytes`` arrive; nothing is left behind.
        """
        self._tmp.mkdir(parents=True, exist_ok=True)
        tmp_path = self._tmp / f"{uuid.uuid4().hex}.part"
        digest, size = hashlib.sha256(), 0
        fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise ValueError(f"file is larger than {max_bytes} bytes")
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_path, 0o444)
            sha = digest.hexdigest()
            final = self.path(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(tmp_path, final)  # atomic, and refuses to replace an existing blob
            except FileExistsError:
                pass  # same content already stored; the stored copy is the one that counts
            else:
                _fsync_dir(final.parent)
        finally:
            tmp_path.unlink(missing_ok=True)
        return StoredBlob(sha, size)

    # -- reading ---------------------------------------------------------------------------
    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        """The blob's bytes, checked against its name. Raises ``BlobNotFound``/``CorruptBlob``."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise CorruptBlob(sha256)
        return data

    def iter_blobs(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if first.name == "tmp" or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                for blob in sorted(second.iterdir()):
                    yield blob.name

    def verify(self) -> list[str]:
        """Re-hash every blob; returns a list of problems (empty when the store is sound)."""
        problems = []
        for name in self.iter_blobs():
            if not _SHA256.fullmatch(name):
                problems.append(f"{name}: not a blob name")
                continue
            digest = hashlib.sha256()
            with open(self.path(name), "rb") as handle:
                while block := handle.read(_CHUNK):
                    digest.update(block)
            if digest.hexdigest() != name:
                problems.append(f"{name}: content does not match its hash")
        return problems

    # -- housekeeping ----------------------------------------------------------------------
    def delete(self, sha256: str) -> bool:
        """Remove a blob (retention). Returns whether it existed."""
        path = self.path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def sweep_temp(self, older_than_seconds: float = 3600.0) -> int:
        """Remove leftovers of writes that died (``tmp/*.part`` older than the given age)."""
        if not self._tmp.is_dir():
            return 0
        cutoff, removed = time.time() - older_than_seconds, 0
        for part in self._tmp.glob("*.part"):
            if part.stat().st_mtime <= cutoff:
                part.unlink(missing_ok=True)
                removed += 1
        return removed
