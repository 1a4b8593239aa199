"""Drawing primitives for the box-and-arrow diagrams (app/diagrams.py): boxes are Plotly rect shapes,
arrows path shapes (shaft and head), text annotations; all in a pixel-like data space (x right,
y down) so that a diagram exports as the same vector drawing at any scale.

Every shape and annotation carries a `name` saying what it stands for ("vmemmap:<va>",
"frame:<pfn>:kept", "map:<va>-><pfn>" ...): the tests read the diagram's structure from the names.
"""
from __future__ import annotations

import math
from html import escape
from typing import Any

__all__ = ["Canvas", "FONT", "INK", "FILL", "BORDER", "esc"]

# One font everywhere, from a Debian package (fonts-liberation), so SVG, PNG and PDF agree.
FONT = {"family": "Liberation Sans, Arial, sans-serif", "size": 12, "color": "#222222"}
INK = "#222222"
# Okabe-Ito hues (colour-blind safe) as light fills with the full hue as border; every box also says
# in words what it is, so colour is never the only cue.
FILL = {"virtual": "#e3eef8", "frame": "#ffffff", "kept": "#d5efe6", "new": "#fbe7c2", "shared": "#f5dcea",
        "freed": "#ffffff", "table": "#dcecf8", "self": "#f9d9c6", "memmap": "#fbe7c2", "usable": "#eeeeee",
        "elsewhere": "#e3eef8", "refused": "#fff4cc"}
BORDER = {"virtual": "#0072b2", "frame": "#555555", "kept": "#009e73", "new": "#e69f00", "shared": "#cc79a7",
          "freed": "#999999", "table": "#56b4e9", "self": "#d55e00", "memmap": "#e69f00", "usable": "#999999",
          "elsewhere": "#0072b2", "refused": "#b08800"}


def _n(v: float) -> str:
    """A coordinate in a path: two decimals at most."""
    return f"{v:.2f}".rstrip("0").rstrip(".")


def esc(text: str) -> str:
    """Plotly reads annotation text as a small HTML subset: escape it (a title is user input)."""
    return escape(text, quote=False)


class Canvas:
    """Collects shapes and annotations, then lays them out as one Plotly figure."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.shapes: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []

    def box(self, x0: float, y0: float, x1: float, y1: float, kind: str, name: str, lines: list[str] = (),
            size: int = 11, dash: bool = False, bold_first: bool = True) -> None:
        """A rectangle of `kind` (FILL/BORDER) with centred text lines (first bold)."""
        self.shapes.append({"type": "rect", "x0": x0, "y0": y0, "x1": x1, "y1": y1, "name": name,
                            "fillcolor": FILL[kind], "layer": "below",
                            "line": {"color": BORDER[kind], "width": 1.5, **({"dash": "dash"} if dash else {})}})
        if lines:
            body = [f"<b>{esc(lines[0])}</b>" if bold_first else esc(lines[0])] + [esc(t) for t in lines[1:]]
            self.text((x0 + x1) / 2, (y0 + y1) / 2, "<br>".join(body), size=size, name=name + ":label")

    def text(self, x: float, y: float, html: str, size: int = 11, anchor: str = "center", name: str = "",
             valign: str = "middle", angle: float = 0, color: str = INK) -> None:
        """Text already escaped (may hold <b>/<br>)."""
        self.notes.append({"x": x, "y": y, "xref": "x", "yref": "y", "text": html, "showarrow": False,
                           "xanchor": anchor, "yanchor": valign, "align": "center" if anchor == "center" else anchor,
                           "font": {"size": size, "color": color}, "name": name,
                           **({"textangle": angle} if angle else {})})

    def arrow(self, x0: float, y0: float, x1: float, y1: float, name: str, colour: str = INK,
              width: float = 1.4) -> None:
        """An arrow from (x0, y0) to (x1, y1): one path shape, the shaft and a filled head. A shape, not an
        annotation: the browser draws a hundred shapes in the time a few dozen annotation arrows take."""
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        head = max(7.0, 4.2 * width)
        bx, by = x1 - ux * head, y1 - uy * head
        half = head * 0.42
        path = (f"M{_n(x0)},{_n(y0)}L{_n(bx)},{_n(by)}M{_n(x1)},{_n(y1)}"
                f"L{_n(bx - uy * half)},{_n(by + ux * half)}L{_n(bx + uy * half)},{_n(by - ux * half)}Z")
        self.shapes.append({"type": "path", "path": path, "name": name, "layer": "above", "fillcolor": colour,
                            "line": {"color": colour, "width": width}})

    def curve(self, path: str, name: str, colour: str = INK, width: float = 1.6) -> None:
        """An SVG path (for loops), drawn as a shape."""
        self.shapes.append({"type": "path", "path": path, "name": name, "layer": "above",
                            "line": {"color": colour, "width": width}})

    def figure(self, height: float, title: str, subtitle: str = "", meta: dict[str, Any] | None = None
               ) -> dict[str, Any]:
        """The Plotly figure: hidden axes spanning the canvas, title and subtitle as text on top."""
        head = [{"x": 12, "y": 10, "xref": "x", "yref": "y", "text": f"<b>{esc(title)}</b>", "showarrow": False,
                 "xanchor": "left", "yanchor": "top", "font": {"size": 17}, "name": "title"}]
        if subtitle:
            head.append({"x": 12, "y": 36, "xref": "x", "yref": "y", "text": esc(subtitle), "showarrow": False,
                         "xanchor": "left", "yanchor": "top", "font": {"size": 13, "color": "#444444"},
                         "name": "subtitle"})
        h = int(round(height))
        axis = {"visible": False, "fixedrange": True, "showgrid": False, "zeroline": False}
        return {"data": [], "layout": {
            "width": self.width, "height": h, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "font": FONT,
            "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "showlegend": False, "dragmode": False,
            "xaxis": {**axis, "range": [0, self.width]}, "yaxis": {**axis, "range": [h, 0]},
            "shapes": self.shapes, "annotations": head + self.notes, "meta": meta or {}}}
