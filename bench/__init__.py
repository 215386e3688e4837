"""spiralkit's benchmark suite: each figure is the median of several runs, with a baseline measured in the same run.

``nox -s bench`` runs it (``-- --size-mb 100`` for a quick pass); ``python -m bench --help`` lists the options.
A benchmark is one module in this package with a ``run(context)`` that returns figures, registered in
``bench.suite.BENCHMARKS``.
"""
