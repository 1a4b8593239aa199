"""The dashboard's static files and templates. Where they are: inside the package (app/static,
app/templates) in a wheel or the image, as setup.py maps them; in the checkout's top-level static/
and templates/ for an editable install. How they travel over classroom Wi-Fi: versioned URLs
(`/static/v/<hash>/...`, one hash of every asset, so ES modules' relative imports carry it too) cached
for a year, and bodies compressed once per process (brotli when the browser accepts it and the
`brotli` package is there, else gzip): Plotly's 4.8 MB script would go over the wire as 1.3 MB; the
partial bundle the dashboard loads (core and heatmap, 1.1 MB) as 0.37 MB."""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from collections import defaultdict
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

try:
    import brotli
except ImportError:                              # optional: gzip is always there
    brotli = None

__all__ = ["STATIC", "TEMPLATES", "asset_dir", "PLOTLY_JS", "PLOTLY_BUNDLE", "VERSION", "url", "find", "encoded", "warm_up",
           "dashboard_plotly", "plotly_release"]


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
PLOTLY_JS = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
VENDOR = {"vendor/plotly.min.js": PLOTLY_JS}
# The dashboard draws a heatmap and scatter traces (the legend) with shapes and annotations: a partial
# bundle of plotly.js with its core and the heatmap trace only (MIT; built by scripts/plotly_bundle from
# the npm package of the same release as the plotly package's plotly.min.js). Running a bundle costs the
# page far more than its size says: every trace and component registered (the cartesian bundle's ten
# traces and world calendars) is set up before the first plot; this one runs in about a third of the
# cartesian bundle's time and travels as 0.37 MB with brotli.
PLOTLY_BUNDLE = STATIC / "vendor" / "plotly-heatmap.min.js"


def plotly_release(path: Path) -> str:
    """The plotly.js release a bundle says it is, from its banner ("plotly.js (heatmap - minified) v4.1.1")."""
    with path.open("rb") as f:
        head = f.read(200).decode("ascii", "replace")
    return head.split(" v", 1)[1].split()[0] if " v" in head else ""


def dashboard_plotly() -> str:
    """The asset name of the Plotly bundle the dashboard loads: the partial one while it is the same
    release as the plotly package's (figures are built for that), else the full one."""
    same = PLOTLY_BUNDLE.is_file() and plotly_release(PLOTLY_BUNDLE) == plotly_release(PLOTLY_JS)
    return PLOTLY_BUNDLE.relative_to(STATIC).as_posix() if same else "vendor/plotly.min.js"


COMPRESSIBLE = {".js", ".css", ".svg", ".json", ".html", ".map"}


def _all_files() -> dict[str, Path]:
    out = {p.relative_to(STATIC).as_posix(): p for p in sorted(STATIC.rglob("*")) if p.is_file()}
    return {**out, **VENDOR}


def _version() -> str:
    h = hashlib.sha256()
    for name, p in sorted(_all_files().items()):
        h.update(name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


VERSION = _version()


def url(name: str) -> str:
    """The versioned URL of a static asset (templates: `{{ asset('js/main.js') }}`)."""
    return f"/static/v/{VERSION}/{name}"


def find(name: str) -> Path | None:
    """The file behind an asset name, or None (no escaping the static directory)."""
    if name in VENDOR:
        return VENDOR[name]
    p = (STATIC / name).resolve()
    return p if p.is_file() and STATIC in p.parents else None


@lru_cache(maxsize=64)
def _compressed(path: Path, mtime: float, coding: str) -> bytes:
    data = path.read_bytes()
    return brotli.compress(data, quality=5) if coding == "br" else gzip.compress(data, 6, mtime=0)


_locks: dict[tuple[Path, str], threading.Lock] = defaultdict(threading.Lock)


def encoded(path: Path, accept_encoding: str) -> tuple[bytes, str | None, str]:
    """(body, content-encoding or None, media type) for a request's Accept-Encoding."""
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media in ("application/javascript", "text/javascript"):
        media = "text/javascript"
    accepted = {c.split(";")[0].strip() for c in accept_encoding.lower().split(",")}
    if path.suffix not in COMPRESSIBLE or path.stat().st_size < 1024:
        return path.read_bytes(), None, media
    coding = "br" if brotli is not None and "br" in accepted else "gzip" if "gzip" in accepted else None
    if coding is None:
        return path.read_bytes(), None, media
    with _locks[path, coding]:                   # each file compressed once, then cached
        return _compressed(path, path.stat().st_mtime, coding), coding, media


def warm_up() -> None:
    """Compress the big assets in the background (the first page view starts it)."""
    def run() -> None:
        encoded(find(dashboard_plotly()), "br" if brotli is not None else "gzip")
    if not getattr(warm_up, "started", False):
        warm_up.started = True
        threading.Thread(target=run, name="vmemscope-assets", daemon=True).start()
