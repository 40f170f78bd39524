"""Several Rasa workers on one machine (``RASA_WORKERS`` > 1, docs/scaling.md): the processes they
need besides themselves, started from Debian's packages (``make services`` installs them) the same
way by ``make run`` (``bot/launcher.py``), the tests (``tests/reliability/stack.py``) and
``make bench``.

* :class:`Postgres`: a private PostgreSQL cluster (``initdb`` + ``postgres`` in the foreground, as
  the ``postgres`` OS user when we are root) holding the conversations, since the workers must
  share one tracker store;
* :class:`Redis`: a private ``redis-server`` for the lock store (``bot.lock_store``: two messages
  of one conversation reaching two workers are processed one after the other) and for socket.io's
  message queue (a message for a web chat, e.g. an agent's answer, reaches the customer's socket
  whichever worker sends it);
* :class:`Proxy`: nginx on the public port in front of the workers: any worker for a request
  (least connections), and the same worker for every request of a socket.io session, which
  long-polling needs (its requests must reach the server that holds the session).

``make run`` keeps its cluster in ``var/`` (the conversations survive a restart; unix sockets only,
nothing listens on the network but the proxy); the tests use throw-away ones on free ports.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

NGINX = "/usr/sbin/nginx"
SOCKETIO_ROUTE_PARAM = "route"  # query parameter the web chat widget sends with every socket.io request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def missing_programs() -> list[str]:
    """What ``make services`` must install before several workers can run here."""
    missing = []
    if postgres_bindir() is None:
        missing.append("PostgreSQL (/usr/lib/postgresql/*/bin/postgres)")
    if shutil.which("redis-server") is None:
        missing.append("Redis (redis-server)")
    if not os.access(NGINX, os.X_OK):
        missing.append(f"nginx ({NGINX})")
    return missing


def postgres_bindir() -> Path | None:
    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in Path(path).parents[1].name.split(".") if p.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    return Path(found[-1]).parent if found else None


def _wait(ready: Any, what: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.1)


@dataclass
class Postgres:
    """A private PostgreSQL cluster in ``directory`` (data in ``data/``, its unix socket beside it).

    ``port`` set: it also listens on 127.0.0.1:port (the tests); otherwise on the unix socket only.
    ``throwaway``: no fsync (test clusters, deleted afterwards).
    """

    directory: Path
    port: int | None = None
    throwaway: bool = False
    bindir: Path | None = field(default_factory=postgres_bindir)
    stop_signal = signal.SIGINT  # "fast" shutdown: sessions are closed, nothing waits for clients

    @property
    def user(self) -> str | None:
        """PostgreSQL refuses to run as root: then it runs as the package's ``postgres`` user."""
        return "postgres" if os.geteuid() == 0 else None

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def prepare(self) -> None:
        """Creates the cluster unless it exists (trust authentication: only the owner of the
        socket directory, and localhost for a test cluster, can reach it)."""
        if self.bindir is None:
            raise FileNotFoundError("PostgreSQL is not installed (make services)")
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.user:
            closed = [str(d) for d in self.directory.resolve().parents if not d.stat().st_mode & 0o001]
            if closed:
                raise PermissionError(f"PostgreSQL runs as the {self.user} user, which cannot enter {closed[0]}: "
                                      f"put its directory ({self.directory}) elsewhere")
        os.chmod(self.directory, 0o700)
        if self.user:
            shutil.chown(self.directory, self.user, self.user)
        if (self.data / "PG_VERSION").exists():
            return
        command = [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--locale=C", *(["--no-sync"] if self.throwaway else [])]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=300, user=self.user)
        if completed.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{completed.stdout}\n{completed.stderr}")

    def command(self) -> list[str]:
        """The server in the foreground (a supervisor restarts it; it dies with its parent)."""
        assert self.bindir is not None
        settings = {
            "listen_addresses": "127.0.0.1" if self.port else "",
            "unix_socket_directories": str(self.directory),
            "max_connections": "200",
            **({"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"} if self.throwaway else {}),
        }
        return [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port or 5432),
                *[arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]]

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        if self.port:
            return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"
        return f"{driver}://postgres@/{database}?host={quote(str(self.directory))}&port=5432"

    def connectable(self) -> bool:
        import psycopg2

        psycopg2.connect(self.url("postgres", "postgresql"), connect_timeout=2).close()
        return True

    def wait_ready(self, timeout: float = 60, process: subprocess.Popen | None = None) -> None:
        _wait(self.connectable, "PostgreSQL", timeout, process)

    def create_database(self, name: str, exist_ok: bool = False) -> str:
        """Creates database ``name`` (``exist_ok``: unless it exists); returns its URL."""
        import psycopg2

        connection = psycopg2.connect(self.url("postgres", "postgresql"))
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if not (exist_ok and cursor.fetchone()):
                    cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)


@dataclass
class Redis:
    """A private ``redis-server`` without persistence (locks and socket.io messages are transient):
    on 127.0.0.1:``port``, or on a unix socket in ``directory`` readable by its owner only."""

    directory: Path
    port: int | None = None
    user = None
    stop_signal = signal.SIGTERM

    def prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    @property
    def socket(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket}?db=0"

    def command(self) -> list[str]:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("Redis is not installed (make services)")
        listen = (["--port", str(self.port), "--bind", "127.0.0.1"] if self.port else
                  ["--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"])
        return [binary, *listen, "--save", "", "--appendonly", "no", "--dir", str(self.directory)]

    def wait_ready(self, timeout: float = 30, process: subprocess.Popen | None = None) -> None:
        import redis

        _wait(lambda: redis.Redis.from_url(self.url, socket_timeout=2).ping(), "Redis", timeout, process)


