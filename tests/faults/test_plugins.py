"""Another package can neither take over nor take down brainalign: plugins installed into a folder of
their own (tests/plugin_packages.py) that claim built-in ids, claim one id twice, or fail (an
exception, ``sys.exit``) at import, in ``availability()``, ``stimulus_sets()`` or ``score()``.
Whatever they do is reported once, naming the package and entry point, and left out; a command
that needed the plugin exits with status 2 naming it; nothing else changes its exit status."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from fault_helpers import HUMAN, Ran, brainalign_command
from plugin_packages import install, installed, process_env
from synthetic_data import SYNTHETIC_BENCHMARK as BUILT_IN
from synthetic_data import algonauts78

from brainalign.benchmarks.registry import all_benchmarks, origin
from brainalign.results import ResultsStore

FINE = """
from tiny_plugin_base import Tiny
BENCHMARK = Tiny("fine.tiny", default=True)
"""


def hostile(fail_in: str, how: str) -> str:
    return f"""
from tiny_plugin_base import Tiny
BENCHMARK = Tiny("hostile.tiny", default=True, fail_in={fail_in!r}, how={how!r})
"""


NET = """
import torch
import torchvision.transforms as T
from brainalign.models import from_module


def build():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten())
    return from_module(net, T.Compose([T.Resize((16, 16)), T.ToTensor()]), layers="all", model_id="twin_net")
