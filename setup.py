"""Build the Cython engine extensions (metadata lives in pyproject.toml)."""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "engine._query_c",
        ["engine/_query_c.pyx"],
        extra_compile_args=["-O3", "-g0"],
    ),
    Extension(
        "engine._replay_c",
        ["engine/_replay_c.pyx"],
        extra_compile_args=["-O3", "-g0"],
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "cdivision": True,
        },
    ),
)
