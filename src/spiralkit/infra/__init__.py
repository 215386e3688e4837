"""The project's AWS stack (``infra/stack.yaml``): ``deploy`` creates or updates it, ``changes`` says
what an update will do before it does it."""

from spiralkit.errors import InfraError


class NotApproved(InfraError):
    """The change set was printed but not executed: nobody said yes."""
