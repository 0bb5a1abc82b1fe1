"""benchmarks/results.json: its schema, and the README's tables printed from it."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results():
    if not (ROOT / "benchmarks" / "_results.py").exists():  # tests/ run elsewhere
        pytest.skip("needs the source tree (benchmarks/, README.md)")
    spec = importlib.util.spec_from_file_location(
        "_results", ROOT / "benchmarks" / "_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_follow_the_schema(results):
    content = results.load()
    assert content["schema_version"] == results.SCHEMA_VERSION
    for row in content["rows"]:
        assert set(results.ROW_KEYS) <= set(row)
        assert row["run"] in content["runs"]
        assert row["date"] == content["runs"][row["run"]]["date"]
        assert row["benchmark"] in ("cv", "solver")
        assert row["time_s"] > 0 and row["passes"] > 0
    identities = [tuple(row[k] for k in results.IDENTITY) for row in content["rows"]]
    assert len(identities) == len(set(identities))


def test_readme_tables_are_the_results_file_s(results):
    readme = (ROOT / "README.md").read_text()
    block = results.README_BLOCK.search(readme)
    assert block is not None
    assert block.group(2).strip() == results.readme_tables().strip(), (
        "README.md's cv tables differ from benchmarks/results.json: paste the output "
        "of `python benchmarks/_results.py`")
