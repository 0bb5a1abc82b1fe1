"""Sphinx configuration for chinchilla-sklearn."""

import os
import re
from importlib.metadata import version as _version

project = "chinchilla-sklearn"
author = "chinchilla-sklearn developers"
copyright = "chinchilla-sklearn developers"
release = _version("chinchilla-sklearn")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
default_role = "literal"

autosummary_generate = True
numpydoc_show_class_members = False

# Builds run without network: intersphinx fetches nothing unless asked to, with
# SPHINX_INTERSPHINX=1 in the environment.
intersphinx_mapping = {}
if os.environ.get("SPHINX_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
    }

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/(plot_|quickstart)",
    "doc_module": ("chinchilla_sklearn",),
    "backreferences_dir": os.path.join("gen_modules", "backreferences"),
    "reference_url": {"chinchilla_sklearn": None},
    "download_all_examples": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"chinchilla-sklearn {release}"
html_theme_options = {"navigation_with_keys": False}


def _skip_metadata_routing(app, what, name, obj, skip, options):
    """Skip scikit-learn's generated metadata-routing methods.

    Their docstrings cite labels of scikit-learn's own docs, which do not resolve here.
    """
    if name == "get_metadata_routing" or (
        name.startswith("set_") and name.endswith("_request")
    ):
        return True
    return None


# scikit-learn's docstring convention writes shapes such as "(n_features_in_,)";
# reStructuredText reads a word ending in "_" as a link, so quote it as literal.
_SHAPE_NAME = re.compile(r"\((\w+_),\)")


def _quote_shape_names(app, what, name, obj, options, lines):
    """Quote attribute names used as shapes in docstrings (in place)."""
    lines[:] = [_SHAPE_NAME.sub(r"(`\1`,)", line) for line in lines]


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_routing)
    app.connect("autodoc-process-docstring", _quote_shape_names)
