"""Stage 2, features: split cases into training and test sets; derived features go here too."""

import numpy as np
import pyarrow as pa
from spiralkit.tables import read_table, write_table

from .io import RAW, TEST, TRAIN, params


def split(cases: pa.Table, test_size: float, seed: int) -> tuple[pa.Table, pa.Table]:
    """A stratified split, so both sets keep the share of positive cases.

    Plain NumPy rather than scikit-learn's ``train_test_split``: this stage then starts in a
    fraction of the time, which `dvc repro` pays on every run.
    """
    rng = np.random.default_rng(seed)
    labels = cases["label"].to_numpy()
    is_test = np.zeros(cases.num_rows, dtype=bool)
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        is_test[rows[: round(len(rows) * test_size)]] = True
    return cases.filter(pa.array(~is_test)), cases.filter(pa.array(is_test))


def main() -> None:
    settings = params("features")
    train, test = split(read_table(RAW), settings["test_size"], settings["seed"])
    write_table(train, TRAIN)
    write_table(test, TEST)


if __name__ == "__main__":
    main()
