"""The generated example's five stages as a Metaflow flow: the peer ``spiral run --on local`` is measured against.

The same data and model as the DVC pipeline, by calling the same functions of the project's own package
(``SPIRAL_BENCH_PACKAGE``, default ``project``) with the same params.yaml: ingest loads the cases as of the
snapshot, features splits them, train fits the model, evaluate scores the held-out cases, publish
scores every case and publishes the predictions. Each step passes its results on as Metaflow artifacts,
the way a Metaflow user writes a flow, and imports what it needs inside the step, so no step pays for
another's libraries. Run from the project's directory, with no network::

    METAFLOW_HOME=/tmp/mf USERNAME=bench python metaflow_flow.py --no-pylint \\
        --datastore=local --metadata=local run

(bench/local_runs.py does this, with the datastore in a fresh temporary directory each time.)
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from metaflow import FlowSpec, step

PACKAGE = os.environ.get("SPIRAL_BENCH_PACKAGE", "project")


def part(name: str) -> Any:
    """A module of the project's package, e.g. ``part("train")``."""
    return importlib.import_module(f"{PACKAGE}.{name}")


class ExampleFlow(FlowSpec):
    """ingest -> features -> train -> evaluate -> publish, as the example's dvc.yaml chains them."""

    @step
    def start(self):
        """Metaflow's required first step: ingest, as the pipeline's first stage."""
        settings = part("io").params("ingest")
        self.cases = part("ingest").load(settings["dataset"], settings["snapshot"])
        self.next(self.features)

    @step
    def features(self):
        settings = part("io").params("features")
        self.train_cases, self.test_cases = part("features").split(self.cases, settings["test_size"], settings["seed"])
        self.next(self.train)

    @step
    def train(self):
        self.model = part("train").fit(self.train_cases, part("io").params("train"))
        self.next(self.evaluate)

    @step
    def evaluate(self):
        evaluate = part("evaluate")
        labels = self.test_cases["label"].to_numpy()
        scores = evaluate.probabilities(self.model, self.test_cases)
        self.metrics = evaluate.score(labels, scores, part("io").params("evaluate")["threshold"])
        fpr, tpr, _ = evaluate.metrics.roc_curve(labels, scores)
        self.roc = {"fpr": fpr.round(4).tolist(), "tpr": tpr.round(4).tolist()}
        self.next(self.end)

    @step
    def end(self):
        """Metaflow's required last step: publish, as the pipeline's last stage."""
        from spiralkit.published import publish

        predictions = part("publish").predict(self.model, self.cases, part("io").params("evaluate")["threshold"])
        self.target = str(publish(predictions, "predictions.parquet"))
        print(f"published {predictions.num_rows} predictions to {self.target}; metrics {self.metrics}")


if __name__ == "__main__":
    ExampleFlow()
