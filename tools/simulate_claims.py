"""How often each candidate rule for the relation claims says "supported" by chance, and how often
the chosen one says it when a relation is there: the tables in docs/metrics.md ("Claims").

    python tools/simulate_claims.py [--reps 400] [--compare-reps 200] [--mixed-reps 60] [--seed 0] [--out FILE.md]

Simulated leaderboards come from :mod:`brainalign.leaderboard.simulation` (the default
leaderboard's 9 models, and 4, 8 or 20 trained models from 2-6 lineages beside untrained
ones). Candidates, each deciding "supported" when its 95% interval lies above 0:

- pooled r, models resampled: the study's analysis over all layers of all models, with the
  interval of r resampling models (the leaderboard's rule before);
- centred r, models (lineages) resampled: every trained model's layers centred on its own means,
  pooled, the interval resampling models (lineages);
- mixed model: y ~ x with a random intercept and slope per trained model (statsmodels MixedLM,
  REML), Wald interval of the fixed slope;
- per-model r, t over models: each trained model's r as Fisher z, t-test over models;
- per-model r, t over lineages (chosen): the same with each lineage's mean z as the unit
  (``brainalign.leaderboard.decisive.within_model_test``), "not testable" below its minimum.

Needs statsmodels for the mixed model (``pip install statsmodels``); without it that column is
left out.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from brainalign.leaderboard import simulation as sim
from brainalign.leaderboard.decisive import MIN_LINEAGES, within_model_test
from brainalign.leaderboard.relation import relation

Rule = Callable[[pd.DataFrame, int], bool]

LAYOUTS: list[tuple[str, tuple[sim.SimulatedModel, ...]]] = [
    ("default (4 trained: 3 EfficientNet-Lite + MobileNetV2)", sim.default_layout()),
    *[
        (f"{n} trained, {k} lineages", sim.layout(n, k))
        for n, k in ((4, 2), (4, 3), (4, 4), (8, 2), (8, 4), (8, 6), (20, 2), (20, 4), (20, 6))
    ],
]


def pooled_models(layers: pd.DataFrame, seed: int) -> bool:
    return relation(layers, "x", "y", groups="model", n_boot=1000, seed=seed)["ci_low"] > 0


def _centred(layers: pd.DataFrame) -> pd.DataFrame:
    trained = layers[layers["trained"]].copy()
    for column in ("x", "y"):
        trained[column] -= trained.groupby("model")[column].transform("mean")
    return trained


def centred_models(layers: pd.DataFrame, seed: int) -> bool:
    return (
        relation(_centred(layers), "x", "y", groups="model", n_boot=1000, seed=seed)["ci_low"] > 0
    )


def centred_lineages(layers: pd.DataFrame, seed: int) -> bool:
    return (
        relation(_centred(layers), "x", "y", groups="lineage", n_boot=1000, seed=seed)["ci_low"] > 0
    )


def t_over_models(layers: pd.DataFrame, seed: int) -> bool:
    r = np.array(list(within_model_test(layers, "x", "y").per_model.values()))
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    if len(z) < 2:
        return False
    half = stats.t.ppf(0.975, len(z) - 1) * z.std(ddof=1) / math.sqrt(len(z))
    return z.mean() - half > 0


def t_over_lineages(layers: pd.DataFrame, seed: int) -> bool:
    return within_model_test(layers, "x", "y").direction == "positive"


def mixed_model(layers: pd.DataFrame, seed: int) -> bool:
    import statsmodels.api as sm

    trained = layers[layers["trained"]]
    x = (trained["x"] - trained["x"].mean()) / trained["x"].std()
    y = (trained["y"] - trained["y"].mean()) / trained["y"].std()
    design = sm.add_constant(x.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.MixedLM(
                y.to_numpy(), design, groups=trained["model"].to_numpy(), exog_re=design
            ).fit(reml=True, method=["lbfgs"])
            slope, se = fit.fe_params[1], fit.bse_fe[1]
        except (np.linalg.LinAlgError, ValueError):
            return False
    return bool(np.isfinite(se) and slope - 1.959964 * se > 0)


def rate(
    rule: Rule, models: tuple[sim.SimulatedModel, ...], reps: int, seed: int, **planted: float
) -> float:
    rng = np.random.default_rng(seed)
    return sum(rule(sim.simulate_layers(models, rng, **planted), i) for i in range(reps)) / reps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reps", type=int, default=400, help="leaderboards per cell for the chosen rule"
    )
    parser.add_argument(
        "--compare-reps", type=int, default=200, help="... for the other candidates"
    )
    parser.add_argument("--mixed-reps", type=int, default=60, help="... for the mixed model (slow)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the markdown here as well as to stdout")
    args = parser.parse_args(argv)
    try:
        import statsmodels  # noqa: F401

        have_mixed = True
    except ImportError:
        have_mixed = False

    candidates: list[tuple[str, Rule, int]] = [
        ("pooled r, models resampled", pooled_models, args.compare_reps),
        ("centred r, models resampled", centred_models, args.compare_reps),
        ("centred r, lineages resampled", centred_lineages, args.compare_reps),
        *([("mixed model, slope per model", mixed_model, args.mixed_reps)] if have_mixed else []),
        ("per-model r, t over models", t_over_models, args.compare_reps),
        ("per-model r, t over lineages (chosen)", t_over_lineages, args.reps),
    ]
    lines = [
        (
            f'False "supported" rate under no within-model relation (the relation within models averages 0 and '
            f"varies between lineages, sd 0.15; {args.reps} leaderboards per cell for the chosen rule, "
            f'{args.compare_reps} for the others, {args.mixed_reps} for the mixed model; seed {args.seed}). The chosen rule says "not testable" below {MIN_LINEAGES} '
            "trained lineages (n.t.)."
        ),
        "",
        "| layout | " + " | ".join(name for name, _, _ in candidates) + " |",
        "|---|" + "---:|" * len(candidates),
    ]
    for label, models in LAYOUTS:
        cells = []
        n_lineages = len({m.lineage for m in models if m.trained})
        for name, rule, reps in candidates:
            if rule is t_over_lineages and n_lineages < MIN_LINEAGES:
                cells.append("n.t.")
                continue
            cells.append(f"{rate(rule, models, reps, args.seed):.3f}")
            print(f"  {label}: {name} done", file=sys.stderr)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    lines += [
        "",
        (
            f'Power of the chosen rule: "supported" rate with a planted within-model r (mean over lineages; '
            f"lineage sd 0.15, model sd 0.05), two trained models per lineage beside 4 untrained twins, "
            f"untrained ResNet-18 and ViT-Ti/16 and the pixel baseline ({args.reps} leaderboards per cell)."
        ),
        "",
        "| within-model r | " + " | ".join(f"{k} lineages" for k in (3, 4, 5, 6, 8, 10)) + " |",
        "|---|" + "---:|" * 6,
    ]
    for planted in (0.3, 0.5, 0.8):
        cells = [
            f"{rate(t_over_lineages, sim.layout(2 * k, k), args.reps, args.seed, within_r=planted):.2f}"
            for k in (3, 4, 5, 6, 8, 10)
        ]
        lines.append(f"| {planted} | " + " | ".join(cells) + " |")
        print(f"  power at r = {planted} done", file=sys.stderr)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
