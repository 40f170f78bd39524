"""Run summary: counts per language, queue and priority, malformed rows; JSON, text and a chart."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.triage.engine import LANGUAGES, PRIORITIES, QUEUES
from bot.triage.records import Malformed

MAX_LISTED = 1_000  # malformed / failed rows listed in the summary file (all go to stderr)


class Summary:
    def __init__(self) -> None:
        self.language: Counter[str] = Counter()
        self.queue: Counter[str] = Counter()
        self.priority: Counter[str] = Counter()
        self.intent: Counter[str] = Counter()
        self.owned: Counter[str] = Counter()
        self.triaged = 0
        self.malformed: list[Malformed] = []
        self.malformed_count = 0
        self.failed: list[Malformed] = []
        self.failed_count = 0

    def add(self, row: Mapping[str, Any]) -> None:
        self.triaged += 1
        self.language[row["language"]] += 1
        self.queue[row["queue"]] += 1
        self.priority[row["priority"]] += 1
        self.intent[row["intent"]] += 1
        self.owned[row["owned"]] += 1

    def add_malformed(self, record: Malformed) -> None:
        self.malformed_count += 1
        if len(self.malformed) < MAX_LISTED:
            self.malformed.append(record)

    def add_failed(self, record: Malformed) -> None:
        self.failed_count += 1
        if len(self.failed) < MAX_LISTED:
            self.failed.append(record)

    @staticmethod
    def _ordered(counter: Counter[str], keys: tuple[str, ...]) -> dict[str, int]:
        ordered = {key: counter.get(key, 0) for key in keys}
        ordered.update({k: v for k, v in sorted(counter.items()) if k not in ordered})
        return ordered

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        return {
            **extra,
            "rows": self.triaged + self.malformed_count + self.failed_count,
            "triaged": self.triaged,
            "malformed": self.malformed_count,
            "failed": self.failed_count,
            "by_language": self._ordered(self.language, LANGUAGES),
            "by_queue": self._ordered(self.queue, QUEUES),
            "by_priority": self._ordered(self.priority, PRIORITIES),
            "by_owned": self._ordered(self.owned, ("yes", "no", "unknown")),
            "by_intent": dict(self.intent.most_common()),
            "malformed_rows": [m.to_dict() for m in self.malformed],
            "malformed_rows_truncated": self.malformed_count > len(self.malformed),
            "failed_rows": [m.to_dict() for m in self.failed],
        }

    def text(self, data: Mapping[str, Any]) -> str:
        def counts(key: str) -> str:
            return "  ".join(f"{k} {v}" for k, v in data[key].items())

        lines = [
            f"Triaged {data['triaged']} of {data['rows']} rows in {data.get('seconds', 0):.1f} s "
            f"({data.get('messages_per_second', 0):.1f} messages/s).",
            f"  language  {counts('by_language')}",
            f"  queue     {counts('by_queue')}",
            f"  priority  {counts('by_priority')}",
            f"  owned     {counts('by_owned')}",
        ]
        if data["malformed"]:
            listed = ", ".join(str(m["line"]) for m in data["malformed_rows"][:20])
            more = " ..." if data["malformed"] > 20 else ""
            lines.append(f"  malformed {data['malformed']} rows skipped (lines {listed}{more}; reasons on stderr)")
        if data["failed"]:
            listed = ", ".join(str(m["line"]) for m in data["failed_rows"][:20])
            lines.append(f"  failed    {data['failed']} rows could not be triaged (lines {listed})")
        return "\n".join(lines)


def write_summary(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_chart(path: Path, data: Mapping[str, Any]) -> None:
    """Bar charts of messages per language, queue and priority (PNG, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("Language", "by_language"), ("Queue", "by_queue"), ("Priority", "by_priority"))
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    for axis, (title, key) in zip(axes, panels, strict=True):
        labels = list(data[key].keys())
        values = list(data[key].values())
        bars = axis.bar(labels, values, color="#4c72b0")
        axis.bar_label(bars)
        axis.set_title(title)
        axis.tick_params(axis="x", labelrotation=30)
        axis.set_ylim(0, max(values + [1]) * 1.15)
    figure.suptitle(
        f"{data['triaged']} messages triaged, {data['malformed']} malformed rows skipped"
        + (f", {data['failed']} failed" if data["failed"] else "")
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
