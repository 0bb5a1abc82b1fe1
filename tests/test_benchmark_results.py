"""benchmarks/results.json: its schema, and the README's tables printed from it."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results():
    # tests/ run elsewhere (CI's wheel check copies tests/ and benchmarks/ only)
    if not all((ROOT / name).exists() for name in ("benchmarks/_results.py",
                                                     "README.md")):
        pytest.skip("needs the source tree (benchmarks/, README.md)")
    spec = importlib.util.spec_from_file_location(
        "_results", ROOT / "benchmarks" / "_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_schema(results, content):
    assert content["schema_version"] == results.SCHEMA_VERSION
    for row in content["rows"]:
        assert set(results.ROW_KEYS) <= set(row)
        assert row["run"] in content["runs"]
        assert row["date"] == content["runs"][row["run"]]["date"]
        assert row["benchmark"] in ("cv", "solver")
        assert row["time_s"] > 0 and row["passes"] > 0
        if row["benchmark"] == "solver" and not results.reached(row):
            assert "not reached" in row["note"]
    identities = [tuple(row[k] for k in results.IDENTITY) for row in content["rows"]]
    assert len(identities) == len(set(identities))


def test_rows_follow_the_schema(results):
    check_schema(results, results.load())


def solver_row(solver, time_s, penalty="l1", reached=True, ratio=None, note=""):
    return {"benchmark": "solver", "workload": "text 20 x 50, binary",
            "penalty": penalty, "solver": solver, "n_jobs": 1, "time_s": time_s,
            "passes": time_s / 0.01, "ratio": ratio, "note": note,
            "reached": reached, "gap": 1e-7 if reached else 3e-5, "C": 1.0}


@pytest.fixture
def recorded(results, tmp_path):
    """A results file with solver rows of both penalties, one not reached."""
    key, run = results.new_run("test", "test", {})
    rows = [
        solver_row("chinchilla gate=on", 0.5, "l2", ratio=1.0),
        solver_row("sklearn newton-cg", 1.0, "l2", ratio=2.0),
        solver_row("chinchilla gate=on", 0.2, ratio=1.0),
        solver_row("chinchilla gate=off", 0.4, ratio=2.0),
        solver_row("sklearn saga", 120.0, reached=False, ratio=600.0,
                   note="gap 3e-05 not reached in 120 s; max_iter=300"),
        solver_row("sklearn lbfgs", 1.0, "en"),  # no gate-on row: left out
    ]
    path = results.record(key, run, rows, path=tmp_path / "results.json")
    return results.load(path)


def test_recorded_solver_rows_follow_the_schema(results, recorded):
    check_schema(results, recorded)


def test_solver_table(results, recorded):
    lines = results.solver_table(recorded).splitlines()
    assert len(lines) == 2 + 2  # header, l1 then l2 (en has no gate-on row)
    assert lines[2].startswith("| text 20 x 50, binary | l1 | 0.200 s, 20 passes |")
    assert "saga >120 s (<0.0017x), gap 3e-05 not reached" in lines[2]
    assert lines[2].endswith("| 0.400 s (0.50x) |")
    assert "| l2 |" in lines[3] and "newton-cg 1.00 s (0.50x)" in lines[3]
    assert lines[3].endswith("| - |")  # no gate-off row
    readme = results.readme_tables(recorded)
    assert results.solver_table(recorded) in readme
    assert "no cv results recorded yet" in readme


def test_readme_tables_without_results(results):
    empty = {"schema_version": results.SCHEMA_VERSION, "runs": {}, "rows": []}
    readme = results.readme_tables(empty)
    assert "no solver results recorded yet" in readme
    assert "no cv results recorded yet" in readme


def test_readme_tables_are_the_results_file_s(results):
    readme = (ROOT / "README.md").read_text()
    block = results.README_BLOCK.search(readme)
    assert block is not None
    assert block.group(2).strip() == results.readme_tables().strip(), (
        "README.md's benchmark tables differ from benchmarks/results.json: run "
        "`python benchmarks/_results.py --update-readme`")
