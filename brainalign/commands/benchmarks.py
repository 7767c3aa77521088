"""``brainalign benchmarks [ID]`` and ``brainalign cite [ID]``: what can be scored, how to cite it."""

from __future__ import annotations

from pathlib import Path

import click

from ..bibtex import FORMATS
from ._shared import data_dir_option, table, wrap


@click.command()
@click.argument("benchmark_id", required=False)
@data_dir_option
def benchmarks(benchmark_id: str | None, data_dir: Path | None) -> None:
    """List the benchmarks, or describe benchmark BENCHMARK_ID.

    DEFAULT marks the benchmarks `brainalign run` scores when none are named; DATA says
    whether their data is on this machine (if not, the command that gets it).

    \b
    Examples:
      brainalign benchmarks
      brainalign benchmarks kriegeskorte2008.hIT
      brainalign benchmarks algonauts2023.FFA-1 --data-dir /data
    """
    from ..benchmarks.registry import all_benchmarks

    if benchmark_id:
        _describe(benchmark_id, data_dir)
        return
    rows = []
    listed = all_benchmarks()  # plugins left out when loaded are reported there, once
    for benchmark in listed:
        availability = benchmark.availability(data_dir)
        data = "yes" if availability.available else f"no: {availability.fix}"
        rows.append(
            (benchmark.identifier, "yes" if benchmark.default else "no", data, benchmark.title)
        )
    click.echo(table(("ID", "DEFAULT", "DATA", "TITLE"), rows))
    for failure in dict.fromkeys(str(f) for b in listed if (f := getattr(b, "failure", None))):
        click.echo(f"warning: {failure}", err=True)  # a plugin whose code failed just now


def _describe(benchmark_id: str, data_dir: Path | None) -> None:
    from ..benchmarks.registry import get

    benchmark = get(benchmark_id)
    availability = benchmark.availability(data_dir)
    click.echo(f"{benchmark.identifier}: {benchmark.title}\n")
    click.echo(wrap(benchmark.description) + "\n")
    click.echo("metric:\n" + wrap(benchmark.metric, indent="  ") + "\n")
    click.echo(f"default: {'yes' if benchmark.default else 'no'}")
    if benchmark.datasets:
        click.echo(f"data:    {', '.join(benchmark.datasets)}")
    click.echo(
        "here:    "
        + ("available" if availability.available else f"not available: {availability.reason}")
    )
    click.echo(f"cite:    brainalign cite {benchmark.identifier}")


@click.command()
@click.argument("identifier", required=False)
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="For a result: the methods paragraph as plain text, Markdown or LaTeX (each followed "
    "by the BibTeX), or the BibTeX with the paragraph as % comments (a valid .bib file).",
)
def cite(identifier: str | None, format_: str) -> None:
    """A methods paragraph and BibTeX for a result; BibTeX for a benchmark, a data set, or the suite.

    For a result file (.json): one methods paragraph naming the model (id, weights sha256), the
    stimuli and their number, the layer RDMs' distance, the comparison, how the layer was chosen,
    the score raw and divided by the noise ceiling (the ceiling's value, and whether it is
    reliable where the result records it), the interval (what it resamples, how many resamples,
    the seed) and when it covers less than it says (few subjects), the benchmark id@version, the
    result's id and the brainalign version; then the BibTeX of every work it names (the data, the
    study, the methods, the model, the suite at the version that computed the result). Text and
    Markdown cite author-year; LaTeX and bibtex use \\cite with the keys of that BibTeX.

    For anything else the output is BibTeX (--format does not apply). A name that is part of
    several benchmarks or data sets (algonauts2019.92images) lists them.

    \b
    Examples:
      brainalign cite results/efficientnet_lite0/mur2013.judgements@2.json   # paragraph + BibTeX
      brainalign cite results/efficientnet_lite0/mur2013.judgements@2.json --format latex
      brainalign cite results/efficientnet_lite0/mur2013.judgements@2.json --format bibtex > refs.bib
      brainalign cite kriegeskorte2008.hIT  # data + methods + study + suite
      brainalign cite mylab/benchmark.toml  # a spec-file benchmark
      brainalign cite algonauts2019_92      # a data set's sources
      brainalign cite study                 # Opiełka, Loke & Scholte 2024
      brainalign cite                       # the suite
    """
    from ..cite import bibtex_for

    click.echo(bibtex_for(identifier, format_))


commands = [benchmarks, cite]