@contextmanager
def running(service: Postgres | Redis, timeout: float = 120) -> Iterator[subprocess.Popen]:
    """``service`` in the foreground until the block ends (tests, ``make bench``; the launcher
    supervises the same command), its output in ``server.log`` beside its data."""
    service.prepare()
    with open(service.directory / "server.log", "ab") as log:
        process = subprocess.Popen(service.command(), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, user=service.user)
    try:
        service.wait_ready(timeout, process)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, service.stop_signal)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def lock_store(redis_url: str, key_prefix: str = "marketplace") -> dict[str, Any]:
    """The ``lock_store`` section of an endpoints file for ``redis_url`` (``bot/lock_store.py``)."""
    return {"type": "bot.lock_store.AtomicRedisLockStore", "url": redis_url, "key_prefix": key_prefix}


@dataclass
class Proxy:
    """nginx on ``host:port`` in front of the Rasa workers ``upstreams`` (a port: on 127.0.0.1; or
``host:port``, e.g. a compose service name that resolves to every replica, ``deploy/``).

    Plain requests (REST, webhooks, the web chat page, the agent console) go to the worker with the
    fewest open requests; a worker that refuses connections (restarting) is skipped. socket.io
    requests are routed by a hash of the widget's ``route`` query parameter (the client's address
    without it), consistently, so every request of a long-polling session reaches the worker that
    issued it (engine.io keeps sessions in memory); websockets are passed through (``Upgrade``).
    The client's address goes to the workers in ``X-Forwarded-For`` (set, not appended: a client
    cannot forge it), which they trust with ``SANIC_PROXIES_COUNT=1`` (:meth:`worker_env`).
    """

    directory: Path
    host: str
    port: int
    upstreams: list[int | str]
    max_body_bytes: int = 1_000_000
    socketio_path: str = "/socket.io/"
    access_log: Path | None = None  # one line per request: method, path, worker, status (tests)

    def config(self) -> str:
        servers = "".join(f"        server {f'127.0.0.1:{u}' if isinstance(u, int) else u} max_fails=1 fail_timeout=5s;\n"
                          for u in self.upstreams)
        headers = "".join(f"            proxy_set_header {name} {value};\n" for name, value in (
            ("Host", "$http_host"), ("X-Forwarded-For", "$remote_addr"), ("X-Forwarded-Proto", "$scheme")))
        access = (f"log_format upstream '$request_method $uri $upstream_addr $status';\n"
                  f"    access_log {self.access_log} upstream;" if self.access_log else "access_log off;")
        listen = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        return f"""# Generated by bot/cluster.py (Proxy) for the Rasa workers below; do not edit.
daemon off;
worker_processes auto;
pid {self.directory / "nginx.pid"};
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    {access}
    server_tokens off;
    client_body_temp_path {self.directory}/body;
    proxy_temp_path {self.directory}/proxy;
    fastcgi_temp_path {self.directory}/fastcgi;
    uwsgi_temp_path {self.directory}/uwsgi;
    scgi_temp_path {self.directory}/scgi;
    client_max_body_size {self.max_body_bytes + 1};  # the workers answer 413 beyond their own limit
    client_body_buffer_size 64k;
    map $http_upgrade $connection_upgrade {{ default upgrade; "" ""; }}
    map $arg_{SOCKETIO_ROUTE_PARAM} $socketio_route {{ "" $remote_addr; default $arg_{SOCKETIO_ROUTE_PARAM}; }}
    upstream rasa {{
        least_conn;
{servers}        keepalive 64;
    }}
    upstream rasa_socketio {{
        hash $socketio_route consistent;
{servers}        keepalive 16;
    }}
    server {{
        listen {listen} backlog=4096;
        proxy_http_version 1.1;
        proxy_read_timeout 3600s;  # a turn may wait for the conversation's lock and the action server
        proxy_send_timeout 3600s;
        proxy_connect_timeout 5s;
        proxy_next_upstream error timeout;  # a worker that refuses (restarting) or hangs: another one
        # (proxy_set_header is inherited only by a block that sets none: each location sets all.)
        location / {{
            proxy_pass http://rasa;
{headers}            proxy_set_header Connection "";
        }}
        location {self.socketio_path} {{
            proxy_pass http://rasa_socketio;
{headers}            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
        }}
    }}
}}
"""

    def command(self) -> list[str]:
        """Writes the configuration; nginx in the foreground with it."""
        if not os.access(NGINX, os.X_OK):
            raise FileNotFoundError(f"nginx is not installed ({NGINX}; make services)")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "nginx.conf"
        path.write_text(self.config())
        return [NGINX, "-p", str(self.directory), "-e", "stderr", "-c", str(path)]

    @staticmethod
    def worker_env() -> dict[str, str]:
        """Environment of a worker behind the proxy: the client's address is the forwarded one."""
        return {"SANIC_PROXIES_COUNT": "1"}



def compose_proxy(rasa_port: int = 5005, max_body_bytes: int = 1_000_000) -> Proxy:
    """The proxy of ``deploy/compose.yml``: ``deploy/nginx.conf`` is its configuration
    (``python -m bot.cluster > deploy/nginx.conf``; ``tests/unit/test_deploy.py`` compares them).
    The ``rasa`` service name resolves to every worker (``endpoint_mode: dnsrr``)."""
    return Proxy(Path("/var/cache/nginx"), "0.0.0.0", 80, [f"rasa:{rasa_port}"], max_body_bytes)


if __name__ == "__main__":
    print(compose_proxy().config(), end="")
