"""Build the Cython engine extensions (metadata lives in pyproject.toml)."""

from Cython.Build import cythonize
from setuptools import Extension, find_namespace_packages, find_packages, setup

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

# The dashboard's assets live at the top of the repository (static/, templates/) and ship inside the
# package as app/static and app/templates, so an installed wheel (and the image) finds them through
# the package (app/assets.py); an editable install finds them in the checkout.
ASSETS = {"app.static": "static", "app.templates": "templates"}
ASSET_PACKAGES = [f"{pkg}.{sub}" if sub else pkg for pkg, d in ASSETS.items()
                  for sub in ["", *find_namespace_packages(where=d)]]

setup(
    packages=find_packages(include=["engine", "engine.*", "app", "app.*"]) + ASSET_PACKAGES,
    package_dir=ASSETS,
    package_data={"engine": ["*.pyx", "*.pxd"], "app.walkthroughs": ["*.json"],
                  **{pkg: ["*"] for pkg in ASSET_PACKAGES}},
    exclude_package_data={"engine": ["*.c"]},
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
