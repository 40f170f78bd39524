"""The name of the model built from this checkout: a hash of everything the model is trained from.

    python3 bot/model_hash.py            # prints e.g. models/model-3f2a9c1b7d20.tar.gz

``make train`` trains that file only when it does not exist (an unchanged checkout reuses its model),
and the launcher and the tests serve that file, never "the newest one": a model left over from
another branch is never tested by mistake. Standard library only: it runs before the venv exists.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ("bot/config.yml", "bot/domain", "data", "bot/components")


def model_inputs(root: Path = ROOT) -> list[Path]:
    files: list[Path] = []
    for name in INPUTS:
        path = root / name
        if path.is_file():
            files.append(path)
        else:
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yml", ".py")
                            and "__pycache__" not in p.parts)
    return files


def model_hash(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for path in model_inputs(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def model_path(root: Path = ROOT) -> Path:
    return root / "models" / f"model-{model_hash(root)}.tar.gz"


def current_model(root: Path = ROOT) -> Path:
    """The model to serve or test: ``RASA_MODEL`` (the Makefile exports it), else this checkout's."""
    import os

    chosen = Path(os.environ["RASA_MODEL"]) if os.environ.get("RASA_MODEL") else model_path(root)
    chosen = chosen if chosen.is_absolute() else root / chosen
    if not chosen.exists():
        raise FileNotFoundError(f"{chosen.relative_to(root) if chosen.is_relative_to(root) else chosen} "
                                "does not exist: run `make train` (the model of this checkout)")
    return chosen


if __name__ == "__main__":
    sys.stdout.write(f"{model_path().relative_to(ROOT)}\n")
