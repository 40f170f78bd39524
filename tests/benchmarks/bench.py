"""Conversation benchmark (``make bench``): whole turns through the REST channel, with the custom
actions reading and writing the order database, for our model and the stock ``rasa init`` pipeline.

    .venv/bin/python tests/benchmarks/bench.py [--skip-training] [--skip-stock] [--duration 20]
        [--paced 10:1,50:1] [--concurrency 1,10,50] [--languages en,fr,sw] [--workers 1,2]
        [--action-workers 1] [--model PATH] [--stock-model PATH]

Measured, and printed as Markdown tables (also written to ``results/bench/summary.md`` + ``.json``):

* the machine (CPU, cores, memory, load average when the run started);
* cold start: seconds until the action server and the Rasa server answer (model loaded);
* per language and number of concurrent conversations (each one a fresh sender, sending its next
  message as soon as it has the answer; plus ``--paced``: people pausing between messages, for a
  time drawn uniformly between 0.5 and 1.5 times the given one, and arriving spread over it):
  turns/s sustained over ``--duration`` seconds after a warm-up, latency p50/p95/p99 of a turn,
  errors, and the CPU used meanwhile by the Rasa server and the action server (which does the
  SQLite work); "turns/s per Rasa core" divides the rate by the Rasa server's CPU share, i.e. what
  one dedicated core would sustain (this machine is shared); every third conversation is a cancellation (order, e-mail, reason, "yes": four
  turns, one DB write on a fresh copy of a cancellable demo order), the others are status look-ups
  with verification (order, e-mail: two turns, DB reads);
* our model with each number of Rasa workers of ``--workers``, as ``make run`` starts them with
  ``RASA_WORKERS``: one server on SQLite and in-memory locks; several behind nginx over a private
  PostgreSQL (durable, as ``make run`` keeps it) and Redis (``bot/cluster.py``), where the CPU of
  nginx, PostgreSQL and Redis is reported too;
* resident memory of the servers after the load (RSS, and PSS, which shares the pages several
  processes map, e.g. the libraries, among them);
* training (unless ``--skip-training``): a full ``rasa train`` from an empty cache and the retraining
  after an NLU-only change (one example added) with that cache, into a temporary directory;
* the same turns against the stock pipeline (``tests/benchmarks/stock_config.yml``: ``rasa init``'s
  pipeline and default policies) trained on our domain and data: reused from
  ``models/eval/stock-full-<fingerprint>.tar.gz``, trained there when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bot.cluster import Postgres, Redis, lock_store, running  # noqa: E402
from tests.reliability.stack import (  # noqa: E402
    QUIET_ENV,
    RASA,
    Stack,
    newest_model,
    proc_field_kb,
    rss_kb,
    with_children,
)

LANGS = ("en", "fr", "sw")
CUSTOMER = {"en": "877", "fr": "345", "sw": "512"}  # 81700<code>000000NN: the demo customers
CONTACT = {"en": "oliver.smith@example.co.uk", "fr": "amina.diallo@example.com", "sw": "0712 345 678"}
STATUS = {"en": "hi, where is my order {}?", "fr": "bonjour, où est ma commande {} stp",
          "sw": "habari, oda yangu {} iko wapi?"}
CANCEL = {"en": ("I want to cancel my order {}", "I don't need it anymore", "yes"),
          "fr": ("je veux annuler ma commande {}", "je n'en ai plus besoin", "oui"),
          "sw": ("nataka kufuta oda {}", "sihitaji tena", "ndiyo")}
READ_SCENARIOS = ("02", "06", "07", "08", "13", "16")
STOCK_CONFIG = ROOT / "tests" / "benchmarks" / "stock_config.yml"
RESULTS = ROOT / "results" / "bench"
TARGETS = {"p95_ms_at_10": 150, "turns_per_s": 30, "full_training_s": 300,
           "speedup_2_workers_at_50": 1.5, "p95_ms_50_paced_1s": 100}


# --------------------------------------------------------------------------------- the machine


def machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    import sqlite3

    import rasa
    import rasa_sdk

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem / 1024 / 1024, 1),
            "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()), "os": platform.platform(),
            "python": platform.python_version(), "rasa": rasa.__version__, "rasa_sdk": rasa_sdk.__version__,
            "sqlite": sqlite3.sqlite_version}


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process and its direct children (Sanic workers), from /proc."""
    if pid is None:
        return 0.0
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for p in with_children(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def pss_kb(pid: int | None) -> int:
    """Proportional set size of a process and its direct children (kB): each page shared by n
    processes counts 1/n, so the PSS of several workers adds up to the memory they really take."""
    return proc_field_kb(pid, "smaps_rollup", "Pss:") if pid is not None else 0


def tracker_totals(url: str) -> dict[str, float]:
    """Events stored, their bytes, and (PostgreSQL) committed transactions of the tracker store."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            events, size = connection.execute(text("SELECT count(*), coalesce(sum(length(data)), 0) FROM events")).one()
            commits = None
            if engine.dialect.name == "postgresql":
                commits = connection.execute(text(
                    "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")).scalar_one()
    finally:
        engine.dispose()
    return {"events": events, "bytes": size, "commits": commits}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


# ----------------------------------------------------------------------------------- the data


def clone_cancellable_orders(database_url: str, per_customer: int) -> dict[str, list[str]]:
    """Fresh copies of each demo customer's scenario 03 (paid, awaiting shipment: a cancellation
    is a DB write) so that every cancellation of the run writes."""
    from sqlalchemy import create_engine, text

    columns = ("customer_id, seller_id, amount, currency, status, previous_status, cancelled_by, created_at, "
               "paid_at, shipped_at, estimated_delivery, delivery_confirmed_at, protection_end, cancelled_at")
    engine = create_engine(database_url, future=True)
    pools: dict[str, list[str]] = {}
    with engine.begin() as connection:
        for lang, code in CUSTOMER.items():
            source = f"81700{code}00000003"
            pools[lang] = []
            for i in range(per_customer):
                number = f"8179{code}{i:09d}"
                connection.execute(text(f"INSERT INTO orders (number, {columns}) SELECT :n, {columns} FROM orders "
                                        "WHERE number = :s"), {"n": number, "s": source})
                connection.execute(text(
                    "INSERT INTO order_items (order_id, title, quantity, unit_price) SELECT "
                    "(SELECT id FROM orders WHERE number = :n), title, quantity, unit_price FROM order_items "
                    "WHERE order_id = (SELECT id FROM orders WHERE number = :s)"), {"n": number, "s": source})
                pools[lang].append(number)
    engine.dispose()
    return pools


# ------------------------------------------------------------------------------------ the load


async def load(base: str, lang: str, concurrency: int, duration: float, pool: list[str],
               warmup: float = 3.0, think: float = 0.0) -> dict[str, Any]:
    import aiohttp

    run = uuid.uuid4().hex[:6]
    url = f"{base}/webhooks/rest/webhook"
    started = time.monotonic()
    measure_from, stop_at = started + warmup, started + warmup + duration
    latencies: list[float] = []
    stats = {"errors": 0, "conversations": 0, "completed": 0, "writes": 0, "all_turns": 0}

    async def turn(session: aiohttp.ClientSession, sender: str, message: str) -> list[dict]:
        begin = time.monotonic()
        try:
            async with session.post(url, json={"sender": sender, "message": message}) as response:
                body = await response.json(content_type=None)
                ok = response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            body, ok = [], False
        end = time.monotonic()
        stats["all_turns"] += 1
        if measure_from <= begin and end <= stop_at + 30:
            latencies.append(end - begin)
            stats["errors"] += not ok
        return body if isinstance(body, list) else []

    pause = random.Random(f"{run}-{lang}-{concurrency}")

    async def user(session: aiohttp.ClientSession, u: int) -> None:
        k = 0
        if think:  # people do not all arrive in the same millisecond
            await asyncio.sleep(pause.uniform(0, think))
        while time.monotonic() < stop_at:
            k += 1
            sender = f"bench-{run}-{lang}-{u}-{k}"
            write = k % 3 == 0 and pool
            if write:
                number = pool.pop()
                messages = [CANCEL[lang][0].format(number), CONTACT[lang], CANCEL[lang][1], CANCEL[lang][2]]
            else:
                number = f"81700{CUSTOMER[lang]}000000{READ_SCENARIOS[(u + k) % len(READ_SCENARIOS)]}"
                messages = [STATUS[lang].format(number), CONTACT[lang]]
            replies: list[dict] = []
            for message in messages:
                replies = await turn(session, sender, message)
                if think:  # a person reading the answer and typing the next message
                    await asyncio.sleep(pause.uniform(0.5 * think, 1.5 * think))
            if time.monotonic() <= stop_at:
                stats["conversations"] += 1
                stats["writes"] += bool(write)
                # A conversation completed when its last answer tells the status / the filed request.
                stats["completed"] += any(number in (r.get("text") or "") for r in replies)

    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(user(session, u) for u in range(concurrency)))
    return {
        "turns": len(latencies), "turns_per_s": len(latencies) / duration,
        "p50_ms": percentile(latencies, 0.50) * 1000, "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000, **stats,
    }


def measure(stack: Stack, label: str, args: argparse.Namespace, pools: dict[str, list[str]],
            rasa: list[str], services: list[int]) -> list[dict]:
    """Every load level; ``services``: pids of nginx, PostgreSQL and Redis (their CPU is reported)."""
    rows = []
    pids = {name: stack[name].pid() for name in [*rasa, "actions"]}

    def cpu(names: list[str]) -> float:
        return sum(cpu_seconds(pids[name]) for name in names)

    def services_cpu() -> float:
        return sum(cpu_seconds(pid) for pid in services)

    levels = [(c, 0.0) for c in args.concurrency] + args.paced
    for lang in args.languages:
        for concurrency, think in levels:
            stored = tracker_totals(stack.tracker_store_url)
            before = (cpu(rasa), cpu(["actions"]), services_cpu(), time.process_time(), time.monotonic())
            result = asyncio.run(load(stack.base(stack.entry), lang, concurrency, args.duration, pools[lang],
                                      think=think))
            spent = time.monotonic() - before[4]
            after = tracker_totals(stack.tracker_store_url)
            all_turns = max(result["all_turns"], 1)  # warm-up included: the stores and the CPU see every turn
            result.update(
                events_per_turn=(after["events"] - stored["events"]) / all_turns,
                event_bytes_per_turn=(after["bytes"] - stored["bytes"]) / all_turns,
                commits_per_turn=((after["commits"] - stored["commits"]) / all_turns
                                  if after["commits"] is not None else None),
            )
            used = (cpu(rasa) - before[0], cpu(["actions"]) - before[1], services_cpu() - before[2])
            result.update(
                pipeline=label, lang=lang, concurrency=concurrency, think=think,
                cpu_rasa=used[0] / spent * 100, cpu_actions=used[1] / spent * 100, cpu_services=used[2] / spent * 100,
                cpu_client=(time.process_time() - before[3]) / spent * 100,
                cpu_ms_per_turn={"rasa": used[0] / all_turns * 1000, "actions": used[1] / all_turns * 1000,
                                 "services": used[2] / all_turns * 1000},
            )
            result["turns_per_core"] = result["turns_per_s"] / max(result["cpu_rasa"] / 100, 0.01)
            rows.append(result)
            print(f"  {label:8} {lang} x{concurrency:<3} think {think:g}s {result['turns_per_s']:6.1f} turns/s  "
                  f"p50 {result['p50_ms']:6.0f} ms  p95 {result['p95_ms']:6.0f} ms  p99 {result['p99_ms']:6.0f} ms  "
                  f"errors {result['errors']}  completed {result['completed']}/{result['conversations']}  "
                  f"CPU rasa {result['cpu_rasa']:.0f}% actions {result['cpu_actions']:.0f}% "
                  f"nginx+db {result['cpu_services']:.0f}% client {result['cpu_client']:.0f}%  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    return rows


def run_stack(label: str, model: Path, args: argparse.Namespace, workdir: Path, workers: int = 1) -> dict[str, Any]:
    """Our servers as ``make run`` starts them with ``RASA_WORKERS=workers``, under the load levels."""
    with contextlib.ExitStack() as services:
        stores: dict[str, Any] = {}
        service_pids: list[int] = []
        if workers > 1:
            pg_dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))  # the postgres user must reach it
            services.callback(shutil.rmtree, pg_dir, ignore_errors=True)
            postgres, redis = Postgres(pg_dir), Redis(workdir / label / "redis")
            service_pids.append(services.enter_context(running(postgres)).pid)
            service_pids.append(services.enter_context(running(redis)).pid)
            stores = {"tracker_store_url": postgres.create_database("rasa"), "lock_store": lock_store(redis.url),
                      "extra_env": {"REDIS_URL": redis.url}}
        extra_env = {"VERIFY_MAX_FAILURES": "1000000", **stores.pop("extra_env", {})}  # thousands of verifications
        stack = Stack(workdir / label, model=model, extra_env=extra_env, **stores)
        action_env = {"ACTION_SERVER_SANIC_WORKERS": str(args.action_workers)} if args.action_workers > 1 else {}
        stack.add_actions(**action_env)
        rasa = ["rasa"] if workers == 1 else [f"rasa-{i + 1}" for i in range(workers)]
        for name in rasa:
            stack.add_rasa(name, behind_proxy=workers > 1)
        stack.entry = "rasa"  # type: ignore[attr-defined]
        if workers > 1:
            stack.add_proxy(rasa)
            stack.entry = "proxy"  # type: ignore[attr-defined]
        shown = model.relative_to(ROOT) if model.is_relative_to(ROOT) else model
        print(f"{label}: starting {len(rasa)} Rasa server(s) with {shown}", flush=True)
        try:
            ready = stack.start(timeout=900)
            per_level = int(max(args.concurrency) * (args.duration + 5) // 2 + 20)
            pools = clone_cancellable_orders(stack.database_url, per_level * (len(args.concurrency) + len(args.paced)))
            first = time.monotonic()
            stack.say("bench-warmup", STATUS["en"].format("8170087700000006"), rasa=stack.entry)
            first_turn = time.monotonic() - first
            for name in rasa:  # lazy loads (language models) are not latency: every worker
                for lang in args.languages:
                    stack.say(f"bench-warmup-{name}-{lang}", STATUS[lang].format("8170087700000006"), rasa=name)
            if workers > 1:
                service_pids.append(stack["proxy"].pid())
            rows = measure(stack, label, args, pools, rasa, service_pids)
            memory = {
                "rasa_mb": sum(rss_kb(stack[name].pid()) for name in rasa) / 1024,
                "rasa_pss_mb": sum(pss_kb(stack[name].pid()) for name in rasa) / 1024,
                "actions_mb": rss_kb(stack["actions"].pid()) / 1024,
            }
        finally:
            stack.stop()
    return {"workers": workers, "ready_s": {"rasa": max(ready[name] for name in rasa), "actions": ready["actions"]},
            "first_turn_s": first_turn, "rows": rows, "memory": memory}


# -------------------------------------------------------------------------------- the training


def fingerprint(*paths: Path) -> str:
    import rasa

    digest = hashlib.sha256(rasa.__version__.encode())
    for path in paths:
        for file in sorted(path.rglob("*") if path.is_dir() else [path]):
            if file.is_file() and file.suffix in (".yml", ".yaml", ".py"):
                digest.update(str(file.relative_to(ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def rasa_train(config: Path, data: Path, out: Path, name: str, cache: Path | None, log: Path) -> float:
    env = {**os.environ, **QUIET_ENV}
    if cache is not None:
        env["RASA_CACHE_DIRECTORY"] = str(cache)
    command = [str(RASA), "train", "--config", str(config), "--domain", str(ROOT / "bot" / "domain"),
               "--data", str(data), "--out", str(out), "--fixed-model-name", name, "--augmentation", "0"]
    start = time.monotonic()
    with open(log, "w") as handle:
        completed = subprocess.run(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if completed.returncode != 0:
        raise SystemExit(f"`rasa train` failed, see {log}")
    return time.monotonic() - start


def measure_training(workdir: Path) -> dict[str, float]:
    """Full training from an empty cache, then an NLU-only change retrained with that cache."""
    data = workdir / "data"
    shutil.copytree(ROOT / "data", data)
    cache, out = workdir / "cache", workdir / "models"
    print("training: full (empty cache) ...", flush=True)
    full = rasa_train(ROOT / "bot" / "config.yml", data, out, "full", cache, workdir / "train-full.log")
    print(f"  {full:.0f} s", flush=True)
    (data / "nlu" / "en" / "bench_extra.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hey there, bench\n')
    print("training: after an NLU-only change (cached) ...", flush=True)
    incremental = rasa_train(ROOT / "bot" / "config.yml", data, out, "nlu-change", cache, workdir / "train-nlu.log")
    print(f"  {incremental:.0f} s", flush=True)
    return {"full_s": full, "nlu_change_s": incremental}


def stock_model(train: bool) -> tuple[Path | None, float | None]:
    """The stock pipeline trained on our domain and data (cached in models/eval by fingerprint)."""
    path = ROOT / "models" / "eval" / (
        f"stock-full-{fingerprint(STOCK_CONFIG, ROOT / 'bot' / 'domain', ROOT / 'data')}.tar.gz")
    if path.exists():
        return path, None
    if not train:
        return None, None
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"training the stock pipeline -> {path.relative_to(ROOT)} (slow: DIET and TED, 100 epochs each) ...",
          flush=True)
    seconds = rasa_train(STOCK_CONFIG, ROOT / "data", path.parent, path.name[: -len(".tar.gz")], None,
                         path.parent / "stock-full-train.log")
    path.with_name(path.name.replace(".tar.gz", ".seconds")).write_text(f"{seconds:.1f}\n")
    return path, seconds


# ------------------------------------------------------------------------------------- report


def verdict(runs: list[dict[str, Any]]) -> list[str]:
    """The scaling targets of issue #18, from the runs of our model with 1 and 2 workers."""
    by_workers = {run["workers"]: run for run in runs if run["label"].startswith("ours")}
    if 1 not in by_workers or 2 not in by_workers:
        return []

    def row(run: dict, concurrency: int, think: float, lang: str) -> dict | None:
        return next((r for r in run["rows"] if r["concurrency"] == concurrency and r["think"] == think
                     and r["lang"] == lang), None)

    lines = ["", "| lang | turns/s at 50, 1 worker | 2 workers | speedup (target >= 1.5) | "
                 "p95 ms, 50 people pausing 1 s, 2 workers (target <= 100) | 1 worker |",
             "|---|---:|---:|---:|---:|---:|"]
    for lang in LANGS:
        one, two = row(by_workers[1], 50, 0.0, lang), row(by_workers[2], 50, 0.0, lang)
        paced_two, paced_one = row(by_workers[2], 50, 1.0, lang), row(by_workers[1], 50, 1.0, lang)
        if not (one and two):
            continue
        speedup = two["turns_per_s"] / max(one["turns_per_s"], 0.01)
        lines.append(f"| {lang} | {one['turns_per_s']:.1f} | {two['turns_per_s']:.1f} | {speedup:.2f}x | "
                     f"{paced_two['p95_ms']:.0f} | {paced_one['p95_ms']:.0f} |" if paced_two and paced_one else
                     f"| {lang} | {one['turns_per_s']:.1f} | {two['turns_per_s']:.1f} | {speedup:.2f}x | - | - |")
    return lines


