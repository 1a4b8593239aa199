"""Build the Cython engine extensions (metadata lives in pyproject.toml)."""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "engine._core",
        ["engine/_core.pyx"],
        extra_compile_args=["-O3", "-g0"],
    ),
    Extension(
        "engine._replay",
        ["engine/_replay.pyx"],
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
