"""Real documents for the benchmarks: the docstrings of installed packages.

The documents are the docstrings that ship with the installed third-party
packages (numpy, scipy, scikit-learn, pandas, matplotlib, pyarrow, numba, dask,
...; never the standard library): module, class, function, method and property
docstrings, read from the imported objects. Unlike the generated workloads of
`_data.py`, their terms are not drawn independently: a bigram is nearly a copy of
its two words, numpydoc boilerplate ("Parameters ----------", "array_like")
repeats, and many columns are near duplicates of each other.

Recipe (deterministic given the installed versions; everything is sorted):

1. For each package of `PACKAGES` that is installed, a subprocess
   (``python _real_text.py --extract NAME OUT``, ``PYTHONHASHSEED=0``,
   ``MPLBACKEND=Agg``, working directory a temporary folder) imports the package
   and walks its modules in name order, skipping tests, backends, GUI toolkits,
   CUDA and ``__main__`` before importing them; a module whose import fails is
   skipped. Of each module it reads the module docstring and, in name order, the
   classes and routines *defined* there (``obj.__module__`` is the module), and
   of each class its methods and properties (raw ``__doc__``, no inheritance),
   cleaned with `inspect.cleandoc`. A package that fails, hangs (`TIMEOUT` s)
   or prints to stdout does no harm: it runs in its own process.
2. Records are sorted by (distribution, module, name); memory addresses, the
   interpreter prefix and example lines marked "# may vary" are masked;
   identical docstrings are kept once (the first), and docstrings with fewer
   than `MIN_TOKENS` tokens (the vectorizer's ``\\b\\w\\w+\\b``) are dropped
   ("Return self.").
3. ``TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)``, fitted
   on the documents of the task:

   - ``real-binary``: every document; y = 1 when it comes from numpy or scipy
     (about a fifth of them). Not trivial: numpydoc style is shared with
     scikit-learn, pandas, matplotlib and dask (which copies numpy's
     docstrings).
   - ``real-multiclass``: the `N_CLASSES` distributions with the most
     documents, at most `PER_CLASS` documents each (the ones with the
     smallest SHA-1 of their text), labelled by distribution.

Both are cached on first use under ``$CHINCHILLA_BENCH_CACHE`` (default
``~/.cache/chinchilla-bench``), in a folder keyed by the recipe version, the
Python version and the versions of the packages read; never in the repository.
``python benchmarks/_real_text.py`` builds both and prints their statistics
(``--accuracy``: held-out accuracy of tuned L1 and L2 models).
"""

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Import names of the packages whose docstrings are read, when installed: the
# runtime, test, dask and benchmark dependencies of this project and theirs.
PACKAGES = (
    "PIL", "_pytest", "click", "cloudpickle", "contourpy", "cycler", "dask",
    "dask_glm", "dask_ml", "dateutil", "distributed", "fontTools", "fsspec",
    "hypothesis", "importlib_metadata", "iniconfig", "jinja2", "joblib",
    "kiwisolver", "llvmlite", "locket", "markupsafe", "matplotlib", "mpl_toolkits",
    "msgpack", "multipledispatch", "narwhals", "numba", "numpy", "packaging",
    "pandas", "partd", "pluggy", "prettytable", "psutil", "pyarrow", "pygments",
    "pyparsing", "scipy", "skglm", "sklearn", "skops", "sortedcontainers",
    "sparse", "tblib", "threadpoolctl", "toolz", "tornado", "wcwidth", "yaml",
    "zict", "zipp",
)  # fmt: skip
RECIPE_VERSION = 1  # bump when the recipe changes: the cache key includes it
TIMEOUT = 300  # seconds per package
MIN_TOKENS = 10
BINARY_POSITIVE = ("numpy", "scipy")  # distributions of the positive class
N_CLASSES = 20
PER_CLASS = 400
VECTORIZER = {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True}
TASKS = ("real-binary", "real-multiclass")

