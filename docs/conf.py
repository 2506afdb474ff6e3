"""Sphinx configuration of the sk_plstm documentation site.

Build it (warnings as errors, as the test suite does) from the repository root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Nothing here reaches the network: no intersphinx, no remote theme assets.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import sk_plstm  # noqa: E402

# -- Project ---------------------------------------------------------------------------

project = "sk_plstm"
author = "sk_plstm developers"
copyright = "sk_plstm developers"
version = release = sk_plstm.__version__

# -- General ---------------------------------------------------------------------------

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
]

# Markdown pages: ``[text](#a-heading)`` links reach headings down to level 3
myst_heading_anchors = 3

# -- API reference (autodoc, autosummary, numpydoc) -------------------------------------

autosummary_generate = True
autodoc_typehints = "none"  # types are in the numpydoc "Parameters" sections
autodoc_member_order = "groupwise"
numpydoc_show_class_members = False


def _defined_in_package(obj: object) -> bool:
    """Whether ``obj`` (a member as autodoc sees it) was written in sk_plstm."""
    if isinstance(obj, property):
        obj = obj.fget
    obj = inspect.unwrap(getattr(obj, "__func__", obj))
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return False
    return (getattr(obj, "__module__", None) or "").startswith("sk_plstm")


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document a class's own API, not what it inherits from scikit-learn, torch or sktime.

    Members defined in sk_plstm (including those of its private base classes) are kept;
    inherited ones (``get_params``, ``score``, ``set_*_request``, ``torch.nn.Module``'s
    methods, sktime's ``BaseClassifier`` API) are left to their own projects' docs.
    """
    if what in ("class", "exception") and not name.startswith("_"):
        return skip or not _defined_in_package(obj)
    return None


def setup(app):
    """Connect the member filter."""
    app.connect("autodoc-skip-member", _skip_foreign_members)


# -- Gallery (sphinx-gallery) ----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # every examples/plot_*.py is executed during the build and its figures embedded
    "filename_pattern": r"/plot_",
    # run every example on every build (not only changed ones), so a build checks the
    # examples against the current package
    "run_stale_examples": True,
    # an example that raises fails the build (after the others have run)
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "remove_config_comments": True,
    # "Examples using X" on each API page (the minigallery in _templates/autosummary)
    "doc_module": ("sk_plstm",),
    "backreferences_dir": "api/generated/backreferences",
}

# -- HTML (pydata-sphinx-theme, no network) ----------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sk_plstm {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
    "article_header_start": ["breadcrumbs"],
}
html_context = {"default_mode": "light"}
