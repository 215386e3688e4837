"""Typed errors: the library raises them, the CLI turns each into one clear message and an exit code."""


class SpiralError(Exception):
    """A problem the user can fix; its message says what is wrong and how to fix it."""

    exit_code = 1


class ConfigError(SpiralError):
    """The project's ``[tool.spiral]`` settings are missing or invalid."""

    exit_code = 2


class NamespaceError(SpiralError):
    """A run asked to write a namespace it may not write."""

    exit_code = 3


class AwsConfigError(SpiralError):
    """AWS credentials or region are missing, so nothing can be submitted."""

    exit_code = 4
