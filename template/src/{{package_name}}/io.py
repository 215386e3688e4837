"""Where each stage reads and writes, and the helpers they share, so dvc.yaml stays true.

Every path here is also in dvc.yaml: a stage that uses this module lists it as a dependency.
"""

import pickle
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

RAW = "data/raw/cases.parquet"
TRAIN = "data/features/train.parquet"
TEST = "data/features/test.parquet"
MODEL = Path("models/model.pkl")
PREDICTIONS = "data/predictions.parquet"
ID_AND_LABEL = ("case_id", "label")


def params(section: str, path: Path = Path("params.yaml")) -> dict[str, Any]:
    """Return ``params.yaml[section]``: DVC reruns a stage when its section changes."""
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))[section])


def feature_names(table: pa.Table) -> list[str]:
    """Every column the model may learn from: all but the identifier and the label."""
    return [name for name in table.column_names if name not in ID_AND_LABEL]


def save_model(model: Any, path: Path = MODEL) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(model))


def load_model(path: Path = MODEL) -> Any:
    """The model the last `train` run wrote (our own pipeline's output, so unpickling is safe)."""
    return pickle.loads(path.read_bytes())
