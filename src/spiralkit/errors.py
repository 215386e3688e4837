"""Every error spiralkit raises, and its exit code: one table, one meaning per code.

The library raises typed errors; the CLI prints each as one message and exits with its code. A
module's own error subclasses one of the categories below and inherits its code, so a script or a CI
step can act on the code alone (the lock workflow relocks on 1; the deploy workflow follows a run
again on 8). docs/errors.md shows the same table; a test keeps the two equal.
"""


class SpiralError(Exception):
    """1: a check found a problem to fix (a stale lock, say); the message says which and how."""

    exit_code = 1


class UsageError(SpiralError):
    """2: the input is wrong: a setting, a dvc.yaml block, a param, an argument. Nothing was done."""

    exit_code = 2


class ConfigError(UsageError):
    """The project's ``[tool.spiral]`` settings are missing or invalid."""


class NamespaceError(SpiralError):
    """3: the run may not write that namespace (prod outside CI on the production branch)."""

    exit_code = 3


class AwsConfigError(SpiralError):
    """4: no AWS credentials or region here, so nothing could be asked of AWS."""

    exit_code = 4


class AwsError(SpiralError):
    """5: AWS refused or failed a request (a submission, a workstation, Cost Explorer); what was
    created before it is undone."""

    exit_code = 5


class InfraError(SpiralError):
    """6: the stack was not changed: CloudFormation failed, or nobody approved the change set."""

    exit_code = 6


class StageFailed(SpiralError):
    """7: a pipeline stage's own command failed; the message names the stage and its log."""

    exit_code = 7


class StillRunning(SpiralError):
    """8: ``--wait`` reached its deadline; the run goes on (follow it again with ``spiral status --wait``)."""

    exit_code = 8


class LockError(SpiralError):
    """9: conda-lock.yml could not be made: no solver or channel from here, or the solve failed."""

    exit_code = 9


class RecordError(SpiralError):
    """10: a run record is missing, damaged, or not the one the run expects."""

    exit_code = 10


class IntegrityError(SpiralError):
    """11: data or a model is missing from the remote, or is not what its hash or type says."""

    exit_code = 11


class OverBudget(SpiralError):
    """12: the run's estimate does not fit in what is left of the month's budget; nothing was submitted."""

    exit_code = 12


class TableError(SpiralError):
    """13: a table could not be read or written; the message names the URI and what is wrong."""

    exit_code = 13


class BelowThreshold(SpiralError):
    """14: a metric of the run is below the floor set for it (``spiral report --fail-below``, ``--check``); the
    report was written first."""

    exit_code = 14


CATEGORIES: tuple[type[SpiralError], ...] = (
    SpiralError,
    UsageError,
    NamespaceError,
    AwsConfigError,
    AwsError,
    InfraError,
    StageFailed,
    StillRunning,
    LockError,
    RecordError,
    IntegrityError,
    OverBudget,
    TableError,
    BelowThreshold,
)
