"""Model files: skops, never an unpickle of whatever a remote holds, and the same bytes for the same model."""

from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from helpers import ROOT

from spiralkit.models import ModelError

skops_io = pytest.importorskip("skops.io", reason="skops is a dependency of generated projects, not of spiralkit")
LogisticRegression = pytest.importorskip("sklearn.linear_model").LogisticRegression


class Planted:
    """Stands for code an attacker put in a model file: unpickling it would run ``__reduce__``."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("planted code ran",))


@pytest.fixture
def io() -> ModuleType:
    """The generated project's io module, which saves and loads through spiralkit.models."""
    path = ROOT / "template" / "src" / "{{package_name}}" / "io.py"
    spec = importlib.util.spec_from_file_location("generated_io", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_model_round_trips_through_skops(io: ModuleType, tmp_path: Path) -> None:
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [0.1], [0.9]]), [0, 1, 0, 1])
    io.save_model(model, tmp_path / "model.skops")
    loaded = io.load_model(tmp_path / "model.skops")
    assert loaded.predict([[0.95]]).tolist() == [1]
    assert io.MODEL.suffix == ".skops"


def test_a_type_outside_the_allow_list_is_refused(io: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    skops_io.dump({"model": Planted()}, path)
    with pytest.raises(ModelError, match=r"not trusted: .*Planted"):
        io.load_model(path)


def test_pickle_only_on_explicit_opt_in_with_a_warning(
    io: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Planted()))
    with pytest.raises(ModelError, match="runs code when loaded"):
        io.load_model(path)
    assert "planted code ran" not in capsys.readouterr().out
    with pytest.warns(UserWarning, match="runs any code"):
        io.load_model(path, allow_pickle=True)
    assert "planted code ran" in capsys.readouterr().out


SAVE = """
import sys
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from spiralkit import models
model = make_pipeline(StandardScaler(), LogisticRegression()).fit(np.arange(8.0).reshape(4, 2), [0, 0, 1, 1])
models.save(model, __import__("pathlib").Path(sys.argv[1]))
"""


def test_the_same_model_saved_by_two_processes_is_the_same_bytes(tmp_path: Path) -> None:
    """skops names arrays after id() and stamps the time: neither may reach the file."""
    for name in ("a.skops", "b.skops"):
        subprocess.run([sys.executable, "-c", SAVE, str(tmp_path / name)], check=True)
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()
    loaded = skops_io.load(tmp_path / "a.skops", trusted=None)
    assert loaded.predict(np.array([[6.0, 7.0]])).tolist() == [1]
