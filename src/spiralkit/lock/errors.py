"""Errors of ``spiral lock``: each exit code tells CI what to do next.

1: the lock is stale or missing, and `spiral lock` fixes it; 2: a source is malformed, and only an
edit fixes it; 9: no conda solver or channel can be reached from here (lock elsewhere), or the solve
failed (a pin must change). The codes are spiralkit.errors' table.
"""

from spiralkit.errors import ConfigError, LockError, SpiralError


class StaleLockError(SpiralError):
    """conda-lock.yml is missing, or was locked from sources that have changed since."""


class LockSourceError(ConfigError):
    """environment.yml or pyproject.toml cannot be locked as written; the message names the line."""


class LockUnavailableError(LockError):
    """No conda solver, or no channel, can be reached from this machine."""


class LockFailedError(LockError):
    """conda-lock ran and failed (say, no packages satisfy the pins); the lock is unchanged."""
