"""Run records: what every run (local or on AWS Batch) did, written once, and how stages hand data on.

``store`` writes and reads records that are never overwritten, ``record`` is their layout,
``environment`` names the environment a stage ran in, ``dvcstage`` is the one place spiralkit
talks to DVC's internals (stage keys, objects by hash), ``stage`` runs one stage of a run the same
way on a laptop and in a Batch job, and ``local`` runs a whole pipeline here.
"""
