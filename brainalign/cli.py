"""The ``brainalign`` command. Thin: parses options, calls the Python API, prints.

Errors a user can fix are printed as one line (no traceback) with exit status 2.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from ._version import __version__
from .errors import BrainAlignError
from .progress import set_quiet

# Modules under brainalign.commands, each defining `commands`: a list of click commands/groups.
COMMAND_MODULES: tuple[str, ...] = ("info", "leaderboard", "probe", "models", "data", "benchmarks", "score", "verify")


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Run `brainalign COMMAND --help` for the options of each command.",
)
@click.version_option(__version__, "-V", "--version", prog_name="brainalign")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or informational logs.")
@click.option("-v", "--verbose", count=True,
              help="Debug logging from brainalign (-vv: from every library too).")
def cli(quiet: bool, verbose: int) -> None:
    """Score vision models layer by layer against human brain and behaviour data.

    brainalign computes a representational dissimilarity matrix (RDM) for every layer of a
    model, compares it with human fMRI and behavioural RDMs and with the saliency/semantic
    probe, and publishes the results as a static HTML leaderboard.
    """
    set_quiet(quiet)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)
    ours = logging.WARNING if quiet else (logging.INFO if verbose == 0 else logging.DEBUG)
    logging.getLogger("brainalign").setLevel(ours)
    if verbose >= 2:
        logging.getLogger().setLevel(logging.DEBUG)


for _name in COMMAND_MODULES:
    for _command in importlib.import_module(f"brainalign.commands.{_name}").commands:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one readable line and exit status 2."""
    try:
        cli.main(args=argv, prog_name="brainalign", standalone_mode=False)
    except BrainAlignError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("interrupted; run the same command again to resume where it stopped", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)


if __name__ == "__main__":
    main()
