"""A benchmark plugin, installed as a package: the example under tests/plugin_example (the one the
docs' Plugins page shows) is built and installed with pip into a folder of this test's own, and, in
subprocesses with that folder on PYTHONPATH, `brainalign benchmarks` lists it, `brainalign score`
scores a model on it (planted truth: the judgements follow the pixels), `brainalign cite` cites it
and the result, `brainalign verify` verifies the result, and the leaderboard shows it exactly like
a built-in benchmark."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from plugin_install import pip_install_copy
from scipy.spatial.distance import pdist, squareform
from synthetic_data import SYNTHETIC_BENCHMARK, algonauts78

from brainalign.benchmarks import get

PACKAGE = Path(__file__).resolve().parents[1] / "plugin_example"
PLUGINS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "plugins.md"
N_IMAGES, N_SUBJECTS = 12, 5


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed with pip into a folder of its own (not into the test environment)."""
    target = pip_install_copy(PACKAGE, tmp_path_factory.mktemp("plugin"))
    assert (target / "toylab_benchmarks.py").is_file()
    return target


@pytest.fixture(scope="module")
def toylab_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA_DIR/toylab_shapes: 12 images and 5 subjects whose judgements are the images' pixel
    cosine distances plus noise (so the pixel baseline must score high)."""
    data = tmp_path_factory.mktemp("data")
    folder = data / "toylab_shapes"
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (N_IMAGES, 16, 16, 3), dtype=np.uint8)
    for k, image in enumerate(images):
        Image.fromarray(image).save(folder / "images" / f"shape{k + 1:02d}.png")
    pixels = pdist(images.reshape(N_IMAGES, -1).astype(np.float64), "cosine")
    judgements = [
        squareform(pixels + rng.normal(0, 0.3 * pixels.std(), pixels.size))
        for _ in range(N_SUBJECTS)
    ]
    np.save(folder / "judgements.npy", np.stack(judgements))
    return data


def brainalign(site: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "BRAINALIGN_QUIET": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "brainalign.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_the_installed_plugin_is_listed_and_says_how_its_data_is_found(
    installed, toylab_data, tmp_path
) -> None:
    listed = brainalign(installed, "benchmarks", "--data-dir", str(tmp_path))
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith("toylab.shapes@1"))
    assert (
        "no: ask Toy Lab for the data" in line
        and "Toy lab: similarity judgements of shapes" in line
    )
    listed = brainalign(installed, "benchmarks", "--data-dir", str(toylab_data))
    line = next(line for line in listed.stdout.splitlines() if line.startswith("toylab.shapes@1"))
    assert re.search(r"toylab.shapes@1\s+no\s+yes", line)
    assert (
        "toylab" not in brainalign(Path("/nonexistent"), "benchmarks").stdout
    )  # not installed here


def test_score_cite_verify_and_publish_exactly_like_a_built_in(
    installed, toylab_data, tmp_path: Path
) -> None:
    """Beside a built-in benchmark scored on synthetic data (the plugin is the point here, not
    the human data)."""
    data = algonauts78(tmp_path / "data")  # the built-in's data beside the plugin's
    (data / "toylab_shapes").symlink_to(toylab_data / "toylab_shapes")
    built_in = get(SYNTHETIC_BENCHMARK).identifier
    results = tmp_path / "results"
    scored = brainalign(
        installed,
        "score",
        "pixels",
        "toylab.shapes",
        SYNTHETIC_BENCHMARK,
        "--data-dir",
        str(data),
        "--results",
        str(results),
    )
    assert scored.returncode == 0, scored.stderr
    line = next(line for line in scored.stdout.splitlines() if "toylab.shapes@1" in line)
    value = float(re.search(r"brain_similarity (\S+)", line).group(1))
    assert "scored" in line and value > 0.5  # the planted truth: judgements follow the pixels

    cited = brainalign(installed, "cite", "toylab.shapes")
    assert cited.returncode == 0, cited.stderr
    assert re.findall(r"@\w+\{(\w+),", cited.stdout) == [
        "toylab2026",
        "opielka2024saliency",
        "brainalign",
    ]
    result = results / "pixels" / "toylab.shapes@1.json"
    cited = brainalign(installed, "cite", str(result))
    assert cited.returncode == 0 and "on the benchmark toylab.shapes@1" in " ".join(
        cited.stdout.split()
    )

    verified = brainalign(installed, "verify", str(results), "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "2 verified" in verified.stdout

    page = tmp_path / "page.html"
    built = brainalign(installed, "leaderboard", "build", str(results), "--out", str(page))
    assert built.returncode == 0, built.stderr
    parsed = _Page()
    parsed.feed(page.read_text(encoding="utf-8"))
    (row,) = parsed.rows
    for identifier in ("toylab.shapes@1", built_in):
        assert parsed.columns.count(identifier) == 1, (
            identifier
        )  # a column of its own, named by its id
        assert (page.parent / parsed.cards[identifier]).is_file(), identifier  # a benchmark page
        assert identifier in (page.parent / parsed.cards[identifier]).read_text(encoding="utf-8")
        text, title = row[
            parsed.columns.index(identifier)
        ]  # a number ÷ ceiling, verified, its interval
        assert re.fullmatch(r"-?\d\.\d{3}✓ ?-?\d\.\d{2} – -?\d\.\d{2}", text), text
        assert re.match(rf"{re.escape(identifier)}, brain similarity: -?\d\.\d{{3}} \[", title), (
            title
        )
    text, title = row[parsed.columns.index("toylab.shapes@1")]
    assert f"brain similarity: {value:.3f} [" in title  # the raw ρ the score command printed


class _Page(HTMLParser):
    """The leaderboard table's columns (each header's benchmark id, None for the others), its rows
    (each cell's text and title) and the benchmark cards' links, by benchmark id."""

    def __init__(self) -> None:
        super().__init__()
        self.columns: list[str | None] = []
        self.rows: list[list[tuple[str, str]]] = []
        self.cards: dict[str, str] = {}
        self._cell: tuple[str, str] | None = None
        self._text: list[str] = []
        self._table = False
        self._card: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "leaderboard":
            self._table = True
        elif self._table and tag == "th":
            self.columns.append(attrs.get("data-benchmark"))
        elif self._table and tag == "tr" and self.columns:
            self.rows.append([])
        elif self._table and tag == "td":
            self._cell, self._text = (tag, attrs.get("title") or ""), []
        elif tag == "a" and "bench-card" in (attrs.get("class") or ""):
            self._card = attrs["href"]

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = False
        elif self._cell and tag == "td":
            self.rows[-1].append((" ".join("".join(self._text).split()), self._cell[1]))
            self._cell = None
        elif tag == "a":
            self._card = None

    def handle_data(self, data):
        if self._cell:
            self._text.append(data)
        if self._card and re.fullmatch(r"\S+@\d+", data.strip()):
            self.cards[data.strip()] = self._card


def test_the_docs_show_this_package_whole_in_15_lines_of_python() -> None:
    """The Plugins page includes both files of the package whole (no line selection); the
    declaration is at most 15 non-blank lines of Python."""
    section = PLUGINS_PAGE.read_text(encoding="utf-8").split("\n## A benchmark plugin", 1)[1]
    section = re.split(r"\n##+ ", section, maxsplit=1)[0]
    includes = re.findall(r"```\{literalinclude\} (\S+)\n(.*?)```", section, re.DOTALL)
    shown = [(PLUGINS_PAGE.parent / path).resolve() for path, _ in includes]
    files = [PACKAGE / "pyproject.toml", PACKAGE / "toylab_benchmarks.py"]
    assert shown == files
    assert not any(
        re.search(r"^:(lines|start-after|end-before|pyobject):", options, re.M)
        for _, options in includes
    )
    assert len([line for line in files[1].read_text().splitlines() if line.strip()]) <= 15
