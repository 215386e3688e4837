"""Stage 5, publish: score every case and hand the predictions to the systems that act on them.

Predictions go to this run's namespace (`user.<you>`, `test.<branch>` or `prod`): a local folder
until the project has an S3 bucket, then `s3://<bucket>/published/<namespace>/`.
"""

import pyarrow as pa
from spiralkit.published import publish
from spiralkit.tables import read_table, write_table

from .evaluate import probabilities
from .io import PREDICTIONS, RAW, load_model, params


def predict(model: object, cases: pa.Table, threshold: float) -> pa.Table:
    """One row per case: its id, the model's probability, and whether it is flagged for review."""
    scores = probabilities(model, cases)
    return pa.table(
        {
            "case_id": cases["case_id"],
            "probability": pa.array(scores, pa.float64()),
            "flagged": pa.array(scores >= threshold),
        }
    )


def main() -> None:
    predictions = predict(load_model(), read_table(RAW), params("evaluate")["threshold"])
    write_table(predictions, PREDICTIONS)
    target = publish(predictions, "predictions.parquet")  # into this run's namespace
    print(f"published {predictions.num_rows} predictions to {target}")


if __name__ == "__main__":
    main()
