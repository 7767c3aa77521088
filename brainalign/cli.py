"""The ``brainalign`` command. Thin: parses options, calls the Python API, prints.

Errors a user can fix, and failures of the machine (a full disk, a read-only folder), are
printed as one line (no traceback; ``--debug`` shows it) with exit status 2; Ctrl-C ends with one
line and exit status 130.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback

import click

from ._version import __version__
from .errors import BrainAlignError
from .progress import set_quiet

# Modules under brainalign.commands, each defining `commands`: a list of click commands/groups.
COMMAND_MODULES: tuple[str, ...] = (
    "info",
    "leaderboard",
    "probe",
    "models",
    "data",
    "benchmarks",
    "score",
    "verify",
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Run `brainalign COMMAND --help` for the options of each command.",
)
@click.version_option(__version__, "-V", "--version", prog_name="brainalign")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or informational logs.")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Debug logging from brainalign (-vv: from every library too).",
)
@click.option(
    "--debug",
    is_flag=True,
    help="Show the full traceback of an error (for a bug report) instead of one line.",
)
def cli(quiet: bool, verbose: int, debug: bool) -> None:
    """Score vision models layer by layer against human brain and behaviour data.

    brainalign computes a representational dissimilarity matrix (RDM) for every layer of a
    model, compares it with human fMRI and behavioural RDMs and with the saliency/semantic
    probe, and publishes the results as a static HTML leaderboard.
    """
    set_quiet(quiet)
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr
    )
    ours = logging.WARNING if quiet else (logging.INFO if verbose == 0 else logging.DEBUG)
    logging.getLogger("brainalign").setLevel(ours)
    if verbose >= 2:
        logging.getLogger().setLevel(logging.DEBUG)


#: Set by the options of the group, read by :func:`main` once the command has failed.
_state = {"debug": False}

for _name in COMMAND_MODULES:
    for _command in importlib.import_module(f"brainalign.commands.{_name}").commands:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one readable line and exit status 2."""
    _state["debug"] = False
    try:
        cli.main(args=argv, prog_name="brainalign", standalone_mode=False)
    except BrainAlignError as err:
        _fail(err, err)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted; run the same command again to resume where it stopped", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except OSError as err:
        from ._files import environment_error  # numpy: imported only when it is needed

        problem = environment_error(err)
        if problem is None:
            raise  # not the machine's doing: a bug, shown with its traceback
        _fail(problem, err)


def _fail(problem: BrainAlignError, err: BaseException) -> None:
    """``error: ...`` and exit status 2; with ``--debug`` the whole traceback first."""
    if _state["debug"]:
        hidden = err.__context__ if err.__cause__ is None and err.__suppress_context__ else None
        if hidden is not None:  # raised ``from None``: the error behind it
            traceback.print_exception(hidden)
        traceback.print_exception(err)
    click.echo(f"error: {problem}", err=True)
    sys.exit(2)


if __name__ == "__main__":
    main()
