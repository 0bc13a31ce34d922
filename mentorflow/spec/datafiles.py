"""Where a spec may read data files from: its own folder, or the folder MENTORFLOW_DATA_DIR names.

A spec is shared and edited by hand, and whatever a source path reads ends up in messages that
reach logs (the header row of a CSV, quoted in a mismatch). A path out of those folders, a
symlink out of them, or a device file (`/proc/self/environ` holds the worker's secrets) is
refused before anything is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DATA_DIR_ENV = "MENTORFLOW_DATA_DIR"
# Kernel views that look like regular files (size 0) but hold process state.
_SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))


def data_roots(spec_folder: Path) -> list[Path]:
    """The folders data files may live in, resolved (symlinks followed)."""
    roots = [spec_folder.resolve()]
    extra = os.environ.get(DATA_DIR_ENV, "").strip()
    if extra:
        roots.append(Path(extra).expanduser().resolve())
    return roots


def data_path_problem(spec_folder: Path, written: str) -> str | None:
    """Why the data file `written` (as the spec gives it) may not be read, or None when it may."""
    path = Path(written).expanduser()
    resolved = (spec_folder / path).resolve()
    if any(resolved.is_relative_to(system) for system in _SYSTEM_FOLDERS):
        return "not a regular file; export the form as a CSV file"
    if not any(resolved.is_relative_to(root) for root in data_roots(spec_folder)):
        return f"{_how_out(spec_folder, path, resolved)}; data files live in the spec's folder" + (
            f" (or in the folder {DATA_DIR_ENV} names)"
        )
    if resolved.exists() and not stat.S_ISREG(resolved.stat().st_mode):
        return "not a regular file; export the form as a CSV file"
    return None


def _how_out(spec_folder: Path, path: Path, resolved: Path) -> str:
    if path.is_absolute():
        return "an absolute path"
    if Path(os.path.normpath(spec_folder.resolve() / path)) != resolved:
        return "a symbolic link out of the spec's folder"
    return "a path out of the spec's folder"


class NotRegularFileError(OSError):
    """A data file that is a device, pipe, folder or kernel view: never read."""


def open_data_file(path: Path) -> bytes:
    """The bytes of a regular file, without blocking on a pipe or reading a device.

    Raises FileNotFoundError, NotRegularFileError or another OSError.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode) or any(
            path.resolve().is_relative_to(system) for system in _SYSTEM_FOLDERS
        ):
            raise NotRegularFileError(path.name)
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(descriptor)
