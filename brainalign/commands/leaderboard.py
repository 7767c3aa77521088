"""``brainalign leaderboard build`` and ``brainalign compare``: publish and compare results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..caveats import FEW_SUBJECTS
from ..errors import BrainAlignError
from ._shared import results_option
from ._shared import table as text_table

if TYPE_CHECKING:
    import pandas as pd

    from ..results import Result, ResultsStore


@click.group()
def leaderboard() -> None:
    """Publish results as a static HTML leaderboard."""


@leaderboard.command("build")
@click.argument(
    "results_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("leaderboard.html"),
    show_default=True,
    help="The index page to write (its other pages go in OUT's name + _files/).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail on the first invalid result file or conflict instead of skipping or showing it.",
)
@click.option(
    "--probe",
    default=None,
    help="Probe benchmark (id or id@version) the relations and claims use, "
    "when several were scored (each has its own table columns anyway).",
)
@click.option("--title", default="brainalign leaderboard", show_default=True, help="Page title.")
def build_command(
    results_dirs: tuple[Path, ...], out: Path, strict: bool, probe: str | None, title: str
) -> None:
    """Write the HTML leaderboard of every result under RESULTS_DIRS.

    OUT (leaderboard.html) is the index: the title, one sentence on what is measured and a
    ranked table that fits the window: one column per human benchmark (brain similarity divided
    by its noise ceiling, with its 95% interval) and the probe's two measures, ranked by an
    overall score whose rule the page states (and lets the reader re-weight). Beside it, the
    folder OUT_files/ (leaderboard_files/) holds a page per model (every number, result ids,
    verification, a cite button, the layer profile, provenance), a page per benchmark, the
    analysis page (untrained twins, relations, the study's claims) and leaderboard.csv. Every
    page is self-contained and needs no network: the index and its folder open from file://.

    Several folders (several labs' results) merge into one leaderboard: results of the same
    model, benchmark and settings that agree are one entry; if their numbers differ they are a
    conflict, flagged on the page (and on stderr) and kept out of every number, never silently
    overwritten (--strict fails on it). Invalid result files are skipped and listed (on stderr
    and in the page's warnings), or stop the build with --strict.

    \b
    Examples:
      brainalign leaderboard build results --out leaderboard.html
      brainalign leaderboard build lab-a/results lab-b/results --out merged.html
      brainalign leaderboard build results --out site/index.html --strict
    """
    from ..leaderboard.render import build

    report = build(list(results_dirs), out, strict=strict, probe=probe, title=title)
    for problem in report.problems:
        click.echo(f"skipped: {problem.message}", err=True)
    for conflict in report.conflicts:
        click.echo(f"conflict: {conflict}", err=True)
    click.echo(
        f"wrote {report.path} and {report.folder}/: {report.n_models} model(s), {report.n_results} result(s)"
        + (f", {len(report.problems)} file(s) skipped" if report.problems else "")
        + (f", {len(report.conflicts)} conflict(s) shown" if report.conflicts else "")
    )


@leaderboard.command("export")
@click.argument(
    "results_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "markdown", "latex", "json"]),
    default="csv",
    show_default=True,
    help="csv and json: every column; markdown and latex (booktabs): the columns a "
    "paper needs, with what each interval resamples below the table.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The file to write [default: standard output].",
)
@click.option(
    "--all-measures",
    is_flag=True,
    help="Every measure each benchmark declares (the probe's "
    "sensitivities, the best layer's ρ…), not only its headline numbers.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail on an invalid result file or a conflict instead of skipping or leaving it out.",
)
def export_command(
    results_dirs: tuple[Path, ...], fmt: str, out: Path | None, all_measures: bool, strict: bool
) -> None:
    """Write the leaderboard's numbers as a table: one row per model × benchmark × measure.

    Each row holds the value, its 95% interval and what that interval resamples, the value
    divided by the noise ceiling (human benchmarks), the ceiling and whether it was found
    reliable, the number of subjects and stimuli, a caveat where the interval comes from few
    subjects, the result's content id, whether `brainalign verify` verified it and the file it
    came from. Several folders merge as in `leaderboard build`; conflicting results are left out.
    The LaTeX is a booktabs longtable: load the booktabs and longtable packages in the
    preamble, then input the file where the table goes.

    \b
    Examples:
      brainalign leaderboard export results --format csv --out leaderboard.csv
      brainalign leaderboard export results --format latex --out table.tex
      brainalign leaderboard export lab-a/results lab-b/results --format markdown
    """
    from .._files import write_text_atomic
    from ..leaderboard.aggregate import build_leaderboard
    from ..leaderboard.export import export
    from ..leaderboard.merge import merge_stores

    merged = merge_stores(list(results_dirs), strict=strict)
    for problem in merged.problems:
        click.echo(f"skipped: {problem.message}", err=True)
    for conflict in merged.conflicts:
        click.echo(f"left out (conflict): {conflict}", err=True)
    if not merged.results:
        raise BrainAlignError(f"no results to export in {', '.join(map(str, results_dirs))}")
    board = build_leaderboard(merged.results, merged.problems, merged=merged)
    text = export(board, fmt, all_measures=all_measures)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(out, text)
        click.echo(f"wrote {out}: {len(board.entries)} model(s), {fmt}", err=True)


def _load_side(spec: str, store: ResultsStore) -> tuple[str, list[Result]]:
    """A result file, or every result of a model id in the store."""
    from ..results import Result

    path = Path(spec)
    if path.suffix == ".json" and path.is_file():
        result = Result.read(path)
        return result.model_id, [result]
    if not store.folder.is_dir():
        raise BrainAlignError(
            f"{spec!r} is not a result file, and the results folder {store.folder} "
            f"does not exist "
            f"(give --results DIR)"
        )
    stored = [s for s in store.list() if s.model_id == spec]
    if not stored:
        known = ", ".join(store.model_ids()[:12]) or "none"
        raise BrainAlignError(
            f"{spec!r} is neither a result file nor a model id in {store.folder} (models there: {known})"
        )
    return spec, [store.load(s.model_id, s.benchmark) for s in stored]


@click.command("compare")
@click.argument("result_a")
@click.argument("result_b")
@results_option
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON records.")
def compare_command(result_a: str, result_b: str, results_dir: Path, as_json: bool) -> None:
    """Differences between two models, benchmark by benchmark, with 95% intervals.

    RESULT_A and RESULT_B are result files (.json) or model ids in the results folder (then all
    their results are compared on the benchmarks both have, and the benchmarks only one side has
    are listed). Numbers computed on different stimulus sets, data (another probe) or layer
    policies are compared with a caution saying so; another version of a benchmark is never
    compared. Each row gives A − B and a 95% interval, made one of two ways (column INTERVAL):

    \b
      paired  both results recorded bootstrap samples from the same draws (same subjects,
              stimuli and seed: brain similarity of the human benchmarks @2 scored with one
              seed): the difference is bootstrapped resample by resample over subjects and
              stimuli, so what the models share cancels.
      MOVER   otherwise (results @1, the probe, other seeds or data): built from the two
              recorded intervals assuming independent estimates (Zou & Donner 2008); for models
              scored on the same data it is usually conservative: an interval excluding 0 is
              evidence of a difference, one including 0 is not evidence of equality.

    Below the table: what each benchmark's intervals are about (new subjects and new images,
    or new images only), and a † on every verdict whose intervals were resampled from fewer
    than {FEW_SUBJECTS} subjects, with the caveat in full (such an interval covers less than 95%).

    \b
    Examples:
      brainalign compare efficientnet_lite0 efficientnet_lite0:untrained --results results
      brainalign compare new/efficientnet_lite0/mur2013.judgements@2.json \\
                         old/efficientnet_lite0/mur2013.judgements@2.json
    """
    import pandas as pd

    from ..leaderboard.differences import compare_results, format_interval
    from ..leaderboard.setups import one_sided, setup_differences
    from ..results import ResultsStore

    store = ResultsStore(results_dir)
    label_a, side_a = _load_side(result_a, store)
    label_b, side_b = _load_side(result_b, store)
    table = compare_results(side_a, side_b, label_a="A", label_b="B")
    if table.empty:
        raise BrainAlignError(
            f"{label_a!r} and {label_b!r} share no benchmark with comparable numbers "
            f"(A has {sorted(r.benchmark for r in side_a)}, B has {sorted(r.benchmark for r in side_b)})"
        )
    only_a, only_b = one_sided(side_a, side_b)
    by_benchmark_b = {r.benchmark: r for r in side_b}
    caveats = {
        a.benchmark: "; ".join(setup_differences(a, by_benchmark_b[a.benchmark]))
        for a in side_a
        if a.benchmark in by_benchmark_b
    }
    table["caveat"] = table["benchmark"].map(caveats).fillna("")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "comparisons": json.loads(table.to_json(orient="records")),
                    "only_in_a": only_a,
                    "only_in_b": only_b,
                },
                indent=2,
            )
        )
        return

    def intervals(*columns: str) -> list[str]:
        return [format_interval(*v) for v in table[list(columns)].itertuples(index=False)]

    readable = pd.DataFrame(
        {
            "benchmark": table["benchmark"],
            "number": table["metric"],
            "A": intervals("a", "a_ci_low", "a_ci_high"),
            "B": intervals("b", "b_ci_low", "b_ci_high"),
            "A − B [95%]": intervals("difference", "ci_low", "ci_high"),
            "interval": [how.split(":")[0].split(",")[0] or "—" for how in table["interval"]],
            "verdict": [
                v + (" †" if caveat else "")
                for v, caveat in zip(table["verdict"], table["interval_caveat"])
            ],
        }
    )
    click.echo(f"A = {label_a}\nB = {label_b}\n")
    click.echo(text_table(readable.columns, readable.astype(str).values.tolist()))
    for benchmark, caveat in caveats.items():
        if caveat:
            click.echo(
                f"\ncaution, {benchmark}: {caveat}; these numbers were not computed on the same thing"
            )
    for side, only in (("A", only_a), ("B", only_b)):
        if only:
            click.echo(f"\nonly {side} has: {'; '.join(only)}")
    click.echo("\n" + _interval_note(table))


def _interval_note(table: pd.DataFrame) -> str:
    """What the intervals cover, which rest on few subjects (†), what the INTERVAL column means
    for these rows, and why rows are not paired."""
    from ..leaderboard.differences import MOVER, PAIRED

    lines = []
    covers = table[table["covers"] != ""].groupby("covers", sort=True)["benchmark"].unique()
    for words, benchmarks in covers.items():
        lines.append(f"95% intervals of {', '.join(sorted(benchmarks))}: about {words}.")
    few = (
        table[table["interval_caveat"] != ""]
        .groupby("benchmark", sort=True)["interval_caveat"]
        .first()
    )
    lines += [f"† {benchmark}: {caveat}." for benchmark, caveat in few.items()]
    if table["interval"].str.startswith(PAIRED).any():
        lines.append(
            "paired: A − B bootstrapped resample by resample (same subjects and stimuli), "
            "two-factor corrected."
        )
    unpaired = table[table["interval"].str.startswith(MOVER)]
    if len(unpaired):
        lines.append(
            "MOVER: from the recorded 95% intervals, assuming independence (conservative "
            "for models scored on the same data). Not paired because:"
        )
        reasons = unpaired.groupby("benchmark", sort=True)["interval"].first()
        lines += [f"  {benchmark}: {how.partition(': ')[2]}" for benchmark, how in reasons.items()]
    return "\n".join(lines)


compare_command.help = (compare_command.help or "").replace("{FEW_SUBJECTS}", str(FEW_SUBJECTS))

commands = [leaderboard, compare_command]
