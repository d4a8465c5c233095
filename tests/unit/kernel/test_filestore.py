"""The content-addressed file store: round trips, no overwrite, corruption found, and a write killed
with SIGKILL leaves nothing visible."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugin.kernel.filestore import BlobNotFound, CorruptBlob, FileStore, StoredBlob

PROJECT_ROOT = Path(__file__).resolve().parents[3]
MIB = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def parts(store: FileStore) -> list[Path]:
    tmp = store.root / "tmp"
    return sorted(tmp.glob("*")) if tmp.is_dir() else []


# -- round trips -----------------------------------------------------------------------------
def test_put_bytes_and_read_back(store: FileStore) -> None:
    data = "Айгерім Тестова: эссе, 1-нұсқа".encode()
    blob = store.put_bytes(data)
    assert blob == StoredBlob(sha(data), len(data))
    assert store.read(blob.sha256) == data
    assert store.exists(blob.sha256)
    assert store.path(blob.sha256) == store.root / blob.sha256[:2] / blob.sha256[2:4] / blob.sha256
    assert list(store.iter_blobs()) == [blob.sha256]
    assert parts(store) == []
    assert store.verify() == []


def test_put_stream_of_several_chunks(store: FileStore) -> None:
    data = os.urandom(2 * MIB + 12345)
    blob = store.put_stream(io.BytesIO(data))
    assert blob == StoredBlob(sha(data), len(data))
    assert store.read(blob.sha256) == data


def test_put_chunks_concatenates(store: FileStore) -> None:
    blob = store.put_chunks([b"abc", b"", b"def"])
    assert blob == StoredBlob(sha(b"abcdef"), 6)
    assert store.read(blob.sha256) == b"abcdef"


def test_empty_file_is_a_blob(store: FileStore) -> None:
    blob = store.put_bytes(b"")
    assert blob == StoredBlob(sha(b""), 0)
    assert store.read(blob.sha256) == b""
    assert store.verify() == []


def test_stored_blob_is_read_only(store: FileStore) -> None:
    blob = store.put_bytes(b"read only")
    assert stat.S_IMODE(store.path(blob.sha256).stat().st_mode) == 0o444


def test_reading_a_missing_blob(store: FileStore) -> None:
    missing = sha(b"never stored")
    assert not store.exists(missing)
    with pytest.raises(BlobNotFound):
        store.read(missing)


def test_empty_store(store: FileStore) -> None:
    assert list(store.iter_blobs()) == []
    assert store.verify() == []
    assert store.sweep_temp(older_than_seconds=0) == 0


# -- never overwritten -----------------------------------------------------------------------
def test_same_content_twice_is_one_blob_never_rewritten(store: FileStore) -> None:
    data = b"the same essay, submitted twice"
    first = store.put_bytes(data)
    path = store.path(first.sha256)
    before = path.stat()
    time.sleep(0.01)
    second = store.put_stream(io.BytesIO(data))
    after = path.stat()
    assert second == first
    assert (after.st_ino, after.st_mtime_ns, after.st_nlink) == (before.st_ino, before.st_mtime_ns, 1)
    assert list(store.iter_blobs()) == [first.sha256]
    assert all_files(store.root) == [path]


def test_existing_file_under_a_name_is_not_replaced(store: FileStore) -> None:
    """The final step links and refuses to replace: whatever holds the name stays."""
    data = b"genuine"
    path = store.path(sha(data))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"planted")
    inode = path.stat().st_ino
    store.put_bytes(data)
    assert path.read_bytes() == b"planted"
    assert path.stat().st_ino == inode
    assert parts(store) == []


def test_different_content_gives_different_blobs(store: FileStore) -> None:
    a, b = store.put_bytes(b"first draft"), store.put_bytes(b"second draft")
    assert a.sha256 != b.sha256
    assert sorted(store.iter_blobs()) == sorted([a.sha256, b.sha256])


# -- corruption ------------------------------------------------------------------------------
def test_corrupted_blob_is_refused_on_read_and_reported_by_verify(store: FileStore) -> None:
    good = store.put_bytes(b"an untouched file")
    bad = store.put_bytes(b"a file someone will edit")
    path = store.path(bad.sha256)
    path.chmod(0o644)
    path.write_bytes(b"a file someone has edited")
    with pytest.raises(CorruptBlob):
        store.read(bad.sha256)
    assert store.read(good.sha256) == b"an untouched file"
    problems = store.verify()
    assert len(problems) == 1
    assert problems[0].startswith(bad.sha256) and "does not match" in problems[0]


def test_truncated_blob_is_reported(store: FileStore) -> None:
    blob = store.put_bytes(os.urandom(3 * MIB))
    path = store.path(blob.sha256)
    path.chmod(0o644)
    with open(path, "r+b") as handle:
        handle.truncate(MIB)
    with pytest.raises(CorruptBlob):
        store.read(blob.sha256)
    assert [p.split(":")[0] for p in store.verify()] == [blob.sha256]


def test_stray_file_is_reported_by_verify(store: FileStore) -> None:
    blob = store.put_bytes(b"real")
    stray = store.path(blob.sha256).parent / "notes.txt"
    stray.write_text("not a blob", encoding="utf-8")
    assert store.verify() == ["notes.txt: not a blob name"]


# -- names -----------------------------------------------------------------------------------
BAD_NAMES = [
    "../x",
    "../../etc/passwd",
    "",
    "a" * 63,
    "a" * 65,
    "A" * 64,
    "g" * 64,
    "a" * 64 + "\n",
    "/" + "a" * 63,
    "aa/bb/" + "a" * 58,
    "..",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused(store: FileStore, name: str) -> None:
    for call in (store.path, store.exists, store.read, store.delete):
        with pytest.raises(ValueError, match="SHA-256"):
            call(name)


# -- size limit ------------------------------------------------------------------------------
def test_over_the_limit_raises_and_leaves_nothing(store: FileStore) -> None:
    with pytest.raises(ValueError, match="larger than 10 bytes"):
        store.put_stream(io.BytesIO(b"x" * 11), max_bytes=10)
    assert list(store.iter_blobs()) == []
    assert parts(store) == []
    assert all_files(store.root) == []


def test_over_the_limit_in_a_later_chunk_leaves_nothing(store: FileStore) -> None:
    chunks = [b"a" * MIB, b"b" * MIB, b"c" * MIB]
    with pytest.raises(ValueError, match="larger than"):
        store.put_chunks(chunks, max_bytes=2 * MIB + 1)
    assert all_files(store.root) == []


def test_exactly_the_limit_is_accepted(store: FileStore) -> None:
    blob = store.put_stream(io.BytesIO(b"x" * 10), max_bytes=10)
    assert blob.size == 10
    assert store.read(blob.sha256) == b"x" * 10


def test_failing_source_leaves_nothing(store: FileStore) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b"half of a file"
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        store.put_chunks(chunks())
    assert all_files(store.root) == []


# -- housekeeping ----------------------------------------------------------------------------
def test_delete(store: FileStore) -> None:
    blob = store.put_bytes(b"to be deleted by retention")
    assert store.delete(blob.sha256) is True
    assert not store.exists(blob.sha256)
    assert store.delete(blob.sha256) is False
    with pytest.raises(BlobNotFound):
        store.read(blob.sha256)
    assert list(store.iter_blobs()) == []


def test_sweep_temp_removes_only_old_parts(store: FileStore) -> None:
    tmp = store.root / "tmp"
    tmp.mkdir(parents=True)
    old, new, other = tmp / "old.part", tmp / "new.part", tmp / "keep.txt"
    for path in (old, new, other):
        path.write_bytes(b"leftover")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    os.utime(other, (two_hours_ago, two_hours_ago))
    assert store.sweep_temp() == 1
    assert sorted(p.name for p in tmp.iterdir()) == ["keep.txt", "new.part"]
    assert store.sweep_temp(older_than_seconds=0) == 1
    assert sorted(p.name for p in tmp.iterdir()) == ["keep.txt"]


# -- a writer killed by SIGKILL --------------------------------------------------------------
SLOW_WRITER = """
import sys, time
from pathlib import Path
from plugin.kernel.filestore import FileStore

