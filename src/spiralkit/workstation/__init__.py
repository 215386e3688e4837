"""Companion workstations: an EC2 instance that runs the project's workstation image, reached only
through SSM Session Manager, with a persistent home volume, and stopped by an agent when idle.

The command-line verbs are in ``spiralkit.commands.workstation``; each step lives in its own module
here (``settings``, ``lookup``, ``home``, ``network``, ``profile``, ``userdata``, ``machine``,
``connect``). What runs on the instance: the idle agent (``idle``, a package of its own) and the
scripts and systemd units in this repository's ``workstation/``.
"""

from spiralkit.errors import AwsError


class WorkstationError(AwsError):
    """A workstation cannot be created, found or reached; the message says what to do."""
