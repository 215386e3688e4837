"""Running the DVC pipeline on AWS Batch: one job per stage, ``dependsOn`` mirroring DVC's graph.

``plan`` reads the pipeline through DVC, ``settings`` checks each stage's ``meta.batch``, ``jobs``
builds the Batch requests, ``submit`` sends them, ``progress`` follows them, ``job`` is what each
job runs, ``run`` ties them together for ``spiral run``.
"""
