"""Writes that a reader sees whole or not at all, even when the writing process is killed.

A local file is written under a temporary name in its own folder and renamed into place; a partitioned
dataset is written whole into a temporary sibling folder and swapped in. Either way the path holds the
old complete data until the rename and the new complete data after it. A killed writer leaves a
temporary sibling named after its process id; the next write of the same path removes it, or puts the
old dataset back if the kill came between the two renames of a swap without ``renameat2``.

This guards against processes dying (SIGKILL, out of memory, a Spot reclaim), not against the machine
losing power: nothing is fsynced, which would make every write wait for the disk.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]+\.spiral-(?P<kind>tmp|old)$")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def sibling(target: Path, kind: str) -> Path:
    """A fresh temporary name next to ``target``, with this process's id: hidden, so dataset discovery skips it."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.spiral-{kind}")


@contextlib.contextmanager
def replacing_file(target: Path) -> Iterator[Path]:
    """A temporary path to write; renamed onto ``target`` when the block ends, removed if it raises."""
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target)
    staging = sibling(target, "tmp")
    try:
        yield staging
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def replacing_folder(target: Path) -> Iterator[Path]:
    """A temporary folder to write the whole new dataset into; swapped in for ``target`` when the block ends."""
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target)
    staging = sibling(target, "tmp")
    try:
        yield staging
        swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def swap(staging: Path, target: Path) -> None:
    """Put the folder ``staging`` at ``target`` and delete what was there.

    Linux's ``renameat2(RENAME_EXCHANGE)`` swaps the two names in one step, so ``target`` always holds a
    complete dataset. Elsewhere the old one is renamed aside first: between the two renames ``target`` is
    missing, and a kill there leaves the aside copy that :func:`clean_leftovers` restores.
    """
    if not target.exists():
        staging.rename(target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging)  # the old dataset, under the temporary name now
        return
    aside = sibling(target, "old")
    target.rename(aside)
    staging.rename(target)
    shutil.rmtree(aside)


def carry_over(old: Path, new: Path) -> None:
    """Hard-link into ``new`` the files of ``old`` in the partitions ``new`` did not write.

    A partitioned write replaces the partitions it has rows for and keeps the others. Files are never
    changed in place (every write makes new ones), so linking them is as safe as copying and costs no
    space; a filesystem without hard links gets copies.
    """
    if not old.is_dir():
        return
    written = {path.parent.relative_to(new) for path in new.rglob("*") if path.is_file()}
    for path in old.rglob("*"):
        relative = path.relative_to(old)
        if not path.is_file() or relative.parent in written:
            continue
        (new / relative).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, new / relative)
        except OSError:
            shutil.copy2(path, new / relative)


def clean_leftovers(target: Path) -> None:
    """Remove what killed writers of ``target`` left next to it; restore an old dataset a swap set aside."""
    if not target.parent.is_dir():
        return
    for path in target.parent.iterdir():
        match = _LEFTOVER.match(path.name)
        if match is None or match["name"] != target.name or _alive(int(match["pid"])):
            continue
        if match["kind"] == "old" and not target.exists():
            path.rename(target)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux's renameat2; False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False  # an old kernel, or a filesystem without exchange
    raise OSError(code, os.strerror(code), str(b))
