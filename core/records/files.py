"""Record files on disk: written atomically (one file, or several as one change), read with errors
that name the file.

A file is written to a temporary name beside it, flushed to disk, then renamed over the old one, so a
process killed at any moment leaves it either as it was or as it was meant to be.

Everything in a run directory is the owner's alone, whatever the umask: the directory is made 0700
(``make_private_dir``) and every file 0600. A file is never written through a link: the temporary is
created afresh (O_EXCL, O_NOFOLLOW) under an unguessable name, and the rename replaces whatever the
final name held (a planted symlink is replaced, its target untouched).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from fmtui.core.errors import RecordError

Writer = Callable[[IO[bytes]], None]

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700
# Never follow a link, never block on a FIFO someone left under a name fmtui reads or writes.
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO for reading would wait for a writer
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW


def make_private_dir(path: Path) -> None:
    """``os.mkdir`` with mode 0700 whatever the umask (FileExistsError and other OSErrors as mkdir's).

    The mode is set through a descriptor of the new directory itself (never through a name someone
    could have swapped for a link since)."""
    os.mkdir(path, PRIVATE_DIR)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW)
    try:
        os.fchmod(fd, PRIVATE_DIR)  # the umask may have taken bits away (under umask 077 and up), never added
    finally:
        os.close(fd)


def create_private(path: Path) -> tuple[int, Path]:
    """A new, empty file beside ``path`` under an unguessable temporary name (``.NAME.RANDOM.tmp``, which
    ``RunRecord.remove_stale_temporaries`` recognises), opened for writing, mode 0600: (fd, its path).
    O_EXCL: nothing that was there before (a file, a link) is ever opened."""
    for _ in range(16):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, _NEW, PRIVATE_FILE)
        except FileExistsError:  # 64 random bits taken: someone is guessing; draw again
            continue
        try:
            os.fchmod(fd, PRIVATE_FILE)  # a umask of 0o200 or more would leave it unwritable, or 000
        except OSError:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        return fd, tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def open_private(path: Path, flags: int) -> int:
    """Open an existing file fmtui made, never through a link and never a FIFO or device: a descriptor,
    or OSError (ELOOP for a link, ENXIO for something other than a plain file)."""
    fd = os.open(path, flags | NOFOLLOW | NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.ENXIO, "not a plain file", str(path))
        if NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def may_hold(path: Path) -> bool:
    """``path.is_file()``, but True where it cannot be told (a directory this user may not enter): the
    caller then reads it, and the read says what is wrong, naming the file."""
    try:
        return path.is_file()
    except OSError:
        return True


def _stage(path: Path, write: Writer) -> Path:
    """Write a complete, flushed temporary file beside ``path``; the caller renames it into place."""
    tmp: Path | None = None
    try:
        fd, tmp = create_private(path)
        with open(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise RecordError(f"cannot write {path}: {exc.strerror or exc}. Free some space or choose another "
                          f"directory with --runs-dir.") from None
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write_all(files: list[tuple[Path, Writer]]) -> None:
    """Write several files as one change: every one is staged before any is renamed into place (in
    order: put the file that says what the others hold, the summary, last). A write that fails leaves
    all of them as they were."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, write in files:
            staged.append((_stage(path, write), path))
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as exc:
        raise RecordError(f"cannot write in {files[0][0].parent}: {exc.strerror or exc}.") from None
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def atomic_write(path: Path, write: Writer) -> None:
    """Write ``path`` through a temporary file and a rename; never leaves a partial file behind."""
    atomic_write_all([(path, write)])


def text_bytes(text: str) -> Writer:
    data = text.encode("utf-8")
    return lambda f: f.write(data)


def json_bytes(obj: Any) -> Writer:
    return text_bytes(json.dumps(obj, indent=2) + "\n")


def torch_bytes(obj: dict[str, Any]) -> Writer:
    # Serialised in memory first: torch.save writing to the file itself turns a full disk into a
    # RuntimeError about its zip writer; written as bytes, it is an OSError like any other write.
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return lambda f: f.write(buffer.getbuffer())


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, text_bytes(text))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json_bytes(obj))


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{path} does not exist.") from None
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested thousands deep
        raise RecordError(f"{path} cannot be read: {exc}.") from None


def csv_text(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def torch_load(path: Path, what: str, hint: str) -> dict[str, Any]:
    """Read a torch file written by fmtui; ``hint`` tells a person where the right file is."""
    import torch

    if not path.exists():
        raise RecordError(f"{what} {path} does not exist. {hint}")
    try:
        # weights_only: a checkpoint is data, never code to run.
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds (pickle, zip, runtime) for a damaged file
        # PyTorch's own message is long and about its loader; --debug shows it, chained.
        raise RecordError(f"{path} is not a readable {what}: it is damaged or was not written by fmtui. "
                          f"{hint}") from exc
    if not isinstance(obj, dict):
        raise RecordError(f"{path} is not an fmtui {what}. {hint}")
    return obj
