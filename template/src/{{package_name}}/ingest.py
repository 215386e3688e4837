"""Stage 1, ingest: bring the source data in, unchanged but for column names, as Parquet."""

import pyarrow as pa
from sklearn import datasets
from spiralkit.tables import write_table

from .io import RAW, params

SOURCES = {"breast_cancer": datasets.load_breast_cancer}


def load(dataset: str) -> pa.Table:
    """Load ``dataset``: ``case_id``, one column per measurement, and ``label`` (1 = positive).

    The example reads a table bundled with scikit-learn so the first spiral runs offline; replace
    this function with a read of your real source (a warehouse query, or
    ``spiralkit.tables.read_table``).
    """
    if dataset not in SOURCES:
        raise SystemExit(f"ingest.dataset must be one of {sorted(SOURCES)}, not {dataset!r}")
    frame = SOURCES[dataset](as_frame=True).frame
    frame.columns = [name.replace(" ", "_") for name in frame.columns]
    frame["label"] = 1 - frame.pop("target")  # scikit-learn codes malignant as 0; flag it as 1
    frame.insert(0, "case_id", range(len(frame)))
    return pa.Table.from_pandas(frame, preserve_index=False)


def main() -> None:
    write_table(load(params("ingest")["dataset"]), RAW)


if __name__ == "__main__":
    main()
