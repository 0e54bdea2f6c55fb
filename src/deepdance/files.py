"""Safe file writing: temp name then rename, and output folders that are never silently overwritten.

Every output is built under a temporary name beside it, `.NAME.<pid>.<random>.tmp` (files keep their
suffix after it: `.dance.mp4.<pid>.<random>.tmp.mp4`), and renamed into place when complete. A folder
output is also locked (`.NAME.lock`, an exclusive flock) while it is built, so a second process asking for
the same output gets a clear "in use" error instead of destroying the first one's work. A process that is
killed (SIGKILL, power cut) leaves its temporary behind; the next output of the same NAME removes every such
leftover whose process is gone. Errors of a full or read-only disk become one line (`disk_error`).
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import UserError

try:
    import fcntl
except ImportError:  # not on POSIX: no lock, everything else holds
    fcntl = None


# --- errors of the disk -------------------------------------------------------------------------------
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}


FULL = 1 << 20  # bytes: a filesystem with less free is full (libraries that hide the errno fail near it)


def _full(path: str | os.PathLike) -> bool:
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        st = os.statvfs(probe)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < FULL


def disk_error(e: BaseException, path: str | os.PathLike, probe: str | os.PathLike | None = None) -> UserError | None:
    """The one line for an error of a full or read-only disk met while writing `path`; None for others.

    An OSError says so by its errno; a library that hides the errno (libsndfile: "System error.") is taken
    for a full disk when the filesystem of `probe` (the temporary being written, checked before it is removed)
    has under 1 MiB free. The one place where such errors are converted: `new_folder`, `FolderOutput` and
    `atomic_path` apply it, so every output written through them says it the same way.
    """
    if isinstance(e, UserError) or not isinstance(e, Exception):
        return None
    if isinstance(e, OSError) and e.errno in _NO_SPACE | _NOT_WRITABLE:
        if e.errno in _NOT_WRITABLE:
            return UserError(f"cannot write {e.filename or path} ({e.strerror}); nothing was kept of {path}")
    elif not _full(probe or path):
        return None
    return UserError(f"no space left on the disk writing {path}; nothing was kept of it")


# --- temporary names and their leftovers ----------------------------------------------------------------
def _temp_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}."


def _leftover_pid(name: str, entry: str) -> int | None:
    """The pid in `entry` when it is a temporary (or set-aside old copy) of output `name`, else None."""
    m = re.fullmatch(rf"\.{re.escape(name)}\.(\d+)\.[A-Za-z0-9_]+\.(?:tmp|old)(?:\.[^/]*)?", entry)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_leftovers(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of output `path` left by processes that no longer run; returns them.

    A set-aside old copy (`.NAME.<pid>.<random>.old`, made while an output was swapped into place) is put
    back when the process died between the two renames and `path` is missing, so nothing is lost.
    Leftovers in the older, pid-less form (`.NAME.partial`, `.NAME.old`) are reported on stderr, not removed.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    removed, legacy = [], []
    try:
        entries = sorted(os.listdir(parent))
    except OSError:
        return removed
    for entry in entries:
        pid = _leftover_pid(path.name, entry)
        if pid is None:
            if entry in (f".{path.name}.partial", f".{path.name}.old"):
                legacy.append(parent / entry)
            continue
        if _alive(pid):
            continue
        leftover = parent / entry
        if entry.endswith(".old") and not os.path.lexists(path):
            os.replace(leftover, path)
            print(f"deepdance: note: {path} was put back from {leftover.name}, left by an interrupted run",
                  file=sys.stderr)
            continue
        _remove(leftover)
        removed.append(leftover)
    if legacy:
        print(f"deepdance: note: leftovers of an interrupted run beside {path}: "
              f"{', '.join(p.name for p in legacy)} (remove them by hand)", file=sys.stderr)
    return removed


# --- single files ---------------------------------------------------------------------------------------
@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    An interrupted write therefore never leaves a half-written file that looks whole.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(path)
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as e:
        raise disk_error(e, path) or e
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared like any file
        os.replace(tmp, path)
    except Exception as e:
        converted = disk_error(e, path, tmp)
        if converted is None:
            raise
        raise converted from None
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, data: Any) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return Path(path)


def read_json(path: str | os.PathLike) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"missing file: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is not valid JSON ({e})") from None


# --- where outputs may go, and what a folder's files may name ---------------------------------------------
def check_writable_dir(path: Path) -> None:
    """Fail early (before any work) when `path` cannot be created or written."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"cannot create {path}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to {probe}")


def check_not_overlapping(out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None], *,
                          flag: str = "--out", may_contain: bool = False) -> None:
    """Refuse an output that is, contains or lies inside one of `inputs` (symlinks resolved).

    Replacing such an output (`--force`) would delete the input; writing inside it would mix results
    into the user's data. `may_contain`: an output that only adds files beside the input may hold it
    (training into a run folder that keeps its store in store/).
    """
    out = Path(out)
    target = out.resolve()
    for given in inputs:
        if given is None:
            continue
        source = Path(given).resolve()
        if target == source or (target.exists() and source.exists() and os.path.samefile(target, source)):
            how = "is"
        elif source in target.parents:
            how = "lies inside"
        elif target in source.parents and not may_contain:
            how = "contains"
        else:
            continue
        raise UserError(f"{flag} {out} {how} the input {given}: choose an output apart from the inputs")