# Module path components never imported: tests, GUI toolkits and backends, CUDA.
_SKIP = re.compile(
    r"(^|\.)(tests?|testing|conftest|__main__|setup|_?backends?|backend_\w+|gui\w*|"
    r"qt\w*|tk\w*|wx\w*|gtk\w*|cuda\w*|rocm\w*|_?pyinstaller\w*)($|\.)"
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # TfidfVectorizer's default token_pattern


def cache_root():
    """Return ``$CHINCHILLA_BENCH_CACHE``, else ``~/.cache/chinchilla-bench``."""
    root = os.environ.get("CHINCHILLA_BENCH_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "chinchilla-bench"


# ---------------------------------------------------------------- extraction
# (runs in a subprocess: only the standard library is imported at the top)


def _walk_modules(package):
    """Import ``package`` and its submodules (name order); {name: module}."""
    import importlib
    import pkgutil

    modules = {package: importlib.import_module(package)}
    stack = [modules[package]]
    while stack:
        parent = stack.pop()
        path = getattr(parent, "__path__", None)
        if not path:
            continue
        infos = pkgutil.iter_modules(path, parent.__name__ + ".")
        for info in sorted(infos, key=lambda i: i.name):
            if _SKIP.search(info.name):
                continue  # before importing it
            try:
                module = importlib.import_module(info.name)
            except BaseException:  # ImportError, SystemExit, missing extras...
                continue
            modules[info.name] = module
            if info.ispkg:
                stack.append(module)
    return modules


def _class_members(cls):
    """(kind, name, docstring) of the methods and properties of ``cls``."""
    import inspect

    for name, member in sorted(vars(cls).items()):
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property) or inspect.isdatadescriptor(member):
            yield "property", name, getattr(member, "__doc__", None)
        elif inspect.isroutine(member):
            yield "method", name, getattr(member, "__doc__", None)


def _module_records(name, module):
    """(kind, module, qualified name, docstring) of what ``module`` defines."""
    import inspect

    yield "module", name, "", module.__doc__
    for attr, obj in sorted(vars(module).items()):
        try:
            if getattr(obj, "__module__", None) != name:
                continue  # imported from elsewhere: read where it is defined
            if inspect.isclass(obj):
                found = [("class", attr, obj.__doc__)]
                found += [(kind, f"{attr}.{member}", doc)
                          for kind, member, doc in _class_members(obj)]
            elif callable(obj):
                found = [("function", attr, getattr(obj, "__doc__", None))]
            else:
                continue
        except Exception:  # lazy proxies and other objects that misbehave
            continue
        for kind, qualname, doc in found:
            yield kind, name, qualname, doc


def extract(package, out_path):
    """Write the docstring records of ``package`` to ``out_path`` (JSON)."""
    import inspect
    import warnings

    warnings.simplefilter("ignore")
    records = []
    for name, module in sorted(_walk_modules(package).items()):
        for kind, mod, qualname, doc in _module_records(name, module):
            if isinstance(doc, str) and doc.strip():
                records.append([kind, mod, qualname, inspect.cleandoc(doc)])
    Path(out_path).write_text(json.dumps(records))


def _distributions(packages):
    """{import name: (distribution, version)} of the installed ``packages``."""
    import importlib.metadata as md
    import importlib.util

    owners = md.packages_distributions()
    found = {}
    for package in packages:
        if package not in owners or importlib.util.find_spec(package) is None:
            continue
        dist = sorted(owners[package])[0]
        found[package] = (md.distribution(dist).metadata["Name"], md.version(dist))
    return found


def _run_extract(package, out_path, log):
    env = dict(os.environ, PYTHONHASHSEED="0", MPLBACKEND="Agg")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    with tempfile.TemporaryDirectory() as cwd:
        try:
            proc = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--extract",
                 package, str(out_path)],
                cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, timeout=TIMEOUT, text=True,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return f"timed out after {TIMEOUT} s"
    if proc.returncode != 0 or not Path(out_path).exists():
        return f"failed ({proc.returncode}): {proc.stderr.strip()[-200:]}"
    return ""


