"""The idle-stop agent: ``decide`` holds the rules (pure functions), ``lease`` the lease file's one format,
``agent`` observes the instance and powers it off when the rules say so.

Both modules are importable here (``spiral keepalive`` and the tests use them) and are also written,
unchanged, into each workstation's user-data as the package ``spiral_idle``, which the instance's own
python3 runs (``python3 -m spiral_idle.agent``). So: standard library only, Python 3.9 compatible,
and only relative imports between them.
"""
