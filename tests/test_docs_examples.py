"""The Python examples in the README and in docs/ run as written, and print what they say.

The blocks of a page run in order in one namespace, as a reader runs them one after
another (a later block may use what an earlier one defined). A line
``print(...)  # prints: <text>`` must print exactly ``<text>``; with
``# prints about: <text>`` every number may differ by 5% (relative) and the rest must
match. What follows two spaces after the text is a comment. A block followed by a
paragraph ``prints`` and a ``text`` block must print that text (numbers within 5%).

The numbers are those of the compiled CPU kernel (the README's set-up). Without it the
torch implementation sums in another order, training takes a slightly different path
from the same seed, and only the text around the numbers is checked.
"""

import contextlib
import io
import math
import re
from pathlib import Path

import pytest

#: the heavy tier (every example of the README and the docs, run): python -m pytest -m heavy
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```(?:\s*\nprints\n\n```text\n(.*?)```)?", flags=re.S)
#: each page's Python blocks, with the text that a page says a block prints (or None)
OUTPUTS = {
    page.name: [(code, text or None) for code, text in BLOCK.findall(page.read_text())]
    for page in PAGES
}
BLOCKS = {name: [code for code, _ in blocks] for name, blocks in OUTPUTS.items()}


def test_readme_and_docs_have_examples():
    assert sum(len(blocks) for blocks in BLOCKS.values()) >= 8


CLAIM = re.compile(r"^print\((?P<args>.*)\)  # prints(?P<about> about)?: (?P<text>.+?)(?:  .*)?$")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _instrumented(code: str) -> tuple[str, dict[int, tuple[str, bool]]]:
    """``code`` with every claimed print recorded by line, and the claims by line."""
    claims, lines = {}, []
    for number, line in enumerate(code.splitlines(), 1):
        match = CLAIM.match(line)
        if match:
            claims[number] = (match["text"].strip(), bool(match["about"]))
            line = f"__printed__({number}, {match['args']})"
        lines.append(line)
    return "\n".join(lines) + "\n", claims


def _agrees(printed: str, text: str, about: bool) -> bool:
    from sk_plstm.nn import kernel_available

    if not kernel_available():  # the numbers stated are the kernel's
        return NUMBER.sub("#", printed) == NUMBER.sub("#", text)
    if not about:
        return printed == text
    if NUMBER.sub("#", printed) != NUMBER.sub("#", text):
        return False
    pairs = zip(NUMBER.findall(printed), NUMBER.findall(text))
    return all(math.isclose(float(a), float(b), rel_tol=0.05) for a, b in pairs)


def run_page(page: str) -> list[str]:
    """Run a page's blocks; the claims that its prints do not keep."""
    namespace, broken = {}, []
    for i, (code, expected) in enumerate(OUTPUTS[page]):
        code, claims = _instrumented(code)
        printed = {}

        def record(line, *args, printed=printed, **kwargs):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                print(*args, **kwargs)
            printed[line] = out.getvalue().strip()
            print(printed[line])

        namespace["__printed__"] = record
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(code, f"<{page} block {i}>", "exec"), namespace)
        if expected is not None:
            said, got = expected.strip().splitlines(), output.getvalue().strip().splitlines()
            if len(said) != len(got) or not all(
                _agrees(" ".join(g.split()), " ".join(w.split()), about=True)
                for g, w in zip(got, said)
            ):
                broken.append(
                    f"{page} block {i}: says it prints\n{expected}\nprints\n{output.getvalue()}"
                )
        for line, (text, about) in claims.items():
            if not _agrees(printed.get(line, "<not printed>"), text, about):
                broken.append(
                    f"{page} block {i} line {line}: says {text!r}, prints {printed.get(line)!r}"
                )
    return broken


@pytest.mark.parametrize("page", [name for name, blocks in BLOCKS.items() if blocks])
def test_examples_run_and_print_what_they_say(page):
    assert not run_page(page)


def test_claims_are_checked():
    code, claims = _instrumented("x = 1\nprint(x + 1)  # prints: 2  the sum\nprint(x)\n")
    assert claims == {2: ("2", False)} and "__printed__(2, x + 1)" in code
    assert _agrees("(1.02, 99.0)", "(1.0, 99)", about=True)
    assert not _agrees("(1.2, 99.0)", "(1.0, 99)", about=True)
    assert not _agrees("0.875", "0.9", about=False)
    assert not _agrees("True 0.9", "0.9", about=True)


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
        word = word.rstrip(",;:)")  # prose punctuation after an inline command
        if word != "." and word.endswith("."):  # a full stop, not the checkout "."
            word = word.rstrip(".") or "."
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


def test_reproduction_figures_come_from_the_reports():
    # every "mean +- sd" on the reproduction page is one that a script wrote in a report
    # under docs/reproduction/, so the page cannot drift from the runs it cites
    page = (ROOT / "docs" / "reproduction.md").read_text()
    reports = " ".join(p.read_text() for p in (ROOT / "docs" / "reproduction").glob("*.md"))
    figures = re.findall(r"\d+\.\d+ \+- \d+\.\d+", page)
    assert len(figures) >= 10
    assert [f for f in figures if f not in reports] == []
