"""After `make test`: fail when a process started from this checkout is still running.

A server left behind by a test (a launcher killed without its children, a stack not stopped) keeps
its port and memory and makes the next run flaky; CI would never notice. Processes are matched by
their working directory (this checkout) and command line (our servers and jobs), this one excluded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("bot.launcher", "rasa_sdk", "bot.rasa_ext", "rasa run", "actions.orders", "redis-server", "postgres")


def leftovers() -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (os.getpid(), os.getppid()):
            continue
        try:
            if Path(os.readlink(entry / "cwd")).resolve() != ROOT:
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            state = (entry / "stat").read_text()
        except OSError:
            continue
        if command and any(name in command for name in OURS) and state[state.rindex(")") + 2] != "Z":
            found[int(entry.name)] = command
    return found


if __name__ == "__main__":
    left = leftovers()
    for pid, command in sorted(left.items()):
        print(f"left running by the tests: pid {pid}: {command[:200]}", file=sys.stderr)
    sys.exit(1 if left else 0)
