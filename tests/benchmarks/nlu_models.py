"""NLU-only models for the benchmark, cached by a fingerprint of everything that shapes them.

``models/eval/<name>-<fingerprint>.tar.gz``: the fingerprint hashes the config, every file under
``data/nlu`` and (for our pipeline) the custom components' source, plus the Rasa version, so a
rerun with nothing changed reuses the trained model.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NLU_DATA = ROOT / "data" / "nlu"
MODELS = ROOT / "models" / "eval"
RASA = Path(sys.executable).with_name("rasa")

PIPELINES = {
    "ours": ROOT / "bot" / "config.yml",
    "stock": ROOT / "tests" / "benchmarks" / "stock_config.yml",
}


def _pipeline_section(config: Path) -> bytes:
    """The config without its `policies:` section (NLU-only training ignores policies)."""
    text = config.read_text(encoding="utf-8")
    head, _, _ = text.partition("\npolicies:")
    return head.encode("utf-8")


def _component_sources(config: Path) -> list[Path]:
    """Source files of the custom components the pipeline names, and the bot modules they import."""
    text = _pipeline_section(config).decode("utf-8")
    todo = re.findall(r"name:\s*(bot(?:\.\w+)+)\.\w+", text)
    seen: set[Path] = set()
    while todo:
        path = ROOT / (todo.pop().replace(".", "/") + ".py")
        if path in seen or not path.exists():
            continue
        seen.add(path)
        todo += re.findall(r"^\s*(?:from|import)\s+(bot(?:\.\w+)+)", path.read_text(), re.M)
    return sorted(seen)


def fingerprint(name: str) -> str:
    import rasa

    digest = hashlib.sha256()
    digest.update(rasa.__version__.encode())
    digest.update(_pipeline_section(PIPELINES[name]))
    files = sorted(NLU_DATA.rglob("*.yml")) + _component_sources(PIPELINES[name])
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def model_path(name: str) -> Path:
    return MODELS / f"{name}-{fingerprint(name)}.tar.gz"


def train(name: str, quiet: bool = True) -> tuple[Path, float | None]:
    """The cached model for ``name``, training it first when its fingerprint changed.

    Returns (path, training seconds or None when reused).
    """
    path = model_path(name)
    if path.exists():
        return path, None
    MODELS.mkdir(parents=True, exist_ok=True)
    # No training cache: the reported training time is that of a full, from-scratch training.
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2",
               RASA_MAX_CACHE_SIZE="0",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    cmd = [str(RASA), "train", "nlu", "--config", str(PIPELINES[name]), "--nlu", str(NLU_DATA),
           "--out", str(MODELS), "--fixed-model-name", path.name[: -len(".tar.gz")]]
    print(f"training {name} -> {path.relative_to(ROOT)} ...", flush=True)
    start = time.perf_counter()
    log = MODELS / f"{name}-train.log"
    with open(log, "w") as out:
        result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out if quiet else None,
                                stderr=subprocess.STDOUT if quiet else None)
    seconds = time.perf_counter() - start
    if result.returncode != 0 or not path.exists():
        raise SystemExit(f"training {name} failed (exit {result.returncode}); see {log}")
    path.with_name(path.name.replace(".tar.gz", ".seconds")).write_text(f"{seconds:.1f}\n")
    print(f"trained {name} in {seconds:.0f} s", flush=True)
    return path, seconds


if __name__ == "__main__":
    # python tests/benchmarks/nlu_models.py stock|ours : train (or reuse) one model
    for arg in sys.argv[1:]:
        print(train(arg)[0])
