"""Cold start and memory of the Rasa server for several models, started in turn (interleaved, so a
busy moment of the shared machine does not favour one of them):

    .venv/bin/python tests/benchmarks/cold_start.py --repeat 3 models/model-a.tar.gz models/model-b.tar.gz
    .venv/bin/python tests/benchmarks/cold_start.py --env RASA_EXTENSIONS=off ...   # an environment variant

For each start: seconds until the server answers with the model loaded, the first turn, and after one
turn in each language the resident memory (RSS) and the proportional memory (PSS: pages shared
with other processes, e.g. libraries, count for their share), and whether TensorFlow was loaded.
Medians per model are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench import STATUS, pss_kb  # noqa: E402

from tests.reliability.stack import Stack, rss_kb  # noqa: E402


def tensorflow_loaded(pid: int) -> bool:
    """Whether the process mapped TensorFlow's library (it is loaded at the first import)."""
    return "_pywrap_tensorflow_internal" in Path(f"/proc/{pid}/maps").read_text()


def start_once(model: Path, workdir: Path, env: dict[str, str]) -> dict[str, float]:
    stack = Stack(workdir, model=model, extra_env=env)
    stack.add_actions()
    stack.add_rasa()
    try:
        ready = stack.start(timeout=900)["rasa"]
        first = time.monotonic()
        stack.say("cold-start", STATUS["en"].format("8170087700000006"))
        first_turn = time.monotonic() - first
        for lang, text in STATUS.items():
            stack.say(f"cold-start-{lang}", text.format("8170087700000006"))
        pid = stack["rasa"].pid()
        return {"ready_s": ready, "first_turn_s": first_turn, "rss_mb": rss_kb(pid) / 1024,
                "pss_mb": pss_kb(pid) / 1024, "tensorflow": float(tensorflow_loaded(pid))}
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment of the Rasa server (all models)")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    results: dict[Path, list[dict[str, float]]] = {model: [] for model in args.models}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        for round_ in range(args.repeat):
            for i, model in enumerate(args.models):
                result = start_once(model, Path(tmp) / f"{round_}-{i}", env)
                results[model].append(result)
                loads.append(os.getloadavg()[0])
                print(f"{model.name}: " + ", ".join(f"{k} {v:.2f}" for k, v in result.items()), flush=True)
    print(f"\nload average (1 min) during the runs: {min(loads):.1f} to {max(loads):.1f}; medians of {args.repeat}\n")
    print("| model | Rasa ready, model loaded (s) | first turn (s) | RSS (MB) | PSS (MB) | TensorFlow loaded |")
    print("|---|---:|---:|---:|---:|---|")
    for model, runs in results.items():
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(f"| {model.name} | {med['ready_s']:.1f} | {med['first_turn_s']:.2f} | {med['rss_mb']:.0f} | "
              f"{med['pss_mb']:.0f} | {'yes' if med['tensorflow'] else 'no'} |")


if __name__ == "__main__":
    main()