def inside(folder: str | os.PathLike, name: Any, *, where: str) -> Path:
    """`folder / name`, for a file name read from a folder's own JSON (a manifest, a run's store.json).

    The name must be relative, without `..`, and must not lead out of the folder through a symlink, so
    a file handed to us cannot make us read (and publish) another file of the machine. `where` names the
    JSON file and field for the error, e.g. "store/manifest.json field 'audio'".
    """
    if not isinstance(name, str) or not name.strip():
        raise UserError(f"{where} must be a file name inside {folder}, got {name!r}")
    parts = Path(name).parts
    if Path(name).is_absolute() or name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
        raise UserError(f"{where} must name a file inside {folder}, not {name!r} (absolute paths and '..' "
                        f"are refused)")
    path = Path(folder) / name
    if not path.resolve().is_relative_to(Path(folder).resolve()):
        raise UserError(f"{where} names {name!r}, which leads out of {folder} (a symlink); refused")
    return path


# --- folders ------------------------------------------------------------------------------------------------
class FolderLock:
    """An exclusive, non-blocking lock on output `path`: the file `.NAME.lock` beside it holds the pid.

    The lock file is removed on release; a lock left by a killed process is no lock (the kernel drops it).
    """

    def __init__(self, path: Path):
        self.path = path
        self.file = path.with_name(f".{path.name}.lock")
        self.fd: int | None = None

    def acquire(self) -> "FolderLock":
        if fcntl is None:
            return self
        while True:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise UserError(f"{self.path} is in use by another deepdance process (pid {holder})") from None
            except BaseException:
                os.close(fd)
                raise
            try:  # the holder before us may have removed the file we opened: lock the one in place
                same = os.stat(self.file).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            self.file.unlink(missing_ok=True)  # while still held: a waiting process re-checks the inode
            os.close(self.fd)
            self.fd = None


def swap_into_place(tmp: Path, path: Path) -> None:
    """Rename the finished folder `tmp` onto `path`, replacing an existing `path` only now that `tmp` is whole.

    The old folder is set aside under a temporary name first (a folder cannot be renamed onto a non-empty
    one); a kill between the two renames leaves it there, and the next run puts it back.
    """
    if os.path.lexists(path):
        old = Path(tempfile.mkdtemp(prefix=_temp_prefix(path.name), suffix=".old", dir=path.parent))
        os.rmdir(old)
        os.replace(path, old)
        os.replace(tmp, path)
        _remove(old)
    else:
        os.replace(tmp, path)


def check_new_folder(path: str | os.PathLike, *, force: bool = False) -> None:
    """Fail early when output folder `path` is a file, or exists and `force` was not given."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise UserError(f"{path} is a file, not a folder: choose another output")
    if path.exists() and not force:
        raise UserError(f"{path} already exists (use --force to replace it)")


class FolderOutput:
    """A folder built under a temporary name, locked, and moved into place by `commit()` (or dropped by
    `abort()`). `new_folder` is the context-manager form; `store.StoreWriter` uses this one.

    An existing folder is replaced only with `force`, and only after the new one is complete, so a failed
    run never destroys the previous result. With `marker`, `force` replaces only a folder holding that file
    (a store's manifest.json): `--force` never deletes a folder of something else given by mistake.
    """

    def __init__(self, path: str | os.PathLike, *, force: bool = False, marker: str | None = None):
        self.path = path = Path(path)
        check_new_folder(path, force=force)
        check_writable_dir(path.parent if str(path.parent) else Path("."))
        self.lock = FolderLock(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.lock.acquire()
        except OSError as e:
            raise disk_error(e, path) or e
        self.tmp: Path | None = None
        try:
            clean_leftovers(path)  # first: it may put back a folder a killed run had set aside
            if path.exists() and not force:
                raise UserError(f"{path} already exists (use --force to replace it)")
            if marker and path.is_dir() and any(path.iterdir()) and not (path / marker).exists():
                raise UserError(f"{path} is a folder without {marker}: --force replaces only what deepdance "
                                f"made there; choose another output")
            self.tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path.name), suffix=".tmp", dir=path.parent))
        except BaseException as e:
            self.lock.release()
            if isinstance(e, OSError):
                raise disk_error(e, path) or e
            raise

    def commit(self) -> Path:
        try:
            swap_into_place(self.tmp, self.path)
        except OSError as e:
            raise disk_error(e, self.path) or e
        finally:
            self.abort()
        return self.path

    def fail(self, e: BaseException) -> None:
        """Drop the folder because `e` ended its making, and raise `e` (a full disk: as one line)."""
        converted = disk_error(e, self.path, self.tmp)
        self.abort()
        if converted is None:
            raise e
        raise converted from None

    def abort(self) -> None:
        try:
            if self.tmp is not None:
                _remove(self.tmp)
        finally:
            self.lock.release()


@contextmanager
def new_folder(path: str | os.PathLike, *, force: bool = False, marker: str | None = None) -> Iterator[Path]:
    """Build a folder under a temporary name and move it into place when the block succeeds (see
    `FolderOutput`); the temporary is removed however the block ends (an exception, KeyboardInterrupt,
    SystemExit from a signal handler)."""
    out = FolderOutput(path, force=force, marker=marker)
    try:
        yield out.tmp
    except BaseException as e:
        out.fail(e)
    out.commit()
