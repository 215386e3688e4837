"""Results people can see: any run's numbers and outputs back in Python, compared, and shown in a report.

``client`` is the Client API (``from spiralkit import Runs``), read from the run records in S3 or a local
folder with no checkout of the project; ``objects`` reads outputs from the DVC remote by their recorded md5;
``compare`` says what changed between two runs; ``report`` writes one self-contained HTML page about a
run (``plots`` draws its DVC plots, ``graph`` its pipeline); ``publish`` puts reports where people look.
"""
