"""Errors of ``spiral lock``: each exit code tells CI what to do next.

1: the lock is stale or missing, and `spiral lock` fixes it; 2: a source is malformed, and only an
edit fixes it; 5: no conda solver or channel can be reached from here, so lock elsewhere; 6: the
solve failed, and a pin must change.
"""

from spiralkit.errors import ConfigError, SpiralError


class StaleLockError(SpiralError):
    """conda-lock.yml is missing, or was locked from sources that have changed since."""

    exit_code = 1


class LockSourceError(ConfigError):
    """environment.yml or pyproject.toml cannot be locked as written; the message names the line."""

    exit_code = 2


class LockUnavailableError(SpiralError):
    """No conda solver, or no channel, can be reached from this machine."""

    exit_code = 5


class LockFailedError(SpiralError):
    """conda-lock ran and failed (say, no packages satisfy the pins); the lock is unchanged."""

    exit_code = 6
