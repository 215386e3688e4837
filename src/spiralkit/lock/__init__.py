"""The project's conda environment: two sources, one multi-platform lock, and a check for staleness.

``environment.yml`` (channels, platforms, python) and ``pyproject.toml`` (the Python packages) are
the sources; ``conda-lock.yml`` locks them for every platform; images install it without solving.
Import this package only where conda-lock is installed (``spiralkit[lock]``).
"""

from spiralkit.lock.check import check
from spiralkit.lock.lockfile import (
    INSTALL_PROJECT,
    INSTALL_RUNTIME,
    INSTALL_WORKSTATION,
    LOCKFILE,
    lock_hash,
)
from spiralkit.lock.solve import lock

__all__ = [
    "INSTALL_PROJECT",
    "INSTALL_RUNTIME",
    "INSTALL_WORKSTATION",
    "LOCKFILE",
    "check",
    "lock",
    "lock_hash",
]
