"""The Rasa server's loaded model is taken out of the garbage collector's reach.

A loaded model is millions of long-lived Python objects (rules, domain, vocabularies, classifiers).
CPython's collection of its oldest generation walks all of them, and while it runs no conversation
of that server moves: full collections of a few hundred milliseconds, several a minute under load,
are most of the slow turns of a busy server (``make bench``, paced load). ``gc.freeze()`` once the
model is loaded moves those objects into a permanent generation the collector never scans; what
conversations create afterwards is collected as before. A model loaded later (Rasa's ``PUT /model``)
is collected normally until the next start.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

from sanic import Blueprint

logger = logging.getLogger(__name__)


def freeze_after_start(blueprint: Blueprint) -> None:
    """Freezes what the server holds once it has started (Rasa loads the model before that)."""

    @blueprint.listener("after_server_start")
    async def freeze(_app: Any, _loop: Any) -> None:
        gc.collect()
        gc.freeze()
        logger.info("Garbage collector: %d objects of the loaded server frozen", gc.get_freeze_count())