def tables(result: dict[str, Any]) -> str:
    m = result["machine"]
    runs = result["runs"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, {m['os']}; load average "
        f"{m['load_average']} at the start, {result.get('load_average_end', '?')} at the end (shared machine); Python {m['python']}, Rasa {m['rasa']}, "
        f"rasa-sdk {m['rasa_sdk']}, SQLite {m['sqlite']}. {result['duration']:.0f} s per measurement after a "
        f"3 s warm-up; every third conversation is a cancellation (DB write), the others status look-ups; "
        f"{result['action_workers']} action-server worker(s).",
        "",
        "| pipeline | lang | conversations | think s | turns/s | p50 ms | p95 ms | p99 ms | errors | completed | "
        "CPU Rasa | CPU actions | CPU nginx+db | turns/s per Rasa core |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for row in run["rows"]:
            lines.append(
                f"| {run['label']} | {row['lang']} | {row['concurrency']} | {row['think']:g} | {row['turns_per_s']:.1f} | "
                f"{row['p50_ms']:.0f} | {row['p95_ms']:.0f} | {row['p99_ms']:.0f} | {row['errors']} | "
                f"{row['completed']}/{row['conversations']} | {row['cpu_rasa']:.0f}% | {row['cpu_actions']:.0f}% | "
                f"{row.get('cpu_services', 0):.0f}% | {row['turns_per_core']:.0f} |")
    lines += verdict(runs)
    lines += ["", "| | " + " | ".join(run["label"] for run in runs) + " |",
              "|---|" + "---:|" * len(runs)]

    def each(title: str, fn) -> None:
        lines.append(f"| {title} | " + " | ".join(fn(run) for run in runs) + " |")

    each("cold start: action server ready (s)", lambda r: f"{r['ready_s']['actions']:.1f}")
    each("cold start: Rasa server(s) ready, model loaded (s)", lambda r: f"{r['ready_s']['rasa']:.1f}")
    each("first turn after start (s)", lambda r: f"{r['first_turn_s']:.2f}")
    each("resident memory (RSS), Rasa servers (MB)", lambda r: f"{r['memory']['rasa_mb']:.0f}")
    each("proportional memory (PSS), Rasa servers (MB)", lambda r: f"{r['memory']['rasa_pss_mb']:.0f}")
    each("resident memory, action server (MB)", lambda r: f"{r['memory']['actions_mb']:.0f}")

    def mean(run: dict, key: str, part: str | None = None) -> str:
        values = [row[key][part] if part else row[key] for row in run["rows"]
                  if row.get(key) is not None and row["concurrency"] > 1]
        return f"{sum(values) / len(values):.1f}" if values else "-"

    each("CPU per turn, Rasa servers (ms, levels > 1 conversation)", lambda r: mean(r, "cpu_ms_per_turn", "rasa"))
    each("CPU per turn, action server (ms)", lambda r: mean(r, "cpu_ms_per_turn", "actions"))
    each("CPU per turn, nginx + PostgreSQL + Redis (ms)", lambda r: mean(r, "cpu_ms_per_turn", "services"))
    each("tracker store: events stored per turn", lambda r: mean(r, "events_per_turn"))
    each("tracker store: bytes of events per turn", lambda r: mean(r, "event_bytes_per_turn"))
    each("tracker store: PostgreSQL commits per turn", lambda r: mean(r, "commits_per_turn"))
    training = result.get("training") or {}
    if training:
        each("full training, empty cache (s)",
             lambda r: f"{training['full_s']:.0f}" if r["label"].startswith("ours") else
             f"{result.get('stock_training_s') or '-'}")
        each("retraining after an NLU-only change (s)",
             lambda r: f"{training['nlu_change_s']:.0f}" if r["label"].startswith("ours") else "-")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-training", action="store_true", help="do not measure training times")
    parser.add_argument("--skip-stock", action="store_true", help="only our pipeline")
    parser.add_argument("--no-stock-training", action="store_true", help="use the stock model only if present")
    parser.add_argument("--duration", type=float, default=20, help="seconds measured per level (default 20)")
    parser.add_argument("--concurrency", default="1,10,50", help="concurrent conversations (default 1,10,50)")
    parser.add_argument("--paced", default="10:1,50:1", help="also CONVERSATIONS:THINK_SECONDS, people pausing "
                        "between messages, comma-separated (default 10:1,50:1; '' for none)")
    parser.add_argument("--languages", default="en,fr,sw")
    parser.add_argument("--workers", default="1,2", help="numbers of Rasa workers to measure our model with "
                        "(RASA_WORKERS; default 1,2)")
    parser.add_argument("--action-workers", type=int, default=1, help="ACTION_SERVER_SANIC_WORKERS (default 1)")
    parser.add_argument("--model", type=Path, help="our model (default: this checkout's)")
    parser.add_argument("--stock-model", type=Path, help="the stock model (default: models/eval/stock-full-<fingerprint>)")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.paced = [(int(level.split(":")[0]), float(level.split(":")[1])) for level in args.paced.split(",") if level]
    args.languages = [lang for lang in args.languages.split(",") if lang in LANGS]
    args.workers = [int(w) for w in args.workers.split(",") if w]

    result: dict[str, Any] = {"machine": machine(), "duration": args.duration, "action_workers": args.action_workers,
                              "runs": []}
    print(json.dumps(result["machine"]), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        for workers in args.workers:
            label = f"ours, {workers} worker{'s' if workers > 1 else ''}"
            run = run_stack(f"ours-{workers}", args.model or newest_model(), args, workdir, workers)
            result["runs"].append({"label": label, **run})
        if not args.skip_stock:
            model, seconds = ((args.stock_model, None) if args.stock_model
                              else stock_model(train=not args.no_stock_training))
            stamp = model.with_name(model.name.replace(".tar.gz", ".seconds")) if model else None
            if seconds is None and stamp is not None and stamp.exists():
                seconds = float(stamp.read_text())  # the time it took when it was trained
            result["stock_training_s"] = round(seconds) if seconds else None
            if model is None:
                print("no stock model in models/eval (run without --no-stock-training to train it)", flush=True)
            else:
                result["runs"].append({"label": "stock, 1 worker", **run_stack("stock", model, args, workdir)})
        if not args.skip_training:
            result["training"] = measure_training(workdir / "training")
    result["load_average_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    summary = tables(result)
    print("\n" + summary)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.md").write_text(summary + "\n")
    (RESULTS / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
