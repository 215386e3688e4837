"""Thin CLI wrappers: each module registers one ``spiral`` subcommand and calls the library."""
