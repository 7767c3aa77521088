"""``brainalign data list|show|fetch|check``: the human data sets and where they are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import BrainAlignError
from ._shared import data_dir_option, table, wrap

if TYPE_CHECKING:
    from ..neural_data.catalogue import Dataset


def _size(dataset: Dataset) -> str:
    if not dataset.files:
        return "-"
    return f"{dataset.size / 1e6:.1f} MB" if dataset.size is not None else "unknown"


def _status(dataset: Dataset, data_dir: Path | None) -> str:
    from ..neural_data.locations import find

    location = find(dataset.name, data_dir)
    if location is None:
        return "missing"
    bad = sum(not c.ok for c in location.checks)
    if bad:
        return f"{location.origin}: {bad} bad file(s)"
    unpinned = any(c.status == "unpinned" for c in location.checks)
    return f"{location.origin}{' (unpinned)' if unpinned else ''}"


@click.group()
def data() -> None:
    """Human data sets: list them, fetch them into the cache, check local copies.

    Each data set is a folder of files known by URL (pinned to a commit) and sha256. They are
    looked up in --data-dir (or $BRAINALIGN_DATA) first, then in the cache
    (`brainalign info` shows where), where `fetch` downloads to.

    \b
    Examples:
      brainalign data list
      brainalign data fetch kriegeskorte2008_92
      brainalign data check --data-dir ~/brainalign-data
    """


@data.command("list")
@data_dir_option
def list_command(data_dir: Path | None) -> None:
    """List the registered data sets and where each is on this machine."""
    from ..neural_data.catalogue import datasets

    rows = [
        (
            d.name,
            len(d.files) or "-",
            _size(d),
            _status(d, data_dir),
            "yes" if d.fetchable else "no (see `data show`)",
            d.title,
        )
        for d in datasets()
    ]
    click.echo(table(("NAME", "FILES", "SIZE", "HERE", "FETCHABLE", "TITLE"), rows))


@data.command("show")
@click.argument("name")
@data_dir_option
def show_command(name: str, data_dir: Path | None) -> None:
    """Describe data set NAME: content, licence, source, files and citation."""
    from ..neural_data.catalogue import get_dataset

    dataset = get_dataset(name)
    click.echo(f"{dataset.name}: {dataset.title}\n")
    click.echo(wrap(dataset.description) + "\n")
    click.echo(f"licence: {dataset.licence}")
    click.echo(f"source:  {dataset.source}")
    click.echo(f"here:    {_status(dataset, data_dir)}")
    if dataset.obtain:
        click.echo(f"obtain:  {dataset.obtain}")
    if dataset.layout:
        click.echo(f"layout:  {dataset.layout}")
    described = [f for f in dataset.files if f.content]
    if described:
        click.echo("\nfiles:")
        for entry in described:
            click.echo(f"  {entry.path}: {entry.content}")
    click.echo(f"\n{dataset.bibtex}")


@data.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--all", "fetch_all", is_flag=True, help="Every data set that can be downloaded.")
@click.option("--force", is_flag=True, help="Download again even where an intact copy exists.")
@data_dir_option
def fetch_command(
    names: tuple[str, ...], fetch_all: bool, force: bool, data_dir: Path | None
) -> None:
    """Download data sets NAMES into the cache, each file verified before it lands.

    A data set already intact in --data-dir or the cache is not downloaded again (unless
    --force). A partial or corrupt download is discarded and reported; run the command again.

    \b
    Examples:
      brainalign data fetch algonauts2019_92 kriegeskorte2008_92
      brainalign data fetch --all
    """
    from ..neural_data.catalogue import datasets, get_dataset
    from ..neural_data.locations import fetch as fetch_dataset

    if fetch_all:
        names = tuple(d.name for d in datasets() if d.fetchable)
    if not names:
        raise BrainAlignError(
            "name the data set(s) to fetch (`brainalign data list`), or use --all"
        )
    for name in names:
        location = fetch_dataset(name, data_dir=data_dir, force=force)
        unpinned = sum(not f.pinned for f in get_dataset(name).files)
        note = (
            f"; {unpinned} file(s) checked against checksums recorded at download"
            if unpinned
            else ""
        )
        click.echo(
            f"{name}: {len(location.checks)} file(s) verified in {location.folder} ({location.origin}){note}"
        )


@data.command("check")
@click.argument("names", nargs=-1)
@data_dir_option
def check_command(names: tuple[str, ...], data_dir: Path | None) -> None:
    """Check every file of the data sets NAMES (default: all) in --data-dir and the cache.

    Exits with status 2 when any file is missing or differs from its registered checksum.
    """
    from ..neural_data.catalogue import datasets, get_dataset
    from ..neural_data.locations import check_folder, roots

    chosen = [get_dataset(n) for n in names] if names else datasets()
    problems = 0
    for dataset in chosen:
        found = False
        for origin, root in roots(data_dir):
            folder = root / dataset.name
            if not folder.is_dir():
                continue
            found = True
            checks = check_folder(dataset, folder)
            bad = [c for c in checks if not c.ok]
            problems += len(bad)
            unpinned = sum(c.status == "unpinned" for c in checks)
            verdict = "ok" if not bad else f"{len(bad)} bad file(s)"
            extra = f", {unpinned} without a registered checksum" if unpinned else ""
            click.echo(
                f"{dataset.name} [{origin}] {folder}: {len(checks)} file(s), {verdict}{extra}"
            )
            for check in bad:
                expected = f" (expected sha256 {check.expected})" if check.expected else ""
                click.echo(f"  {check.status}: {check.path}{expected}")
        if not found:
            click.echo(f"{dataset.name}: not present")
    if problems:
        raise BrainAlignError(f"{problems} data file(s) failed the check (listed above)")


commands = [data]
