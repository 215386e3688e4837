"""Running the DVC pipeline on AWS Batch: one job per stage, ``dependsOn`` mirroring DVC's graph.

``plan`` reads the pipeline through DVC, ``settings`` checks each stage's ``meta.batch``, ``jobs``
builds the Batch requests, ``submit`` sends them, ``run`` checks everything first, records the run
(:mod:`spiralkit.runs`) and ties it together, ``job`` is what each job runs, ``progress`` and
``lookup`` follow a run afterwards.
"""
