"""What every test that starts servers needs, in one place: free ports and the model to serve.

The model is the one this checkout builds (``bot/model_hash.py``; ``make test`` exports it as
``RASA_MODEL``), never "the newest file in models/": a stale model fails loudly instead of being
tested by mistake.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.model_hash import current_model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_model() -> Path:
    try:
        return current_model()
    except FileNotFoundError as error:
        pytest.fail(str(error))


def model_exists() -> bool:
    try:
        current_model()
    except FileNotFoundError:
        return False
    return True


def children_of(pid: int) -> dict[int, str]:
    """Live processes whose parent is ``pid``: {pid: command line} (Linux /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat[stat.rindex(")") + 2:].split()[1])
            if parent == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, ValueError, IndexError):
            continue
    return found


def alive(pid: int) -> bool:
    """False once every thread of the process has exited. A killed multi-threaded process's main
    thread can be a zombie while other threads still tear down and hold its files (a listening
    socket that still accepts, then resets), so each thread is looked at, not only the first."""
    try:
        tasks = list((Path("/proc") / str(pid) / "task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            state = (task / "stat").read_text()
        except OSError:
            continue
        if state[state.rindex(")") + 2] not in "ZX":  # zombie or dead: that thread has exited
            return True
    return False
