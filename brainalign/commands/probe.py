"""``brainalign probe``: build, check and locate saliency/semantic probe stimuli."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import BrainAlignError

_POOLS = ("tuxpaint", "folder", "coco", "bundled")


@click.group()
def probe() -> None:
    """Build and check saliency/semantic probe stimuli.

    A probe is a set of base images, each shown plainly (Baseline) and with a pasted distractor in
    four conditions: Control (semantically similar, non-salient), Salient (similar, salient),
    Semantic (dissimilar, non-salient) and Semantic_Salient (dissimilar, salient).
    """


@probe.command()
@click.option(
    "--pool",
    type=click.Choice(_POOLS),
    default="tuxpaint",
    show_default=True,
    help="Where base images and distractors come from.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder (created; must be empty unless --overwrite).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random choice.")
@click.option(
    "--images",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Image folder (--pool folder or coco).",
)
@click.option(
    "--captions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Captions: a CSV with columns image,caption (folder), or COCO "
    "caption JSON files (coco; repeat for train and val).",
)
@click.option(
    "--nsd-stim-info",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="NSD's nsd_stim_info_merged.csv: use NSD's images, cropped by cropBox (coco).",
)
@click.option(
    "--stamps",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A Tux Paint stamps folder instead of downloading the Debian package (tuxpaint).",
)
@click.option(
    "--embedder",
    default="minilm",
    show_default=True,
    help="Caption embedder: minilm, sentence-transformers:PATH, open_clip:MODEL:WEIGHTS, use[:HANDLE].",
)
@click.option(
    "--n-bases", type=int, help="Stop after this many complete base images (default: all)."
)
@click.option(
    "--size",
    "image_size",
    type=int,
    default=224,
    show_default=True,
    help="Side of the square output images in pixels.",
)
@click.option(
    "--thresholds",
    "threshold_kind",
    type=click.Choice(["quantile", "study"]),
    default="quantile",
    show_default=True,
    help="quantile: from this pool and embedder; study: 0.32 / 0.92 / 0.019 / 0.24.",
)
@click.option(
    "--semantic-similar", type=float, help="Override: similar if semantic distance < this."
)
@click.option("--semantic-dissimilar", type=float, help="Override: dissimilar if distance > this.")
@click.option("--saliency-non-salient", type=float, help="Override: non-salient if change < this.")
@click.option("--saliency-salient", type=float, help="Override: salient if change > this.")
@click.option(
    "--max-distractors",
    type=int,
    default=8,
    show_default=True,
    help="Distractors tried per base image and condition.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
def build(
    pool: str,
    out: Path,
    seed: int,
    images: Path | None,
    captions: tuple[Path, ...],
    nsd_stim_info: Path | None,
    stamps: Path | None,
    embedder: str,
    n_bases: int | None,
    image_size: int,
    threshold_kind: str,
    semantic_similar: float | None,
    semantic_dissimilar: float | None,
    saliency_non_salient: float | None,
    saliency_salient: float | None,
    max_distractors: int,
    overwrite: bool,
) -> None:
    """Build a probe: images, metadata.csv, targets.npz and manifest.json in --out.

    \b
    Examples:
      brainalign probe build --out probe/                       # Tux Paint cut-outs (apt-get download)
      brainalign probe build --pool folder --images photos/ --captions captions.csv --out probe/
      brainalign probe build --pool coco --images coco/ --captions captions_train2017.json \\
          --captions captions_val2017.json --nsd-stim-info nsd_stim_info_merged.csv \\
          --thresholds study --embedder use --out probe/

    Prints how many base images got distractors for all four conditions, and why others failed.
    """
    from ..probe import (
        STUDY_THRESHOLDS,
        BuildSettings,
        CocoPool,
        FolderPool,
        ThresholdQuantiles,
        TuxPaintPool,
        build_probe,
        bundled_photos_pool,
    )
    from ..probe.folder import ProbeFolder
    from ..probe.pools import ImagePool

    image_pool: ImagePool

    if pool == "folder":
        if images is None or len(captions) != 1:
            raise BrainAlignError("--pool folder needs --images DIR and one --captions FILE.csv")
        image_pool = FolderPool(images, captions[0])
    elif pool == "coco":
        if images is None or not captions:
            raise BrainAlignError("--pool coco needs --images DIR and --captions captions_*.json")
        image_pool = CocoPool(images, captions, nsd_stim_info)
    elif pool == "bundled":
        image_pool = bundled_photos_pool()
    else:
        image_pool = TuxPaintPool(stamps)
    overrides = {
        name: value
        for name, value in (
            ("semantic_similar", semantic_similar),
            ("semantic_dissimilar", semantic_dissimilar),
            ("saliency_non_salient", saliency_non_salient),
            ("saliency_salient", saliency_salient),
        )
        if value is not None
    }
    settings = BuildSettings(
        seed=seed,
        n_bases=n_bases,
        image_size=image_size,
        max_distractors=max_distractors,
        thresholds=STUDY_THRESHOLDS if threshold_kind == "study" else ThresholdQuantiles(),
        threshold_overrides=overrides,
    )
    report = build_probe(image_pool, out, settings, embedder=embedder, overwrite=overwrite)
    for line in report.lines():
        click.echo(line)
    _print_id(ProbeFolder.open(out))
    for warning in report.warnings():
        click.echo(f"warning: {warning}", err=True)


def _print_id(folder) -> None:
    """The id its results will carry, and whether it is the standard probe (the folder is
    remembered under that id, so the id names it wherever a benchmark is named)."""
    from ..benchmarks.probe import PROBE_ID, SaliencySemanticProbe, probe_id
    from ..benchmarks.probe_index import remember

    identifier = probe_id(folder)
    remember(SaliencySemanticProbe(folder.root))
    standard = (
        "the pinned standard probe" if identifier == PROBE_ID else "not the pinned standard probe"
    )
    click.echo(
        f"id: {identifier}@{SaliencySemanticProbe.version} ({standard}; score it with "
        f"`brainalign score MODEL --probe {folder.root}`)"
    )


@probe.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--embedder", default=None, help="Caption embedder (default: the one the probe was built with)."
)
def check(folder: Path, embedder: str | None) -> None:
    """Recompute every distractor's saliency change and semantic distance from the saved images.

    Fails (exit 2) when a value differs from metadata.csv or misses its threshold.

    \b
    Example:
      brainalign probe check probe/
    """
    from ..probe import check_probe

    result = check_probe(folder, embedder)
    for line in result.lines():
        click.echo(line)
    if not result.ok:
        raise BrainAlignError(f"probe {folder} does not meet its own conditions (see above)")


@probe.command(name="default")
def default() -> None:
    """Build the default probe (Tux Paint cut-outs, seed 0, 200 base images) if needed; print where.

    It is built from the pinned stamp files of tuxpaint-stamps-default 2022.06.04-1 (apt-get
    download, an installed copy, or BRAINALIGN_TUXPAINT_STAMPS), which gives the same images on
    every machine with any library versions: the standard probe, probe.saliency_semantic@2. Other
    stamps build a probe that says so and carries an id of its own.

    \b
    Example:
      brainalign probe default
    """
    from ..probe import default_probe

    folder = default_probe()
    manifest = folder.manifest
    click.echo(f"default probe: {folder.root}")
    click.echo(
        f"pool: {manifest['pool']['kind']}; base images: {manifest['n_bases']} "
        f"(of {manifest['n_tried']} tried); embedder: {manifest['embedder']}"
    )
    _print_id(folder)


commands = [probe]
