"""Build the compiled kernels; the rest of the metadata is in pyproject.toml.

Each ``chinchilla_sklearn/_*_fast.pyx`` becomes an extension module beside the
Python module that calls it. Cython is a build requirement only (pyproject.toml's
``[build-system]``). The C compiler keeps its baseline target (no ``-march``), so
a wheel runs on any CPU of its platform; ``-O3`` vectorises the kernels' loops
over the dense columns where the interpreter was built with less.
"""

import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

EXTENSIONS = ["_kernels_fast", "_online_fast"]
COMPILE_ARGS = [] if sys.platform == "win32" else ["-O3"]

setup(
    ext_modules=cythonize(
        [
            Extension(f"chinchilla_sklearn.{name}", [f"chinchilla_sklearn/{name}.pyx"],
                      extra_compile_args=COMPILE_ARGS)
            for name in EXTENSIONS
        ],
        compiler_directives={"language_level": 3},
    ),
)
