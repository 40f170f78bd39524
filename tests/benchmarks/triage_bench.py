"""Support-triage throughput on this machine.

    .venv/bin/python tests/benchmarks/triage_bench.py [--messages 2000] [--batch-size 32] [--model PATH]

Generates a mixed inbox (English, French, Swahili; e-mails, contact forms, chats; a third name a
demo order, half of those with the sender's e-mail, phone or channel id; 1 % malformed rows),
seeds a temporary order database, runs the real CLI (``bot.triage.cli.main``) on it and prints
messages per second, end to end (parse + order look-ups + replies + writing), model loading
excluded. Then, for comparison, the NLU alone: batched (what the CLI does) and one message at a
time through ``Agent.parse_message`` (what the HTTP channel does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

CUSTOMERS = {
    "81700345": {"email": "amina.diallo@example.com", "phone": "+221 77 123 45 67", "channel": ("whatsapp", "+221771234567")},
    "81700512": {"email": "wanjiku.kamau@example.co.ke", "phone": "0712 345 678", "channel": ("telegram", "100002")},
    "81700877": {"email": "oliver.smith@example.co.uk", "phone": "+44 7700 900123", "channel": ("slack", "U0OLIVER")},
}
TEMPLATES = {
    "en": [
        "Hello, my order {order} has still not arrived and the delivery date has passed. Please help.",
        "I would like to cancel order {order}, I no longer need it",
        "where is my parcel {order}??",
        "Hi, the item from {order} arrived damaged, I want to open a dispute",
        "Has my refund for order {order} been sent yet?",
        "How long does shipping take to Nairobi?",
        "Can I cancel an order after it has shipped?",
        "thanks for the quick answer",
        "I want to talk to an agent",
        "what's the weather like tomorrow",
    ],
    "fr": [
        "Bonjour, ma commande {order} n'est toujours pas arrivee alors que la date est depassee.",
        "je veux annuler la commande {order} svp",
        "ou en est mon colis {order} ?",
        "le produit de la commande {order} est de mauvaise qualite, je veux ouvrir un litige",
        "Quand vais-je recevoir le remboursement de la commande {order} ?",
        "combien de temps prend la livraison en general ?",
        "comment retirer un litige ?",
        "merci beaucoup, bonne soiree",
        "je voudrais parler a un conseiller",
        "tu connais un bon restaurant a Dakar ?",
    ],
    "sw": [
        "Habari, oda yangu {order} haijafika bado na tarehe imepita",
        "nataka ku-cancel oda {order} sihitaji tena",
        "oda yangu {order} iko wapi?",
        "bidhaa ya oda {order} imefika ikiwa mbovu, nataka kufungua dispute",
        "pesa yangu ya oda {order} itarudishwa lini?",
        "usafirishaji huchukua muda gani kufika Mombasa?",
        "naweza kughairi oda baada ya kutumwa?",
        "asante sana kwa msaada",
        "nataka kuongea na mtu halisi",
        "nani atashinda mechi ya leo?",
    ],
}


def generate(path: Path, count: int, seed: int = 7) -> int:
    """Writes ``count`` JSONL rows; returns how many are deliberately malformed."""
    rng = random.Random(seed)
    malformed = 0
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(count):
            if rng.random() < 0.01:
                malformed += 1
                handle.write(rng.choice(['{"id": "bad", "text": ""}', '{"id": "bad" "text": "x"}', '{"id": "bad"}']) + "\n")
                continue
            language = rng.choice(("en", "fr", "sw"))
            prefix = rng.choice(list(CUSTOMERS))
            order = f"{prefix}000000{rng.randint(1, 19):02d}"
            text = rng.choice(TEMPLATES[language]).format(order=order if rng.random() < 0.7 else "")
            row = {"id": f"m{i:05d}", "text": text}
            identity = rng.random()
            customer = CUSTOMERS[prefix]
            if identity < 0.2:
                row["email"] = customer["email"]
            elif identity < 0.3:
                row["phone"] = customer["phone"]
            elif identity < 0.4:
                row["channel"], row["sender"] = customer["channel"]
            elif identity < 0.5:
                row["email"] = "someone.else@example.org"
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return malformed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", help="model archive (default: newest in models/)")
    parser.add_argument("--nlu-sample", type=int, default=300, help="messages for the NLU-only comparison")
    args = parser.parse_args()

    from actions.orders.db import make_engine, session_factory
    from actions.orders.demo import seed
    from actions.orders.schema import migrate
    from bot.triage import cli, nlu

    work = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    url = f"sqlite:///{work}/orders.db"
    migrate(url)
    seed(session_factory(make_engine(url)))
    os.environ["DATABASE_URL"] = url
    inbox = work / "inbox.jsonl"
    bad = generate(inbox, args.messages)
    model = Path(args.model) if args.model else nlu.newest_model()

    nlu.quiet_rasa()
    started = time.perf_counter()
    agent = nlu.load_agent(str(model))
    load_seconds = time.perf_counter() - started
    nlu.parse_batch(agent, ["warm up"])  # first call builds TensorFlow functions

    out = work / "triaged.jsonl"
    cpu_started = time.process_time()
    code = cli.main([str(inbox), "--out", str(out), "--model", str(model), "--batch-size", str(args.batch_size),
                     "--no-progress"])
    cpu_seconds = time.process_time() - cpu_started
    summary = json.loads((work / "triaged.summary.json").read_text(encoding="utf-8"))
    assert summary["malformed"] == bad, (summary["malformed"], bad)

    texts = []
    for line in inbox.read_text(encoding="utf-8").splitlines():
        try:
            text = json.loads(line).get("text")
        except json.JSONDecodeError:
            continue
        if isinstance(text, str) and text.strip():
            texts.append(nlu.prepare_text(text))
    texts = texts[: args.nlu_sample]
    started = time.perf_counter()
    for i in range(0, len(texts), args.batch_size):
        nlu.parse_batch(agent, texts[i: i + args.batch_size])
    batched = len(texts) / (time.perf_counter() - started)

    async def one_by_one() -> float:
        begin = time.perf_counter()
        for text in texts:
            await agent.parse_message(text)
        return len(texts) / (time.perf_counter() - begin)

    single = asyncio.run(one_by_one())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (others may be training)")
    print(f"model {model.name} loaded in {load_seconds:.1f} s")
    print(f"TRIAGE THROUGHPUT: {summary['messages_per_second']:.1f} messages/s "
          f"({summary['triaged']} messages + {summary['malformed']} malformed rows in {summary['seconds']:.1f} s, "
          f"batch {args.batch_size}, exit code {code})")
    print(f"  CPU time {cpu_seconds:.1f} s: {summary['triaged'] / cpu_seconds:.1f} messages per CPU-second "
          f"(what one idle core would do)")
    print(f"NLU only: {batched:.1f} messages/s batched, {single:.1f} messages/s one at a time "
          f"(Agent.parse_message, the HTTP channel), {len(texts)} messages")
    print(f"peak memory of the process: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
