"""Stage 3, train: fit the model. Start from a baseline; each later spiral earns its complexity."""

from typing import Any

import pyarrow as pa
from sklearn.base import ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from spiralkit.tables import read_table

from .io import TRAIN, feature_names, params, save_model


def build(model: str, C: float = 1.0, max_iter: int = 1000) -> ClassifierMixin:
    """The models this project knows: ``majority`` is the floor, ``logistic_regression``
    the baseline."""
    models: dict[str, Any] = {
        "majority": lambda: DummyClassifier(strategy="prior"),
        "logistic_regression": lambda: make_pipeline(
            StandardScaler(), LogisticRegression(C=C, max_iter=max_iter)
        ),
    }
    if model not in models:
        raise SystemExit(f"train.model must be one of {sorted(models)}, not {model!r}")
    return models[model]()


def fit(train: pa.Table, settings: dict[str, Any]) -> ClassifierMixin:
    """Fit the configured model on the training table."""
    model = build(**settings)
    columns = feature_names(train)
    model.fit(train.select(columns).to_pandas(), train["label"].to_numpy())
    return model


def main() -> None:
    save_model(fit(read_table(TRAIN), params("train")))


if __name__ == "__main__":
    main()
