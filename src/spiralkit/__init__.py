"""spiralkit: the library and ``spiral`` CLI that projects stamped out by the spiralkit template run on."""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spiralkit.results.client import Runs

__all__ = ["Runs", "__version__"]
__version__ = version("spiralkit")


def __getattr__(name: str) -> Any:
    """``from spiralkit import Runs`` imports the client (and boto3) only when asked: the CLI stays quick."""
    if name == "Runs":
        from spiralkit.results.client import Runs

        return Runs
    raise AttributeError(f"module 'spiralkit' has no attribute {name!r}")
