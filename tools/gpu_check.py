"""Check brainalign on a GPU against its own CPU numbers, and time it per phase.

Scores untrained ResNet-18 (every "blocks" layer) and untrained ViT-Ti/16 on a prebuilt probe
folder and on the 92-image human benchmarks whose data is in the data folder, first on the
device, then on the CPU in the same run, and checks that every reported number agrees to
``brainalign.results.agreement.TOLERANCE`` (1e-6). Prints the time per phase of both runs.
Exit status 0: every number agrees; 1: some differ (listed); 2: it could not run.

Needs the GPU machine's own Python with torch, torchvision, numpy, scipy, pandas and pillow, this
checkout, and the few other packages brainalign imports on its scoring path: tqdm, threadpoolctl,
timm, jsonschema (with attrs, referencing, rpds-py, jsonschema-specifications), matplotlib and
opencv-python-headless. Nothing is downloaded (untrained models, the probe and the data are taken
along). Run from the repository root::

    python tools/gpu_check.py PROBE_DIR DATA_DIR                 # --device cuda
    python tools/gpu_check.py PROBE_DIR DATA_DIR --device cpu --model torchvision:resnet18:untrained=blocks
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's brainalign

MODELS = ("resnet18:untrained=blocks", "vit_tiny:untrained")  # the default set's untrained pair
HUMAN_STIMULUS_SETS = ("algonauts2019_92", "kriegeskorte2008_92")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: python tools/gpu_check.py ~/probe ~/brainalign-data --device cuda",
    )
    parser.add_argument(
        "probe", type=Path, help="a probe folder built with `brainalign probe build`"
    )
    parser.add_argument("data", type=Path, help="the data folder (what BRAINALIGN_DATA names)")
    parser.add_argument("--device", default="cuda", help="the device to check (default: cuda)")
    parser.add_argument(
        "--model",
        action="append",
        metavar="ID[=LAYERS]",
        help=f"a model to score, with its layer policy (repeatable; default: {', '.join(MODELS)})",
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="images per forward pass (default: 64)"
    )
    parser.add_argument(
        "--n-boot", type=int, default=1000, help="probe bootstrap resamples (default: 1000)"
    )
    return parser.parse_args(argv)


def benchmarks(probe: Path, data: Path, n_boot: int) -> list:
    from brainalign.benchmarks import default_benchmarks
    from brainalign.benchmarks.human import HumanBenchmark
    from brainalign.benchmarks.probe import SaliencySemanticProbe

    human = [
        b
        for b in default_benchmarks()
        if isinstance(b, HumanBenchmark)
        and b.stimulus_set_name in HUMAN_STIMULUS_SETS
        and b.availability(data).available
    ]
    return [*human, SaliencySemanticProbe(probe, n_boot=n_boot)]


def score_all(
    models: list[str], chosen: list, device: str, args: argparse.Namespace, results: Path
):
    """Every model on every benchmark on ``device``: the outcomes and the wall time."""
    from brainalign.api import score
    from brainalign.execution import ScoringOptions

    os.environ["BRAINALIGN_CACHE"] = str(
        results.with_name(f"{results.name}-cache")
    )  # nothing reused
    outcomes, started = [], time.perf_counter()
    for spec in models:
        model, _, layers = spec.partition("=")
        options = ScoringOptions(
            device=device, batch_size=args.batch_size, data_dir=args.data, layers=layers or None
        )
        outcomes += score(model, chosen, results=results, options=options)
    return outcomes, time.perf_counter() - started


def account(title: str, outcomes, wall: float) -> None:
    from brainalign.execution import phase_totals
    from brainalign.phases import PHASES

    print(f"\n{title}: {wall:.1f} s in all")
    for name, seconds in phase_totals(outcomes).items():
        if seconds > 0:
            print(f"  {PHASES[name]:<24} {seconds:8.1f} s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from brainalign.errors import BrainAlignError
    from brainalign.results.agreement import TOLERANCE, compare_numbers

    try:
        import torch

        if args.device.startswith("cuda") and not torch.cuda.is_available():
            raise BrainAlignError(
                "no CUDA device here; pass --device cpu to check the script itself"
            )
        models = args.model or list(MODELS)
        chosen = benchmarks(args.probe, args.data, args.n_boot)
        work = Path(tempfile.mkdtemp(prefix="brainalign-gpu-check-"))
        device_outcomes, device_wall = score_all(models, chosen, args.device, args, work / "device")
        cpu_outcomes, cpu_wall = score_all(models, chosen, "cpu", args, work / "cpu")
    except BrainAlignError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    name = (
        torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else args.device
    )
    account(f"{args.device} ({name})", device_outcomes, device_wall)
    account("cpu reference", cpu_outcomes, cpu_wall)
    print(f"\nevery number against the CPU's (tolerance {TOLERANCE:g}):")
    failed = 0
    for ours, reference in zip(device_outcomes, cpu_outcomes):
        if ours.result is None or reference.result is None:
            print(
                f"  {ours.model_id} {ours.benchmark}: not scored ({ours.message or reference.message})"
            )
            failed += 1
            continue
        comparison = compare_numbers(reference.result, ours.result)
        verdict = "agree" if comparison.agree else f"{len(comparison.differences)} DIFFER"
        print(
            f"  {ours.model_id:<22} {ours.benchmark:<40} {comparison.n_checked:6d} numbers {verdict}, "
            f"largest difference {comparison.max_difference:.2g}"
        )
        for difference in comparison.differences[:5]:
            print(f"      {difference}")
        failed += not comparison.agree
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
