"""Stage 4, evaluate: score the held-out cases; `dvc metrics show` and `dvc plots show` read the results."""

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
    return {
        "roc_auc": round(float(metrics.roc_auc_score(labels, scores)), 4),
        "recall": round(float(metrics.recall_score(labels, flagged, zero_division=0)), 4),
        "precision": round(float(metrics.precision_score(labels, flagged, zero_division=0)), 4),
        "accuracy": round(float(metrics.accuracy_score(labels, flagged)), 4),
    }


def main() -> None:
    test = read_table(TEST)
    labels, scores = test["label"].to_numpy(), probabilities(load_model(), test)
    threshold = params("evaluate")["threshold"]
    METRICS.write_text(json.dumps(score(labels, scores, threshold), indent=2) + "\n")
    fpr, tpr, _ = metrics.roc_curve(labels, scores)
    ROC.parent.mkdir(parents=True, exist_ok=True)
    roc = [{"fpr": round(float(f), 4), "tpr": round(float(t), 4)} for f, t in zip(fpr, tpr)]
    ROC.write_text(json.dumps({"roc": roc}, indent=2) + "\n")
    cases = [
        {"actual": int(a), "predicted": int(p)}
        for a, p in zip(labels, scores >= threshold)
    ]
    CONFUSION.write_text(json.dumps({"cases": cases}) + "\n")


if __name__ == "__main__":
    main()
