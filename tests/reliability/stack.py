"""Launcher-like processes that a test can kill and restart one by one.

``bot.launcher`` supervises everything as one unit (when one process dies it stops the others),
which is right for ``make run`` but hides what a user sees when a single dependency fails. A
:class:`Stack` starts the same commands as the launcher (``python -m rasa_sdk --actions
actions.skills`` and ``rasa run`` with the project's endpoints and channels) on free localhost
ports, over a temporary order database and tracker store, each process in its own process group
so it can be killed (``SIGKILL``: a crash) and started again.

Several Rasa servers behind the proxy (``add_proxy``), over a shared PostgreSQL tracker store and a
Redis lock store, are the layout ``make run`` starts with ``RASA_WORKERS`` > 1 (``bot/cluster.py``).

Used by ``tests/reliability``, ``tests/abuse`` and ``tests/benchmarks/bench.py``.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.harness import free_port  # noqa: F401 - re-exported for the reliability tests

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
RASA = Path(PYTHON).with_name("rasa")
TOKEN = "reliability-test-token"
JWT_SECRET = "reliability-test-jwt-secret-0123456789abcdef"
QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


def newest_model() -> Path:
    """The model of this checkout (name kept for the callers)."""
    from bot.model_hash import current_model

    return current_model()


def project_settings() -> dict[str, str]:
    """The committed defaults (.env.example) under the local .env, as bot/settings.py resolves them
    (the environment, applied on top by the caller, wins)."""
    from dotenv import dotenv_values

    values = {k: v for k, v in dotenv_values(ROOT / ".env.example").items() if v}
    if (ROOT / ".env").exists():
        values.update({k: v for k, v in dotenv_values(ROOT / ".env").items() if v})
    return values


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def seed_orders(database_url: str) -> None:
    """Migrate + (re)load the demo orders (as ``make run`` does at every start)."""
    subprocess.run(
        [PYTHON, "-m", "actions.orders", "--url", database_url, "seed"],
        cwd=ROOT, env={**os.environ, **QUIET_ENV}, check=True, capture_output=True, timeout=120,
    )


def write_credentials(path: Path, env: dict[str, str]) -> Path:
    """The project's effective channels (bot/credentials.yml + env), as the launcher writes them."""
    try:
        from bot.channels import config as channels_config

        return channels_config.write_credentials(output=path, environ=env, log=lambda line: None)
    except ImportError:  # older layout: Rasa's own REST channel
        path.write_text("rest:\n")
        return path


