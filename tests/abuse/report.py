"""Per-category counts of the abuse tests, printed by the package's conftest at the end of the run."""

from __future__ import annotations

from collections import Counter, defaultdict

COUNTS: dict[str, Counter] = defaultdict(Counter)
COLUMNS = ("inputs", "requests", "2xx", "4xx", "5xx", "silent", "clear_in_language", "other_language",
           "disclosures", "known_issue", "rate_limited", "verifications")


def add(category: str, **counts: int) -> None:
    COUNTS[category].update({key: value for key, value in counts.items() if value})


def table() -> list[str]:
    if not COUNTS:
        return []
    used = [c for c in COLUMNS if any(COUNTS[cat][c] for cat in COUNTS)]
    width = max(len(cat) for cat in COUNTS)
    lines = [f"{'category':<{width}}  " + "  ".join(f"{c:>{max(len(c), 5)}}" for c in used)]
    for category in COUNTS:
        lines.append(f"{category:<{width}}  " + "  ".join(f"{COUNTS[category][c]:>{max(len(c), 5)}}" for c in used))
    return lines
