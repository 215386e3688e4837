"""Where each stage reads and writes, and the helpers they share, so dvc.yaml stays true.

Every path here is also in dvc.yaml: a stage that uses this module lists it as a dependency.
"""

import pickle
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import skops.io
import yaml

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
    """Save with skops: loading it back rebuilds the model without running code from the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    skops.io.dump(model, path)


def load_model(path: Path = MODEL, allow_pickle: bool = False) -> Any:
    """The model ``train`` wrote. A model file can come from another run, so no code in it runs:
    skops loads only types it trusts or that ``TRUSTED_TYPES`` lists, and refuses the rest.

    ``allow_pickle=True`` reads a ``.pkl`` file from before skops; unpickling runs whatever the file
    says, so pass it only for a file you made yourself.
    """
    if path.suffix == ".pkl":
        if not allow_pickle:
            raise ValueError(f"{path} is a pickle, which runs code when loaded: retrain to get {MODEL}")
        warnings.warn(f"unpickling {path}: this runs any code the file holds", stacklevel=2)
        return pickle.loads(path.read_bytes())
    unknown = sorted(set(skops.io.get_untrusted_types(file=path)) - TRUSTED_TYPES)
    if unknown:
        raise ValueError(f"{path} holds types that are not trusted: {', '.join(unknown)} (see TRUSTED_TYPES)")
    return skops.io.load(path, trusted=sorted(TRUSTED_TYPES) or None)
