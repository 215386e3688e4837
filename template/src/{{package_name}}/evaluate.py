"""Stage 4, evaluate: score held-out cases for `dvc metrics show` and `dvc plots show`."""

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
from sklearn import metrics
from spiralkit.tables import read_table

from .io import TEST, feature_names, load_model, params

METRICS = Path("metrics.json")
ROC = Path("plots/roc.json")
CONFUSION = Path("plots/confusion.json")


def probabilities(model: Any, cases: pa.Table) -> Any:
    """The model's probability that each case is positive."""
    return model.predict_proba(cases.select(feature_names(cases)).to_pandas())[:, 1]


def score(labels: Any, scores: Any, threshold: float) -> dict[str, float]:
    """The metrics the problem statement names (docs/spiral/01-problem.md)."""
    flagged = scores >= threshold
    results = {
        "roc_auc": metrics.roc_auc_score(labels, scores),
        "recall": metrics.recall_score(labels, flagged, zero_division=0),
        "precision": metrics.precision_score(labels, flagged, zero_division=0),
        "accuracy": metrics.accuracy_score(labels, flagged),
    }
    return {name: round(float(value), 4) for name, value in results.items()}


def write_json(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=1) + "\n")


def main() -> None:
    test = read_table(TEST)
    labels, scores = test["label"].to_numpy(), probabilities(load_model(), test)
    threshold = params("evaluate")["threshold"]
    write_json(METRICS, score(labels, scores, threshold))
    fpr, tpr, _ = metrics.roc_curve(labels, scores)
    write_json(ROC, {"roc": pa.table({"fpr": fpr.round(4), "tpr": tpr.round(4)}).to_pylist()})
    cases = pa.table({"actual": labels, "predicted": (scores >= threshold).astype(int)})
    write_json(CONFUSION, {"cases": cases.to_pylist()})


if __name__ == "__main__":
    main()
