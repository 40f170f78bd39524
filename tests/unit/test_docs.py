"""Documents generated from the code stay what the code generates."""

from __future__ import annotations

from actions.orders.demo import demo_table_markdown
from bot.generate import main as generate
from tests.conftest import ROOT


def test_the_demo_data_table_is_the_one_the_code_prints():
    doc = (ROOT / "docs" / "demo-data.md").read_text(encoding="utf-8")
    assert demo_table_markdown().strip() in doc, "run `python -m actions.orders demo-table` into docs/demo-data.md"


def test_generated_yaml_is_current():
    assert generate(["--check"]) == 0, "run `python -m bot.generate`"


def test_readme_is_one_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150
    assert "make run" in "\n".join(lines[:10]) and "make test" in "\n".join(lines[:10])