def sanic_limits(env: dict[str, str], size_key: str) -> dict[str, str]:
    """The request-size limits the launcher gives each server (when the launcher defines them)."""
    try:
        from bot import launcher

        return launcher.sanic_limits(env, size_key)
    except (ImportError, AttributeError):
        return {}


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    health_url: str
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        assert not self.alive(), f"{self.name} is already running"
        handle = open(self.log, "a")
        handle.write(f"\n----- start {time.strftime('%H:%M:%S')} {' '.join(self.args[:4])}\n")
        handle.flush()
        self.popen = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=handle,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        handle.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_ready(self, timeout: float) -> float:
        """Seconds until the health URL answers 200 (raises when the process dies or times out)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.popen and self.popen.returncode}):\n"
                                   + self.tail())
            try:
                with urllib.request.urlopen(self.health_url, timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - start
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s:\n" + self.tail())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self.popen = None

    def kill(self) -> None:
        """A crash: SIGKILL, no cleanup."""
        self.stop(signal.SIGKILL)

    def pid(self) -> int | None:
        return self.popen.pid if self.alive() else None

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Stack:
    """Action server(s) + Rasa server(s) over one order database and one tracker store."""

    workdir: Path
    model: Path = field(default_factory=newest_model)
    database_url: str = ""
    tracker_store_url: str = ""
    lock_store: dict[str, Any] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database_url = self.database_url or sqlite_url(self.workdir / "orders.db")
        self.tracker_store_url = self.tracker_store_url or sqlite_url(self.workdir / "tracker.db")
        self.env = {
            **project_settings(),
            **os.environ,
            **QUIET_ENV,
            "RASA_AUTH_TOKEN": TOKEN,
            "AUTH_JWT_SECRET": JWT_SECRET,
            "DATABASE_URL": self.database_url,
            "TRACKER_STORE_URL": self.tracker_store_url,
            "LOG_LEVEL": "INFO",
            **self.extra_env,
        }
        self.credentials = write_credentials(self.workdir / "credentials.yml", self.env)

    # --- processes ----------------------------------------------------------------------------

    def add_actions(self, name: str = "actions", port: int | None = None, **env: str) -> Process:
        port = port or free_port()
        process = Process(
            name, [PYTHON, "-m", "rasa_sdk", "--actions", "actions.skills", "--port", str(port)],
            {**self.env, "SANIC_HOST": "127.0.0.1", **sanic_limits(self.env, "ACTION_REQUEST_MAX_SIZE"), **env},
            self.workdir / f"{name}.log", f"http://127.0.0.1:{port}/health",
        )
        process.port = port  # type: ignore[attr-defined]
        self.processes[name] = process
        return process

    def endpoints_file(self, name: str, action_port: int) -> Path:
        """bot/endpoints.yml with this stack's action server, tracker store and lock store."""
        config = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text())
        config["action_endpoint"] = {"url": f"http://127.0.0.1:{action_port}/webhook"}
        config["tracker_store"] = {**config.get("tracker_store", {}), "url": self.tracker_store_url}
        if self.lock_store:
            config["lock_store"] = self.lock_store
        path = self.workdir / f"endpoints-{name}.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def add_rasa(self, name: str = "rasa", actions: str = "actions", port: int | None = None,
                 model: Path | None = None, behind_proxy: bool = False, **env: str) -> Process:
        port = port or free_port()
        endpoints = self.endpoints_file(name, self.processes[actions].port)  # type: ignore[attr-defined]
        from bot.cluster import Proxy

        process = Process(
            name,
            [PYTHON, "-m", "bot.rasa_ext", "run", "--model", str(model or self.model), "--enable-api", "--auth-token", TOKEN,
             "--credentials", str(self.credentials), "--endpoints", str(endpoints),
             "--interface", "127.0.0.1", "--port", str(port)],
            {**self.env, **sanic_limits(self.env, "RASA_REQUEST_MAX_SIZE"),
             **(Proxy.worker_env() if behind_proxy else {}), **env},
            self.workdir / f"{name}.log", f"http://127.0.0.1:{port}/",
        )
        process.port = port  # type: ignore[attr-defined]
        self.processes[name] = process
        return process

    def add_proxy(self, servers: list[str], name: str = "proxy", access_log: bool = False) -> Process:
        """nginx in front of the Rasa ``servers``, configured as ``make run`` configures it
        (``bot.cluster.Proxy``); ``access_log``: each request's worker in ``<name>-access.log``."""
        from bot.cluster import Proxy

        port = free_port()
        proxy = Proxy(self.workdir / name, "127.0.0.1", port, [self.processes[s].port for s in servers],  # type: ignore[attr-defined]
                      access_log=self.workdir / f"{name}-access.log" if access_log else None)
        process = Process(name, proxy.command(), {**self.env}, self.workdir / f"{name}.log", f"http://127.0.0.1:{port}/")
        process.port = port  # type: ignore[attr-defined]
        self.processes[name] = process
        return process

    def served_by(self, name: str = "proxy") -> list[tuple[str, str, int]]:
        """(method and path, worker name, status) of every request the proxy passed on (``access_log``)."""
        ports = {f"127.0.0.1:{p.port}": n for n, p in self.processes.items() if hasattr(p, "port")}
        lines = (self.workdir / f"{name}-access.log").read_text().splitlines()
        return [(f"{m} {path}", ports.get(upstream, upstream), int(status))
                for m, path, upstream, status in (line.split() for line in lines)]

    def start(self, timeout: float = 300) -> dict[str, float]:
        """Seeds the order database, starts every process that is not running; seconds to ready."""
        seed_orders(self.database_url)
        waiting = [p for p in self.processes.values() if not p.alive()]
        for process in waiting:
            process.start()
        return {p.name: p.wait_ready(timeout) for p in waiting}

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()

    def __getitem__(self, name: str) -> Process:
        return self.processes[name]

    # --- HTTP ---------------------------------------------------------------------------------

    def base(self, rasa: str = "rasa") -> str:
        return f"http://127.0.0.1:{self.processes[rasa].port}"  # type: ignore[attr-defined]

    def request(self, path: str, body: Any = None, *, raw: bytes | None = None, rasa: str = "rasa",
                token: bool = False, method: str | None = None, timeout: float = 60,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        url = self.base(rasa) + path + (("&" if "?" in path else "?") + f"token={TOKEN}" if token else "")
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            payload, status = error.read(), error.code
        try:
            return status, json.loads(payload or b"null")
        except ValueError:
            return status, payload.decode(errors="replace")

    def say(self, sender: str, message: str, rasa: str = "rasa", **metadata: Any) -> list[dict]:
        body: dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        status, replies = self.request("/webhooks/rest/webhook", body, rasa=rasa)
        assert status == 200, (status, replies)
        return replies

    def tracker(self, sender: str, rasa: str = "rasa") -> dict:
        status, tracker = self.request(f"/conversations/{sender}/tracker", rasa=rasa, token=True)
        assert status == 200, (status, tracker)
        return tracker


def text(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def with_children(pid: int) -> list[int]:
    """The process and its direct children (a launcher's servers, a Sanic main and its workers)."""
    try:
        return [pid] + [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return [pid]


def proc_field_kb(pid: int, file: str, field: str) -> int:
    """Sum of a ``Field: N kB`` line of /proc/<pid>/<file> over the process and its children."""
    total = 0
    for p in with_children(pid):
        try:
            for line in Path(f"/proc/{p}/{file}").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (kB), from /proc."""
    return proc_field_kb(pid, "status", "VmRSS:")


# --- one stack shared by tests/abuse and tests/reliability (a Rasa cold start is the slow part) ---

_shared: Stack | None = None


def shared_stack(workdir: Path) -> Stack:
    """The session's action server + Rasa server (SQLite orders and tracker store, the defaults),
    started on first use and stopped by :func:`release_shared_stack` or at exit."""
    global _shared
    if _shared is None:
        stack = Stack(workdir)
        stack.add_actions()
        stack.add_rasa()
        atexit.register(stack.stop)
        try:
            stack.start()
        except BaseException:
            stack.stop()
            raise
        _shared = stack
    for process in _shared.processes.values():  # a test may have left one stopped
        if not process.alive():
            process.start()
            process.wait_ready(300)
    return _shared


def release_shared_stack() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


def restart(process: Process, timeout: float = 300) -> float:
    """Stop (SIGTERM) and start a process again; seconds until it answers."""
    process.stop()
    process.start()
    return process.wait_ready(timeout)
