"""Sphinx configuration for chinchilla-sklearn."""

import os
import re
import sys
from importlib.metadata import version as _version
from pathlib import Path

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
    "matplotlib.sphinxext.plot_directive",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_generated"]
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

# The Benchmarks page: charts drawn by benchmark_chart.py from the committed
# benchmarks/results.json (no benchmark runs during the build).
plot_working_directory = str(Path(__file__).resolve().parent)
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]

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


_DOCS = Path(__file__).resolve().parent
_PENALTIES = {"l1": "L1", "en": "elastic net", "l2": "L2"}


def _write_benchmark_tables(app):
    """Write _generated/benchmark_{cv,solver}.rst from benchmarks/results.json."""
    sys.path.insert(0, str(_DOCS.parent / "benchmarks"))
    from _results import load, solver_ratio, solver_rows, solver_time

    content = load()
    cv = []
    for r in (r for r in content["rows"] if r["benchmark"] == "cv"):
        ours = r["solver"] == "ChinchillaClassifierCV"
        cv.append([r["workload"], _PENALTIES.get(r["penalty"], r["penalty"]),
                   f"``{r['solver']}``", str(r["n_jobs"]), f"{r['time_s']:.1f}",
                   f"{r['passes']:,.0f}", "" if ours else f"{1 / r['ratio']:.3f}",
                   f"{r.get('C', float('nan')):.4g}",
                   f"{r.get('score', float('nan')):.4f}", r.get("note") or "",
                   r["date"]])
    _write_list_table("benchmark_cv.rst", [
        "workload", "penalty", "method", "n_jobs", "time [s]", "passes",
        "ours / theirs", "chosen C", "mean score", "note", "date"], cv)
    solver = []
    for group in solver_rows(content).values():
        for r in group.values():
            solver.append([
                r["workload"], _PENALTIES.get(r["penalty"], r["penalty"]),
                f"{r.get('C', float('nan')):.4g}", f"``{r['solver']}``",
                solver_time(r).removesuffix(" s"), f"{r['passes']:,.0f}",
                solver_ratio(r).removesuffix("x"),
                f"{r.get('gap', float('nan')):.1e}", f"{r.get('tol', float('nan')):g}",
                r.get("note") or "", r["date"]])
    _write_list_table("benchmark_solver.rst", [
        "workload", "penalty", "C", "solver", "time [s]", "passes", "ours / theirs",
        "gap", "tol (rung)", "note", "date"], solver)


def _write_list_table(name, header, rows):
    """Write _generated/NAME: a list-table of ``header`` and ``rows`` (of cells).

    Without rows, a sentence: docutils refuses a list-table of its header alone.
    """
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [header, *rows]:
        lines += [f"   * - {cells[0]}"] + [f"     - {cell}" for cell in cells[1:]]
    if not rows:
        lines = ["*(No results recorded yet.)*"]
    out = _DOCS / "_generated" / name
    out.parent.mkdir(exist_ok=True)
    text = "\n".join(lines) + "\n"
    if not out.exists() or out.read_text() != text:
        out.write_text(text)


def setup(app):
    app.connect("builder-inited", _write_benchmark_tables)
    app.connect("autodoc-skip-member", _skip_metadata_routing)
    app.connect("autodoc-process-docstring", _quote_shape_names)
