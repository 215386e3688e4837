"""Stage 2, features: split cases into training and test sets; derived features go here too."""

import pyarrow as pa
from sklearn.model_selection import train_test_split

from spiralkit.tables import read_table, write_table

from .io import RAW, TEST, TRAIN, params


def split(cases: pa.Table, test_size: float, seed: int) -> tuple[pa.Table, pa.Table]:
    """A stratified split, so both sets keep the share of positive cases."""
    train_rows, test_rows = train_test_split(
        range(cases.num_rows),
        test_size=test_size,
        random_state=seed,
        stratify=cases["label"].to_numpy(),
    )
    return cases.take(sorted(train_rows)), cases.take(sorted(test_rows))


def main() -> None:
    settings = params("features")
    train, test = split(read_table(RAW), settings["test_size"], settings["seed"])
    write_table(train, TRAIN)
    write_table(test, TEST)


if __name__ == "__main__":
    main()