"""


@pytest.fixture
def cli(cli, caplog):
    """The CLI in this process, its warnings (logged: in a process of its own they go to stderr)
    added to what it printed on stderr."""

    def run(*args: object) -> Ran:
        caplog.clear()
        ran = cli(*args)
        logged = "".join(
            f"WARNING: {r.getMessage()}\n" for r in caplog.records if r.levelno == logging.WARNING
        )
        return Ran(ran.code, ran.out, logged + ran.err)

    return run


def _stored(results: Path) -> set[tuple[str, str]]:
    return (
        {(e.model_id, e.benchmark) for e in ResultsStore(results).list()}
        if results.exists()
        else set()
    )


@pytest.fixture
def plugins_default_set(monkeypatch) -> None:
    """The default set made of the installed plugins' default benchmarks (the real one also builds
    the probe: minutes)."""
    monkeypatch.setattr(
        "brainalign.benchmarks.registry.default_benchmarks",
        lambda: [b for b in all_benchmarks() if b.default and origin(b) != "brainalign"],
    )


def test_a_plugin_never_answers_for_a_built_in_id_at_any_version(cli, tmp_path) -> None:
    """The built-in benchmark on synthetic data (its numbers are not the point: who answers is)."""
    site = tmp_path / "site"
    install(
        site,
        "takeover",
        f"""
        from tiny_plugin_base import Tiny
        BENCHMARKS = [Tiny("{BUILT_IN}", version=3), Tiny("takeover.tiny")]
        """,
        benchmarks={"takeover": "BENCHMARKS"},
    )
    data = algonauts78(tmp_path / "data", n_subjects=3)
    results = tmp_path / "results"
    with installed(site):
        ran = cli("-q", "score", "pixels", BUILT_IN, "--results", results, "--data-dir", data)
        assert ran.code == 0, ran
        assert ran.err.count("plugin 'takeover' of package takeover") == 1  # once, naming it
        assert f"registers {BUILT_IN}@3, an id of brainalign's own benchmarks" in ran.err
        assert _stored(results) == {("pixels", f"{BUILT_IN}@2")}
        result = ResultsStore(results).load("pixels", f"{BUILT_IN}@2")
        assert result.benchmark_info["title"].startswith("Algonauts 2019, 78 images")

        cited = cli("cite", BUILT_IN)
        assert cited.code == 0 and "algonauts" in cited.out and "tinyplugin" not in cited.out
        named = cli("score", "pixels", f"{BUILT_IN}@3", "--results", results, "--data-dir", data)
        assert named.code == 2, named
        assert f"{BUILT_IN} has version(s) 1, 2, not 3" in named.error_line
        listed = cli("benchmarks")
        assert listed.code == 0 and f"{BUILT_IN}@3" not in listed.out
        assert "takeover.tiny@1" not in listed.out  # an entry point is taken whole or not at all


@pytest.mark.parametrize("fail_in", ["availability", "stimulus_sets", "score"])
@pytest.mark.parametrize("how", ["raise", "exit"])
def test_a_plugin_failing_in_any_method_is_left_out_or_named(
    cli, tmp_path, plugins_default_set, fail_in, how
) -> None:
    site = tmp_path / "site"
    install(site, "fine-plugin", FINE, benchmarks={"fine": "BENCHMARK"})
    install(site, "hostile-plugin", hostile(fail_in, how), benchmarks={"hostile": "BENCHMARK"})
    why = "SystemExit: 3" if how == "exit" else f"RuntimeError: the plugin broke in {fail_in}"
    failure = (
        f"hostile.tiny@1 (plugin 'hostile' of package hostile-plugin) failed in {fail_in}(): {why}"
    )
    with installed(site):
        listed = cli("benchmarks")
        assert listed.code == 0 and "fine.tiny@1" in listed.out
        if fail_in == "availability":
            assert listed.err.count(failure) == 1

        ran = cli("-q", "run", "-m", "pixels", "--results", tmp_path / "default")
        assert ran.code == 0, ran
        assert _stored(tmp_path / "default") == {("pixels", "fine.tiny@1")}
        assert (
            ran.err.count("plugin 'hostile'") == 1 and failure in ran.err
        )  # once, by package and entry point
        assert "Traceback" not in ran.err

    with installed(site):  # a fresh process: the plugin has not failed yet
        named = cli(
            "-q", "score", "pixels", "fine.tiny", "hostile.tiny", "--results", tmp_path / "named"
        )
        assert named.code == 2, named
        assert failure in named.error_line and "Traceback" not in named.err
        # a failure found before any model runs stops the run there; one while scoring, after the others
        expected = {("pixels", "fine.tiny@1")} if fail_in == "score" else set()
        assert _stored(tmp_path / "named") == expected


def test_an_id_claimed_by_two_packages_is_refused_for_both(cli, tmp_path) -> None:
    site = tmp_path / "site"
    for package in ("lab-one", "lab-two"):
        install(
            site,
            package,
            """
            from tiny_plugin_base import Tiny
            BENCHMARK = Tiny("shared.tiny")
            """,
            benchmarks={"shapes": "BENCHMARK"},
            models={"twin_net": "build"},
        )
        (site / f"{package.replace('-', '_')}.py").write_text(
            (site / f"{package.replace('-', '_')}.py").read_text() + NET
        )
    install(site, "fine-plugin", FINE, benchmarks={"fine": "BENCHMARK"})
    both = "plugin 'shapes' of package lab-one and plugin 'shapes' of package lab-two"
    with installed(site):
        listed = cli("benchmarks")
        assert listed.code == 0 and "shared.tiny" not in listed.out
        assert (
            listed.err.count(f"benchmark id shared.tiny is claimed by {both}") == 2
        )  # one line per plugin
        named = cli("score", "pixels", "shared.tiny", "--results", tmp_path / "results")
        assert named.code == 2 and both in named.error_line, named

        model = cli("score", "twin_net", "fine.tiny", "--results", tmp_path / "results")
        assert model.code == 2, model
        assert (
            "model id 'twin_net' is registered by package lab-one and package lab-two: refused for both"
            in model.error_line
        )
        assert model.err.count("twin_net") == 2  # the warning, once, and the error
        assert not _stored(tmp_path / "results")


def test_a_model_plugin_never_answers_for_a_built_in_model_id(cli, tmp_path) -> None:
    site = tmp_path / "site"
    install(
        site,
        "pixel-thief",
        FINE.replace("fine.tiny", "thief.tiny") + NET,
        benchmarks={"tiny": "BENCHMARK"},
        models={"pixels": "build"},
    )
    with installed(site):
        ran = cli("-q", "score", "pixels", "thief.tiny", "--results", tmp_path / "results")
        assert ran.code == 0, ran
        assert ran.err.count("model plugin 'pixels' of package pixel-thief is refused") == 1
        result = ResultsStore(tmp_path / "results").load("pixels", "thief.tiny@1")
        assert (
            result.model_card["source"] == "baseline"
        )  # brainalign's own pixel baseline, not the plugin's net


def _process(site: Path, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        brainalign_command(args),
        capture_output=True,
        text=True,
        env=process_env(site),
        check=False,
        timeout=600,
    )


def test_plugins_that_exit_on_import_change_no_exit_status(tmp_path, shared_data) -> None:
    """Separate processes, so that a plugin's ``sys.exit`` could really end one."""
    site = tmp_path / "site"
    install(site, "exits-three", "import sys\nsys.exit(3)\n", benchmarks={"boom": "BENCHMARK"})
    install(site, "exits-zero", "import sys\nsys.exit(0)\n", models={"quiet_net": "build"})
    listed = _process(site, "benchmarks")
    assert listed.returncode == 0, listed.stderr
    assert f"{HUMAN}@2" in listed.stdout
    assert (
        listed.stderr.count("plugin 'boom' of package exits-three: cannot be loaded: SystemExit: 3")
        == 1
    )

    scored = _process(
        site, "score", "pixels", HUMAN, "--data-dir", shared_data, "--results", tmp_path / "results"
    )
    assert scored.returncode == 0, scored.stderr
    assert _stored(tmp_path / "results") == {("pixels", f"{HUMAN}@2")}

    quiet = _process(
        site,
        "score",
        "quiet_net",
        HUMAN,
        "--data-dir",
        shared_data,
        "--results",
        tmp_path / "quiet",
    )
    assert quiet.returncode == 2, quiet.stderr  # never 0 with nothing scored
    assert (
        "error: model 'quiet_net' of the installed package exits-zero cannot be loaded (SystemExit: 0)"
        in quiet.stderr
    )
    assert not _stored(tmp_path / "quiet")
