"""Starts the whole assistant for ``make run`` (and the end-to-end tests).

1. resolves settings (``bot/settings.py``), migrates and seeds the demo order database;
2. starts the action server (localhost), the seller-deadline job and the Rasa server
   (REST + socket.io channels, HTTP API behind a token, SQL tracker store);
3. waits until both servers answer, prints where to chat, and stops every process it started on
   Ctrl-C, SIGTERM or when one of them dies.

    python -m bot.launcher [--no-seed] [--model PATH] [--shell]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot import settings

ROOT = settings.ROOT
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def newest_model(directory: Path) -> Path:
    models = sorted(directory.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        sys.exit(f"No trained model in {directory}/: run `make train` first.")
    return models[-1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


class Supervisor:
    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], **env: str) -> subprocess.Popen:
        print(f"[launcher] starting {name}", flush=True)
        process = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-seed", action="store_true", help="keep the order database as it is")
    parser.add_argument("--model", help="model archive (default: newest in MODEL_DIR)")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for the servers")
    parser.add_argument("--shell", action="store_true", help="chat in this terminal instead of serving")
    args = parser.parse_args(argv)

    config = settings.load()
    (ROOT / "var").mkdir(exist_ok=True)
    model = Path(args.model) if args.model else newest_model(ROOT / config["MODEL_DIR"])

    subprocess.run([PYTHON, "-m", "actions.orders", "migrate"], cwd=ROOT, check=True)
    if not args.no_seed:
        subprocess.run([PYTHON, "-m", "actions.orders", "seed"], cwd=ROOT, check=True)

    supervisor = Supervisor()

    def shutdown(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    try:
        actions = supervisor.start(
            "action server",
            [PYTHON, "-m", "rasa_sdk", "--actions", "actions.skills", "--port", config["ACTION_PORT"]],
            SANIC_HOST=config["ACTION_HOST"],
        )
        supervisor.start(
            "seller-deadline job",
            [PYTHON, "-m", "actions.orders", "deadlines", "--loop", config["DEADLINE_JOB_INTERVAL"]],
        )
        if args.shell:
            wait_until_up(f"http://{config['ACTION_HOST']}:{config['ACTION_PORT']}/health", actions, args.timeout)
            return subprocess.call(
                [str(BIN / "rasa"), "shell", "--model", str(model), "--endpoints", "bot/endpoints.yml"],
                cwd=ROOT,
            )
        rasa = supervisor.start(
            "Rasa server",
            [
                str(BIN / "rasa"), "run", "--model", str(model), "--enable-api",
                "--auth-token", config["RASA_AUTH_TOKEN"], "--cors", *config["CORS_ORIGINS"].split(","),
                "--credentials", "bot/credentials.yml", "--endpoints", "bot/endpoints.yml",
                "--interface", config["RASA_HOST"], "--port", config["RASA_PORT"],
            ],
        )
        base = f"http://{config['RASA_HOST']}:{config['RASA_PORT']}"
        wait_until_up(f"http://{config['ACTION_HOST']}:{config['ACTION_PORT']}/health", actions, args.timeout)
        wait_until_up(f"{base}/", rasa, args.timeout)
        print(
            f"\n[launcher] Ready. Model {model.name}.\n"
            f"  REST:     curl -s {base}/webhooks/rest/webhook -H 'Content-Type: application/json' "
            f"-d '{{\"sender\": \"me\", \"message\": \"hello\"}}'\n"
            f"  Terminal: make shell\n"
            f"  HTTP API token: {config['RASA_AUTH_TOKEN']}\n"
            f"  Ctrl-C stops everything.\n",
            flush=True,
        )
        while all(p.poll() is None for p in supervisor.processes):
            time.sleep(0.5)
        failed = [p.args[:3] for p in supervisor.processes if p.poll() is not None]
        print(f"[launcher] a process stopped: {failed}; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[launcher] stopping", flush=True)
        return 0
    finally:
        supervisor.stop()


if __name__ == "__main__":
    sys.exit(main())
