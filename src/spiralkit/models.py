"""Models on disk: skops files that load without running code, and that are the same bytes every time.

skops names the arrays in its zip after ``id()`` of each array and stamps each entry with the time of
writing, so saving one model twice gives two different files, two md5s in dvc.lock, and a stage
after ``train`` that reruns for nothing (and a Batch run whose dvc.lock differs from a laptop's).
:func:`save` renames the arrays in the order the schema first names them and fixes the time.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from spiralkit.errors import IntegrityError

_OBJECT_ID = re.compile(r"\b\d{6,}\b")  # id() of an array, as skops writes it in names and the schema
_EPOCH = (1980, 1, 1, 0, 0, 0)


class ModelError(IntegrityError):
    """A model file is not one this project may load: a pickle without opt-in, or an untrusted type."""


def save(model: Any, path: Path) -> None:
    """Write ``model`` to ``path`` as a skops file, identical for an identical model."""
    import skops.io

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(skops.io.dumps(model))) as made:
        schema = made.read("schema.json").decode()
        names = {old: str(new) for new, old in enumerate(dict.fromkeys(_OBJECT_ID.findall(schema)))}

        def renamed(text: str) -> str:
            return _OBJECT_ID.sub(lambda match: names.get(match.group(), match.group()), text)

        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as saved:
            for entry in sorted(made.infolist(), key=lambda item: renamed(item.filename)):
                body = renamed(schema).encode() if entry.filename == "schema.json" else made.read(entry)
                saved.writestr(zipfile.ZipInfo(renamed(entry.filename), _EPOCH), body, zipfile.ZIP_DEFLATED)


def load(path: Path, trusted: Iterable[str] = (), allow_pickle: bool = False) -> Any:
    """The model at ``path``; no code from the file runs.

    skops loads only the types it trusts and those in ``trusted`` (read what a type is before adding
    it: ``skops.io.get_untrusted_types``). ``allow_pickle=True`` reads a ``.pkl`` from before skops;
    unpickling runs whatever the file says, so pass it only for a file you made yourself.
    """
    if path.suffix == ".pkl":
        if not allow_pickle:
            raise ModelError(f"{path} is a pickle, which runs code when loaded: retrain to get a .skops file")
        import pickle

        warnings.warn(f"unpickling {path}: this runs any code the file holds", stacklevel=2)
        return pickle.loads(path.read_bytes())
    import skops.io

    allowed = set(trusted)
    if unknown := sorted(set(skops.io.get_untrusted_types(file=path)) - allowed):
        raise ModelError(f"{path} holds types that are not trusted: {', '.join(unknown)}")
    return skops.io.load(path, trusted=sorted(allowed) or None)
