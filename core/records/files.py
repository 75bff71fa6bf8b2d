"""Record files on disk: written atomically (one file, or several as one change), read with errors
that name the file.

A file is written to a temporary name beside it, flushed to disk, then renamed over the old one, so a
process killed at any moment leaves it either as it was or as it was meant to be.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from fmtui.core.errors import RecordError

Writer = Callable[[IO[bytes]], None]


def _stage(path: Path, write: Writer) -> Path:
    """Write a complete, flushed temporary file beside ``path``; the caller renames it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RecordError(f"cannot write {path}: {exc.strerror or exc}. Free some space or choose another "
                          f"directory with --runs-dir.") from None
    except BaseException:
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
