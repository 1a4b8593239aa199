"""Where the dashboard's static files and templates are: inside the package (app/static,
app/templates) in a wheel or the image, as setup.py maps them; in the checkout's top-level static/
and templates/ for an editable install (which maps only the Python packages)."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["STATIC", "TEMPLATES", "asset_dir"]


def asset_dir(name: str) -> Path:
    """The directory `name` ("static" or "templates") through the package, else in the checkout."""
    packaged = Path(str(files("app"))) / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise RuntimeError(f"vmemscope's {name}/ is neither in the package ({packaged}) nor in a checkout "
                       f"({checkout}): reinstall vmemscope")


STATIC = asset_dir("static")
TEMPLATES = asset_dir("templates")
