"""spiralkit: the library and ``spiral`` CLI that projects stamped out by the spiralkit template run on."""

from importlib.metadata import version

__version__ = version("spiralkit")
