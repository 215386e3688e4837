"""Stage 1, ingest: bring the source data in as it stood on one day, unchanged but for column names.

The day (`ingest.snapshot` in params.yaml) is the data's version: the same day always gives the same
rows, so every run records which data it used, and a new day gives a new result. In production the
scheduled retraining sets the day it runs on (`spiral run --set ingest.snapshot=...`).
"""

from datetime import date, timedelta

import pyarrow as pa
from sklearn import datasets
from spiralkit.tables import write_table

from .io import RAW, params

SOURCES = {"breast_cancer": datasets.load_breast_cancer}
FIRST_CASE = date(2025, 1, 1)  # the example's cases arrived one a day from this day on


def load(dataset: str, snapshot: str = "9999-12-31") -> pa.Table:
    """The cases of ``dataset`` received by ``snapshot``: ``case_id``, the measurements, ``label``.

    The example reads a table bundled with scikit-learn so the first spiral runs offline; replace
    this function with a read of your real source as of the snapshot (a warehouse query
    ``WHERE received <= :snapshot``, or ``spiralkit.tables.read_table``).
    """
    if dataset not in SOURCES:
        raise SystemExit(f"ingest.dataset must be one of {sorted(SOURCES)}, not {dataset!r}")
    frame = SOURCES[dataset](as_frame=True).frame
    frame.columns = [name.replace(" ", "_") for name in frame.columns]
    frame["label"] = 1 - frame.pop("target")  # scikit-learn codes malignant as 0; flag it as 1
    frame.insert(0, "case_id", range(len(frame)))
    received = [FIRST_CASE + timedelta(days=case) for case in frame["case_id"]]
    frame = frame[[day <= date.fromisoformat(str(snapshot)) for day in received]]
    return pa.Table.from_pandas(frame, preserve_index=False)


def main() -> None:
    settings = params("ingest")
    write_table(load(settings["dataset"], settings["snapshot"]), RAW)


if __name__ == "__main__":
    main()