def _clean(text):
    """Mask what changes from one import to the next.

    Memory addresses, the interpreter prefix, and example outputs marked
    "# may vary" (scipy.stats' distribution classes run their examples with
    unseeded random draws when they are imported).
    """
    text = _ADDRESS.sub("0x", text).replace(sys.prefix, "<prefix>")
    return "\n".join(line for line in text.split("\n") if "may vary" not in line)


def collect(packages=PACKAGES, log=print):
    """Docstring records of the installed ``packages``, deduplicated, sorted.

    Returns (records, versions, skipped): records are dicts with ``dist``,
    ``package``, ``module``, ``name``, ``kind`` and ``text``.
    """
    found = _distributions(packages)
    records, skipped = [], {p: "not installed" for p in packages if p not in found}
    with tempfile.TemporaryDirectory() as tmp:
        for package, (dist, version) in sorted(found.items()):
            start = time.perf_counter()
            out = Path(tmp) / f"{package}.json"
            error = _run_extract(package, out, log)
            if error:
                skipped[package] = error
                log(f"  {package}: skipped, {error}")
                continue
            raw = json.loads(out.read_text())
            log(f"  {package} {version}: {len(raw)} docstrings "
                f"({time.perf_counter() - start:.1f} s)", flush=True)
            for kind, module, name, text in raw:
                records.append({"dist": dist, "package": package, "module": module,
                                "name": name, "kind": kind, "text": _clean(text)})
    records.sort(key=lambda r: (r["dist"], r["module"], r["name"], r["kind"]))
    seen, kept = set(), []
    for record in records:
        if record["text"] in seen or len(_TOKEN.findall(record["text"])) < MIN_TOKENS:
            seen.add(record["text"])
            continue
        seen.add(record["text"])
        kept.append(record)
    versions = {dist: version for dist, version in sorted(found.values())}
    return kept, versions, skipped


# ---------------------------------------------------------------- tasks


def _key(versions):
    payload = {
        "recipe": RECIPE_VERSION,
        "python": ".".join(map(str, sys.version_info[:2])),
        "packages": versions,
        "vectorizer": {k: list(v) if isinstance(v, tuple) else v
                       for k, v in VECTORIZER.items()},
        "binary_positive": BINARY_POSITIVE,
        "n_classes": N_CLASSES,
        "per_class": PER_CLASS,
    }
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def _select(records, task):
    """Documents and labels of ``task``; (texts, y, class names)."""
    import collections

    import numpy as np

    if task == "real-binary":
        texts = [r["text"] for r in records]
        y = np.array([r["dist"] in BINARY_POSITIVE for r in records], dtype=np.int64)
        return texts, y, ["other", "+".join(BINARY_POSITIVE)]
    counts = collections.Counter(r["dist"] for r in records)
    classes = sorted(sorted(counts), key=lambda d: -counts[d])[:N_CLASSES]
    chosen = []
    for dist in classes:
        mine = [r for r in records if r["dist"] == dist]
        mine.sort(key=lambda r: hashlib.sha1(r["text"].encode()).hexdigest())
        chosen += mine[:PER_CLASS]
    chosen.sort(key=lambda r: (r["dist"], r["module"], r["name"], r["kind"]))
    classes = sorted(classes)
    y = np.array([classes.index(r["dist"]) for r in chosen], dtype=np.int64)
    return [r["text"] for r in chosen], y, classes


def _atomic_write(path, write):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _vectorize(texts):
    from sklearn.feature_extraction.text import TfidfVectorizer

    X = TfidfVectorizer(**VECTORIZER).fit_transform(texts).tocsr()
    X.sort_indices()
    return X


