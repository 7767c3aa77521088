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
from xml.sax.saxutils import escape

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

_STYLE: dict[Any, Any] = {
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
_BRAIN_COLOURS = (
    "#2a9d4b",
    "#7b3fa0",
    "#b8323f",
    "#4d4d4d",
    "#1a9e9e",
    "#8c6d1f",
    "#d95f9e",
    "#5a7d2a",
)


def svg(figure: Figure, key: str) -> str:
    """``figure`` as an ``<svg>`` element (no XML prolog), reproducible byte for byte. The figure
    is saved at its own size (laid out when drawn: a tight bounding box is slow with many points)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**_STYLE, "svg.hashsalt": f"brainalign:{key}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, dpi=110)
    text = buffer.getvalue()
    return _prefix_ids(text[text.index("<svg") :], key)


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


def brain_colour(index: int) -> str:
    return _BRAIN_COLOURS[index % len(_BRAIN_COLOURS)]


def profile_svg(
    layers: pd.DataFrame, brains: Sequence[str], labels: Mapping[str, str], key: str
) -> str:
    """One model's layerwise profile: semantic, saliency and each brain target's ρ against
    relative depth. ``layers``: that model's rows of the layer table; ``labels``: short names of
    the brain columns (the full name shows on hover).

    Drawn as plain SVG rather than with matplotlib: a page has one per model, and at hundreds of
    models matplotlib's second per figure would dominate the build."""
    ordered = layers.sort_values("depth")
    names, depths = ordered["layer"].astype(str).to_numpy(), ordered["depth"].to_numpy(np.float64)
    columns = [(f"{m} (probe)", m, colour, "") for m, colour in PROBE_COLOURS.items()]
    columns += [(labels.get(c, c), c, brain_colour(i), "4 3") for i, c in enumerate(brains)]
    series = [
        (label, ordered[c].to_numpy(np.float64), colour, dash)
        for label, c, colour, dash in columns
        if c in ordered and ordered[c].notna().any()
    ]
    values = np.concatenate([v for _, v, _, _ in series]) if series else np.zeros(1)
    values = values[np.isfinite(values)]
    low, high = min(0.0, float(values.min(initial=0.0))), max(0.05, float(values.max(initial=0.0)))
    ticks = nice_ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    width, height, left, right, top, bottom = 640, 250, 46, 190, 10, 38
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = left + (0.03 + 0.94 * depths) * plot_w

    def py(value: float) -> float:
        return top + (high - value) / (high - low) * plot_h

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="profile" '
            f'role="img" aria-label="layer profile">'
        )
    ]
    for tick in ticks:
        y = py(tick)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="gridline"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{py(0):.1f}" y2="{py(0):.1f}" class="zero"/>'
    )
    for depth in (0, 0.25, 0.5, 0.75, 1):
        x = left + (0.03 + 0.94 * depth) * plot_w
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{depth:g}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle">relative depth</text>'
        f'<text transform="translate(12 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
        "Spearman ρ</text>"
    )
    escaped = [escape(n) for n in names]
    for index, (label, ys_raw, colour, dash) in enumerate(series):
        keep = np.isfinite(ys_raw)
        ys = top + (high - ys_raw) / (high - low) * plot_h
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs[keep], ys[keep]))
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<g class="series"><title>{escape(str(label))}</title>'
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.6"{dashes}/>'
        )
        parts += [
            f'<circle cx="{xs[i]:.1f}" cy="{ys[i]:.1f}" r="2.6" fill="{colour}">'
            f"<title>{escaped[i]} (depth {depths[i]:.2f}): {ys_raw[i]:.3f}</title></circle>"
            for i in np.flatnonzero(keep)
        ]
        y = top + 8 + index * 17
        parts.append(
            f'</g><g class="legend"><title>{escape(str(label))}</title>'
            f'<line x1="{width - right + 12}" x2="{width - right + 32}" y1="{y}" y2="{y}" stroke="{colour}" '
            f'stroke-width="2"{dashes}/><text x="{width - right + 37}" y="{y + 4}">'
            f"{escape(shorten(str(label), 26))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (steps of 1, 2 or 5 times a power of ten)."""
    span = high - low if high > low else 1.0
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def shorten(text: str, limit: int = 28) -> str:
    """``text`` cut in the middle to at most ``limit`` characters (ids keep their start and end)."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


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
    kinds: Mapping[str, str] | None = None,
) -> str:
    """Points of ``table`` with the linear and quadratic fits of
    :func:`brainalign.leaderboard.relation`, titled with r, r_quadratic and n. Points are coloured
    by ``group`` where it has at most :data:`MAX_LEGEND` values (legend labels shortened, the
    full id on hover), otherwise by ``kinds`` (group value → e.g. "trained"/"untrained"); many
    points are drawn as an image inside the SVG, so the page stays light."""
    data = table[[group, x, y]].dropna()
    names = sorted(data[group].unique())
    by_kind = len(names) > MAX_LEGEND
    colour_key = (
        data[group].map(lambda g: (kinds or {}).get(g, "other")) if by_kind else data[group]
    )
    categories = sorted(colour_key.unique())
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(5.8, 3.2))
        axes = figure.add_axes((0.14, 0.14, 0.54, 0.74))
        palette = matplotlib.colormaps["tab10"]
        rasterized = len(data) > RASTER_POINTS
        for index, name in enumerate(categories):
            part = data[colour_key == name]
            axes.plot(
                part[x],
                part[y],
                "o",
                ms=3.5 if rasterized else 4,
                alpha=0.6 if by_kind else 0.85,
                color=palette(index % palette.N),
                label=str(name),
                rasterized=rasterized,
            )
        if len(data) >= 3 and not math.isnan(fit.get("r", math.nan)):
            grid = np.linspace(data[x].min(), data[x].max(), 50)
            axes.plot(
                grid,
                fit["intercept"] + fit["slope"] * grid,
                "-",
                color="black",
                lw=1,
                label="linear fit",
            )
            quadratic = np.polyfit(data[x], data[y], 2)
            axes.plot(
                grid, np.polyval(quadratic, grid), ":", color="black", lw=1.2, label="quadratic fit"
            )
        axes.set_title(relation_caption(fit), fontsize=8)
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        full: dict[str, str] = {}
        if categories:
            legend = axes.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
            for index, entry in enumerate(legend.get_texts()):
                label = entry.get_text()
                if len(label) > LEGEND_CHARS:
                    entry.set_text(shorten(label, LEGEND_CHARS))
                    entry.set_gid(f"label-{index}")
                    full[f"label-{index}"] = label
        text = svg(figure, key)
    for gid, label in full.items():
        text = text.replace(
            f'<g id="{key}-{gid}">', f'<g id="{key}-{gid}"><title>{escape(label)}</title>', 1
        )
    return text


#: Most groups coloured one by one in a scatter; more are coloured by kind.
MAX_LEGEND = 10
#: Longest legend label (longer ones are cut in the middle; the full one shows on hover).
LEGEND_CHARS = 24
#: More points than this are drawn as an image.
RASTER_POINTS = 1500


def relation_caption(fit: Mapping[str, Any]) -> str:
    n = int(fit.get("n", 0))
    r = fit.get("r", math.nan)
    if math.isnan(r):
        return f"n = {n}: too few points or no variation for a correlation"
    return f"r = {r:.2f} [{fit['ci_low']:.2f}, {fit['ci_high']:.2f}], r_quad = {fit['r_quadratic']:.2f}, n = {n}"
