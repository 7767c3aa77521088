"""The leaderboard's figures as inline SVG strings (matplotlib, no pyplot state, no files).

SVG output is deterministic: no date in the metadata, element ids salted and prefixed by the figure's
own key (distinct figures in one HTML page never share an id), text kept as ``<text>`` (escaped by
matplotlib's XML writer) so the page stays small.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

_STYLE = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "text.parse_math": False,  # model and benchmark ids are plain text: `a$b$c` is not mathtext
}
PROBE_COLOURS = {"semantic": "#1f6fb4", "saliency": "#e07b00"}
_BRAIN_COLOURS = ("#2a9d4b", "#7b3fa0", "#b8323f", "#4d4d4d", "#1a9e9e", "#8c6d1f", "#d95f9e", "#5a7d2a")


def svg(figure: Figure, key: str) -> str:
    """``figure`` as an ``<svg>`` element (no XML prolog), reproducible byte for byte."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**_STYLE, "svg.hashsalt": f"brainalign:{key}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return _prefix_ids(text[text.index("<svg"):], key)


def _prefix_ids(text: str, key: str) -> str:
    """Prefix every element id (and each reference to one) with ``key``: inline SVGs share the
    page's id namespace, and matplotlib names groups ``figure_1``, ``axes_1``… in every figure."""
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{key}-{m.group(1)}"', text)
    return re.sub(
        r'(href="#|url\(#)([^")]+)',
        lambda m: m.group(1) + (f"{key}-{m.group(2)}" if m.group(2) in ids else m.group(2)),
        text,
    )


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def brain_colour(index: int) -> str:
    return _BRAIN_COLOURS[index % len(_BRAIN_COLOURS)]


def profile_svg(layers: pd.DataFrame, brains: Sequence[str], labels: Mapping[str, str], key: str) -> str:
    """One model's layerwise profile: semantic, saliency and each brain target's ρ against
    relative depth. ``layers``: that model's rows of the layer table."""
    with matplotlib.rc_context(_STYLE):
        figure = _figure(5.2, 2.9)
        axes = figure.add_subplot()
        ordered = layers.sort_values("depth")
        for measure, colour in PROBE_COLOURS.items():
            if ordered[measure].notna().any():
                axes.plot(ordered["depth"], ordered[measure], "-o", color=colour, ms=3, lw=1.6,
                          label=f"{measure} (probe)")
        for index, column in enumerate(brains):
            if column in ordered and ordered[column].notna().any():
                axes.plot(ordered["depth"], ordered[column], "--s", color=brain_colour(index), ms=2.5,
                          lw=1.1, label=labels.get(column, column))
        axes.axhline(0, color="black", lw=0.6)
        axes.set_xlim(-0.03, 1.03)
        axes.set_xlabel("relative depth")
        axes.set_ylabel("Spearman ρ")
        axes.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        return svg(figure, key)


def scatter_svg(
    table: pd.DataFrame,
    x: str,
    y: str,
    fit: Mapping[str, Any],
    *,
    key: str,
    x_label: str,
    y_label: str,
    group: str = "model",
) -> str:
    """Points of ``table`` (coloured by ``group``) with the linear and quadratic fits of
    :func:`brainalign.leaderboard.relation`, titled with r, r_quadratic and n."""
    data = table[[group, x, y]].dropna()
    with matplotlib.rc_context(_STYLE):
        figure = _figure(4.6, 3.1)
        axes = figure.add_subplot()
        groups = sorted(data[group].unique())
        palette = matplotlib.colormaps["tab20" if len(groups) > 10 else "tab10"]
        for index, name in enumerate(groups):
            part = data[data[group] == name]
            axes.plot(part[x], part[y], "o", ms=4, alpha=0.85, color=palette(index % palette.N),
                      label=str(name))
        if len(data) >= 3 and not math.isnan(fit.get("r", math.nan)):
            grid = np.linspace(data[x].min(), data[x].max(), 50)
            axes.plot(grid, fit["intercept"] + fit["slope"] * grid, "-", color="black", lw=1, label="linear fit")
            quadratic = np.polyfit(data[x], data[y], 2)
            axes.plot(grid, np.polyval(quadratic, grid), ":", color="black", lw=1.2, label="quadratic fit")
        axes.set_title(relation_caption(fit), fontsize=8)
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        if groups:
            axes.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), ncol=1 if len(groups) <= 14 else 2)
        return svg(figure, key)


def relation_caption(fit: Mapping[str, Any]) -> str:
    n = int(fit.get("n", 0))
    r = fit.get("r", math.nan)
    if math.isnan(r):
        return f"n = {n}: too few points or no variation for a correlation"
    return f"r = {r:.2f} [{fit['ci_low']:.2f}, {fit['ci_high']:.2f}], r_quad = {fit['r_quadratic']:.2f}, n = {n}"
