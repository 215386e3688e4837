"""Where each stage reads and writes, and the helpers they share, so dvc.yaml stays true.

Every path here is also in dvc.yaml: a stage that uses this module lists it as a dependency.
"""

from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml
from spiralkit import models

RAW = "data/raw/cases.parquet"
TRAIN = "data/features/train.parquet"
TEST = "data/features/test.parquet"
MODEL = Path("models/model.skops")
# Types skops does not trust by default that this project's models may hold. skops refuses any
# other: add a name here only after reading what it is (`skops.io.get_untrusted_types`).
TRUSTED_TYPES: frozenset[str] = frozenset()
PREDICTIONS = "data/predictions.parquet"
ID_AND_LABEL = ("case_id", "label")


def params(section: str, path: Path = Path("params.yaml")) -> dict[str, Any]:
    """Return ``params.yaml[section]``: DVC reruns a stage when its section changes."""
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))[section])


def feature_names(table: pa.Table) -> list[str]:
    """Every column the model may learn from: all but the identifier and the label."""
    return [name for name in table.column_names if name not in ID_AND_LABEL]


def save_model(model: Any, path: Path = MODEL) -> None:
    """Save with skops: the same model gives the same bytes, and loading runs no code."""
    models.save(model, path)


def load_model(path: Path = MODEL, allow_pickle: bool = False) -> Any:
    """The model ``train`` wrote: only types skops trusts, or ``TRUSTED_TYPES`` lists, load."""
    return models.load(path, TRUSTED_TYPES, allow_pickle)
