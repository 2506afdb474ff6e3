"""The documentation site builds without a single warning, examples and plots included.

This runs the documented command (README, "Documentation") into a temporary folder:
``python -m sphinx -W --keep-going -b html docs <out>``. The build executes every
``examples/plot_*.py`` (sphinx-gallery) and generates an API page for every public object.
One test does it all, so that ``pytest -n 2`` builds the site once.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import sk_plstm

#: the heavy tier (the documentation site, built): python -m pytest -m heavy
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]


def _public_names() -> list[str]:
    """Import paths of the objects in the ``__all__`` of every public module."""
    modules = ["sk_plstm"] + [
        info.name
        for info in pkgutil.iter_modules(sk_plstm.__path__, prefix="sk_plstm.")
        if not info.name.rsplit(".", 1)[1].startswith("_")
    ]
    names = []
    for name in modules:
        module = importlib.import_module(name)
        for attr in module.__all__:
            if not attr.startswith("__"):  # __version__ is not an API page
                names.append(f"{name}.{attr}")
    return names


def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    # one thread, as in the rest of the suite (pytest -n 2 on 2 cores)
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html"]
    command += ["-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(out)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"docs build failed:\n{done.stderr[-20000:]}"

    # the landing page and the guide pages
    guide = ["getting_started", "user_guide", "sktime", "model_selection", "reliability"]
    guide += ["training", "inspecting", "fit_results", "reproduction", "api"]
    for page in ["index", *guide]:
        assert (out / f"{page}.html").is_file(), page

    # an API page for every public object, in every public module
    missing = []
    for path in _public_names():
        page = out / "api" / "generated" / f"{path}.html"
        if not page.is_file() or path.rsplit(".", 1)[1] not in page.read_text():
            missing.append(path)
    assert not missing, f"no API page for {missing}: list them in docs/api/<module>.rst"
    assert "PhasedLSTMClassifier" in (out / "api" / "sk_plstm.html").read_text()

    # every gallery example ran, and its figures are in the built site
    examples = sorted(p.stem for p in (ROOT / "examples").glob("plot_*.py"))
    assert examples
    for stem in examples:
        assert (out / "auto_examples" / f"{stem}.html").is_file(), stem
        assert list((out / "_images").glob(f"sphx_glr_{stem}_*.png")), f"no figure from {stem}"
        html = (out / "auto_examples" / f"{stem}.html").read_text()
        assert f"sphx_glr_{stem}_001.png" in html, f"{stem}'s figure is not on its page"