def chunks():
    for i in range(200):
        yield bytes([i % 251]) * (1024 * 1024)
        if i == 0:
            print("started", flush=True)
        time.sleep(0.05)

FileStore(Path(sys.argv[1])).put_chunks(chunks())
print("finished", flush=True)
"""

QUICK_WRITER = """
import sys, time
from pathlib import Path
from plugin.kernel.filestore import FileStore

blob = FileStore(Path(sys.argv[1])).put_bytes(b"complete file " * 100000)
print(blob.sha256, flush=True)
time.sleep(60)
"""


def start(code: str, root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, str(root)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the writer")
        time.sleep(0.01)


def test_sigkill_in_the_middle_of_a_write_leaves_no_visible_file(store: FileStore) -> None:
    proc = start(SLOW_WRITER, store.root)
    try:
        def writing() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"writer exited early: {proc.stderr.read() if proc.stderr else ''}")
            return any(p.suffix == ".part" and p.stat().st_size > 0 for p in parts(store))

        wait_for(writing)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out = proc.stdout.read() if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert "finished" not in out
    assert list(store.iter_blobs()) == []
    assert store.verify() == []
    leftovers = all_files(store.root)
    assert len(leftovers) == 1
    part = leftovers[0]
    assert part.parent == store.root / "tmp" and part.suffix == ".part"
    assert 0 < part.stat().st_size < 200 * MIB
    assert store.sweep_temp(older_than_seconds=0) == 1
    assert all_files(store.root) == []
    # The store still works after the crash.
    blob = store.put_bytes(b"after the crash")
    assert store.read(blob.sha256) == b"after the crash"
    assert store.verify() == []


def test_sigkill_right_after_a_write_leaves_the_whole_blob(store: FileStore) -> None:
    proc = start(QUICK_WRITER, store.root)
    try:
        assert proc.stdout is not None
        name = proc.stdout.readline().strip()
        assert name, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert name == sha(b"complete file " * 100000)
    assert list(store.iter_blobs()) == [name]
    assert store.read(name) == b"complete file " * 100000
    assert store.verify() == []
    assert parts(store) == []
