"""The Python examples in the README and in docs/ run as written.

The blocks of a page run in order in one namespace, as a reader runs them one after
another (a later block may use what an earlier one defined).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = {
    page.name: re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S) for page in PAGES
}


def test_readme_and_docs_have_examples():
    assert sum(len(blocks) for blocks in BLOCKS.values()) >= 8


@pytest.mark.parametrize("page", [name for name, blocks in BLOCKS.items() if blocks])
def test_examples_run(page):
    namespace = {}
    for i, code in enumerate(BLOCKS[page]):
        exec(compile(code, f"<{page} block {i}>", "exec"), namespace)
