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


# every `pip install` line a user can read: the pages, the package's docstrings and
# messages, and the benchmark scripts' usage lines
INSTALL_SOURCES = [
    *PAGES,
    *sorted((ROOT / "docs").glob("*.rst")),
    *sorted((ROOT / "sk_plstm").rglob("*.py")),
    *sorted((ROOT / "benchmarks").glob("*.py")),
]
INSTALL_LINE = re.compile(r"pip install ([^`\n#]*)")


def _project():
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _install_lines():
    for path in INSTALL_SOURCES:
        for args in INSTALL_LINE.findall(path.read_text()):
            yield f"{path.relative_to(ROOT)}: pip install {args.strip()}"


def _check_install_line(line: str, project: dict) -> None:
    """Raise AssertionError if ``line`` cannot work from a checkout (no network to try it)."""
    import shlex

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    args = line.split(": pip install ", 1)[1]
    # a Python string in the source holds \" for a quote
    words = [w for w in shlex.split(args.replace('\\"', '"')) if not w.startswith("-")]
    assert words, f"{line}: nothing to install"
    extras = set(project["optional-dependencies"])
    known = {
        canonicalize_name(Requirement(r).name)
        for r in [*project["dependencies"], *sum(project["optional-dependencies"].values(), [])]
    }
    for word in words:
        word = word.rstrip(".,;:)")  # prose punctuation after an inline command
        if word.startswith("."):  # the checkout, with extras: .[a,b]
            match = re.fullmatch(r"\.(?:\[([\w,\-]+)\])?", word)
            assert match, f"{line}: {word!r} is not a checkout path with extras"
            unknown = set((match[1] or "").split(",")) - extras - {""}
            assert not unknown, f"{line}: extras {sorted(unknown)} are not in pyproject.toml"
            continue
        name = canonicalize_name(Requirement(word).name)
        assert name != canonicalize_name(project["name"]), (
            f"{line}: {project['name']} is not published on a package index; install it "
            'from a checkout (pip install -e ".[extra]")'
        )
        assert name in known, f"{line}: {word!r} is not a dependency of the project"


def test_install_lines_exist():
    assert len(list(_install_lines())) >= 8


@pytest.mark.parametrize("line", sorted(set(_install_lines())))
def test_install_line_works_from_a_checkout(line):
    _check_install_line(line, _project())


@pytest.mark.parametrize(
    "line",
    [
        'README.md: pip install "sk_plstm[distributed]"',
        "README.md: pip install sk-plstm",
        'README.md: pip install -e ".[nosuchextra]"',
        "README.md: pip install leftpad",
        "README.md: pip install -e",
    ],
)
def test_install_line_check_refuses_lines_that_cannot_work(line):
    with pytest.raises(AssertionError):
        _check_install_line(line, _project())