def _build(folder, log):
    """Collect the documents and vectorize both tasks into ``folder``."""
    import numpy as np

    corpus = folder / "corpus.json.gz"
    if corpus.exists():  # an earlier build stopped after collecting
        saved = json.loads(gzip.decompress(corpus.read_bytes()))
    else:
        start = time.perf_counter()
        records, versions, skipped = collect(log=log)
        saved = {"records": records, "versions": versions, "skipped": skipped,
                 "collect_time": time.perf_counter() - start}
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(corpus, lambda p: p.write_bytes(
            gzip.compress(json.dumps(saved).encode(), mtime=0)))
    records, versions = saved["records"], saved["versions"]
    log(f"  {len(records)} documents (distinct docstrings of >= {MIN_TOKENS} "
        f"tokens) in {saved['collect_time']:.1f} s")
    for task in TASKS:
        t0 = time.perf_counter()
        texts, y, classes = _select(records, task)
        X = _vectorize(texts)
        info = {
            "task": task,
            "documents": "docstrings of installed third-party packages",
            "labels": ("numpy or scipy vs the other packages"
                       if task == "real-binary" else "distribution of the package"),
            "classes": classes,
            "class_counts": np.bincount(y, minlength=len(classes)).tolist(),
            "n_samples": X.shape[0],
            "n_features": X.shape[1],
            "nnz": int(X.nnz),
            "nnz_per_row_mean": X.nnz / X.shape[0],
            "vectorizer": f"TfidfVectorizer({VECTORIZER})",
            "package_versions": versions,
            "skipped_packages": saved["skipped"],
            "collect_time": saved["collect_time"],
            "vectorize_time": time.perf_counter() - t0,
        }
        _atomic_write(folder / f"{task}.npz", lambda p: _save_npz(p, X))
        _atomic_write(folder / f"{task}-y.npy",
                      lambda p: p.write_bytes(_npy_bytes(y)))
        _atomic_write(folder / f"{task}.json",
                      lambda p: p.write_text(json.dumps(info, indent=1)))
        log(f"  {task}: {X.shape[0]} x {X.shape[1]}, {X.nnz} stored "
            f"({info['nnz_per_row_mean']:.1f}/row), vectorized in "
            f"{info['vectorize_time']:.1f} s")


def _save_npz(path, X):
    import scipy.sparse as sp

    with open(path, "wb") as f:  # a file object: save_npz adds no suffix
        sp.save_npz(f, X)


def _npy_bytes(y):
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, y)
    return buffer.getvalue()


def load(task, log=print):
    """The ``task`` workload (``real-binary`` or ``real-multiclass``): X, y, info.

    Built and cached on first use (about two minutes), then read from the cache.
    """
    import numpy as np
    import scipy.sparse as sp

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {TASKS}")
    versions = {d: v for d, v in sorted(_distributions(PACKAGES).values())}
    folder = cache_root() / f"real_text-{_key(versions)}"
    built = False
    start = time.perf_counter()
    if not (folder / f"{task}.json").exists():
        log(f"building the real-text workloads into {folder}:")
        _build(folder, log)
        built = True
    X = sp.load_npz(folder / f"{task}.npz").tocsr()
    y = np.load(folder / f"{task}-y.npy")
    info = json.loads((folder / f"{task}.json").read_text())
    info.update(cache=str(folder), built_now=built,
                load_time=time.perf_counter() - start)
    return X, y, info


def _accuracy(task, log=print):
    """Held-out accuracy of L1 and L2 models over a few C (75/25 split)."""
    import warnings

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    X, y, _ = load(task, log)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y)
    majority = np.bincount(y_test).max() / y_test.size
    log(f"{task}: majority class {majority:.3f}")
    for C in (1.0, 10.0, 100.0):
        for l1_ratio in (1.0, 0.0):
            solver = "liblinear" if task == "real-binary" else (
                "saga" if l1_ratio else "lbfgs")
            est = LogisticRegression(C=C, l1_ratio=l1_ratio, solver=solver,
                                     tol=1e-4, max_iter=300)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X_train, y_train)
            log(f"  C={C:g} l1_ratio={l1_ratio:g} ({solver}): accuracy "
                f"{est.score(X_test, y_test):.4f}, "
                f"{np.count_nonzero(est.coef_)} non-zero weights")


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", nargs=2, metavar=("PACKAGE", "OUT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--accuracy", action="store_true")
    args = parser.parse_args(argv)
    if args.extract:
        extract(*args.extract)
        return
    for task in TASKS:
        X, y, info = load(task)
        shown = {k: v for k, v in info.items() if k != "package_versions"}
        print(json.dumps(shown, indent=1))
        if args.accuracy:
            _accuracy(task)


if __name__ == "__main__":
    main()
