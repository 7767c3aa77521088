"""Probe folders as benchmarks: `score --probe DIR` and `run --probe DIR` score a probe built with
`brainalign probe build` under its own id, and the leaderboard gives each probe its own columns,
labelled with the probe's source and number of base images."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_run import run_cli
from probe_synthetic import BagOfWordsEmbedder, make_stamps

from brainalign.benchmarks.probe import SaliencySemanticProbe
from brainalign.leaderboard.differences import format_interval
from brainalign.leaderboard.render import files_folder, slug
from brainalign.probe import BuildSettings, ThresholdQuantiles, TuxPaintPool, build_probe
from brainalign.probe import default as default_module
from brainalign.results import ResultsStore


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Two small probes from the same stamps, built with seeds 0 and 7."""
    stamps = make_stamps(tmp_path_factory.mktemp("stamps"))
    built = {}
    for seed in (0, 7):
        out = tmp_path_factory.mktemp(f"seed{seed}") / "probe"
        settings = BuildSettings(
            seed=seed,
            image_size=160,
            max_distractors=14,
            thresholds=ThresholdQuantiles(
                semantic_similar=0.15, semantic_dissimilar=0.5, pilot_size=40
            ),
        )
        build_probe(TuxPaintPool(stamps), out, settings, embedder=BagOfWordsEmbedder())
        built[seed] = out
    return built


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_cli(["--quiet", *args], capsys)


class _Table(HTMLParser):
    """The header cells and body rows of the page's first table (the leaderboard)."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self._tables = 0
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._tables += 1
        elif self._tables == 1 and tag == "thead":
            self._in_head = True
        elif self._tables == 1 and tag == "tr" and not self._in_head:
            self.rows.append([])
        elif self._tables == 1 and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            (self.headers if self._in_head else self.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _own_cache_and_no_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A cache of the test's own (no default probe yet) and an empty data folder: the rest of the
    default set is skipped as absent, so only the probe folders are scored (they are the point)."""
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))
    (tmp_path / "no-data").mkdir()
    monkeypatch.setenv("BRAINALIGN_DATA", str(tmp_path / "no-data"))


def _table(page: Path) -> _Table:
    parser = _Table()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_score_with_probe_folders_stores_each_under_its_own_id(
    probes, tmp_path: Path, capsys, monkeypatch
) -> None:
    _own_cache_and_no_data(monkeypatch, tmp_path)
    ids = {seed: SaliencySemanticProbe(folder).identifier for seed, folder in probes.items()}
    assert len(set(ids.values())) == 2 and all(
        i.startswith("probe.saliency_semantic~") for i in ids.values()
    )
    code, out, _ = _run(
        [
            "score",
            "pixels",
            "--probe",
            str(probes[0]),
            "--probe",
            str(probes[7]),
            "--results",
            str(tmp_path / "results"),
        ],
        capsys,
    )
    assert code == 0, out
    stored = {s.benchmark for s in ResultsStore(tmp_path / "results").list()}
    assert stored == set(ids.values())  # in place of the default probe
    assert not default_module.default_probe_dir().exists()


def test_run_with_probe_folders_gives_each_probe_columns_or_a_page_of_its_own(
    probes, tmp_path: Path, capsys, monkeypatch
) -> None:
    _own_cache_and_no_data(monkeypatch, tmp_path)
    results = tmp_path / "results"
    assert (
        _run(["score", "pixels", "--probe", str(probes[0]), "--results", str(results)], capsys)[0]
        == 0
    )
    code, out, _ = _run(
        ["run", "-m", "pixels", "--probe", str(probes[7]), "--results", str(results)], capsys
    )
    assert code == 0, out
    assert (
        not default_module.default_probe_dir().exists()
    )  # the default probe was replaced, not built

    store = ResultsStore(results)
    values = {}
    for seed, folder in probes.items():
        identifier = SaliencySemanticProbe(folder).identifier
        result = store.load("pixels", identifier)
        values[seed] = (
            identifier,
            result.summary["semantic_encoding"]["value"],
            result.provenance["data_checksums"]["probe_n_bases"],
        )
    index = results / "leaderboard.html"
    table = _table(index)
    row = next(r for r in table.rows if r[1].startswith("pixels"))  # rank, then model
    shown = [i for i, h in enumerate(table.headers) if h.startswith("Semantic encoding")]
    assert len(shown) == 1, (
        table.headers
    )  # the main table shows one probe; numbers of two never share a column
    for seed, (identifier, value, n_bases) in values.items():
        label = f"tuxpaint pool, seed {seed}, {n_bases} base images"
        if identifier in table.headers[shown[0]]:
            assert label in table.headers[shown[0]]
            assert row[shown[0]].startswith(format_interval(value, digits=3))
        page = (files_folder(index) / "benchmarks" / f"{slug(identifier)}.html").read_text(
            encoding="utf-8"
        )
        assert (
            label in page and format_interval(value, digits=3) in page
        )  # every probe has a page of its own
