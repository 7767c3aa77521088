"""The relation claims' verdicts checked in simulation for what they claim: with no relation within
any model, "supported" comes out at most 5% of the time, in the default leaderboard's layout and
with 4, 8 and 20 trained models from 2 to 6 lineages; with a realistic relation and enough lineages
it comes out most of the time. Seeded; bands from the binomial distribution (a check fails only when
its count is implausible, at the 0.1% level, under the rate it checks)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from brainalign.leaderboard import simulation as sim
from brainalign.leaderboard.claims import (
    DecisiveTests,
    saliency_across_models_claim,
    saliency_claim,
    semantic_claim,
)
from brainalign.leaderboard.decisive import (
    across_lineage_test,
    within_model_contrast,
    within_model_test,
)
from brainalign.leaderboard.relation import relation

TARGET = "IT@2"
LAYOUTS = {
    "default": sim.default_layout(),
    **{
        f"{n} trained, {k} lineages": sim.layout(n, k)
        for n, k in ((4, 2), (4, 3), (4, 4), (8, 2), (8, 4), (8, 6), (20, 2), (20, 4), (20, 6))
    },
}
REPS = 150


def _at_most(count: int, reps: int, rate: float) -> bool:
    """``count`` of ``reps`` is plausible for a true rate of at most ``rate``."""
    return count <= stats.binom.ppf(0.999, reps, rate)


def _at_least(count: int, reps: int, rate: float) -> bool:
    return count >= stats.binom.ppf(0.001, reps, rate)


def _tests(**parts) -> DecisiveTests:
    fields = {
        "within": [],
        "within_all": [],
        "contrast": [],
        "across": [],
        "lines": [[TARGET]],
        "stimuli_recorded": True,
        **parts,
    }
    return DecisiveTests(**fields)


def _semantic_status(layers) -> str:
    test = within_model_test(layers, "semantic", TARGET)
    return semantic_claim(_tests(within=[(TARGET, "semantic", test)])).status


def _supported(layout, reps: int, seed: int, **planted) -> int:
    rng = np.random.default_rng(seed)
    return sum(
        _semantic_status(sim.simulate_layers(layout, rng, x="semantic", y=TARGET, **planted))
        == "supported"
        for _ in range(reps)
    )


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_no_relation_within_models_is_rarely_called_supported(name: str) -> None:
    """The null: the relation within models averages 0 (lineages vary around it). Trained models sit
    higher on both measures, so pooled over models r is large."""
    count = _supported(LAYOUTS[name], REPS, seed=list(LAYOUTS).index(name))
    assert _at_most(count, REPS, 0.05), f"{count} of {REPS}"


def test_over_all_layouts_the_false_supported_rate_is_at_most_five_percent() -> None:
    """The same, pooled over layouts with enough lineages to be testable, a tighter band; and the
    strict null (no model has any relation) too."""
    testable = [
        layout for layout in LAYOUTS.values() if len({m.lineage for m in layout if m.trained}) >= 3
    ]
    count = sum(_supported(layout, REPS // 2, seed=100 + i) for i, layout in enumerate(testable))
    count += sum(
        _supported(layout, REPS // 2, seed=200 + i, lineage_sd=0.0, model_sd=0.0)
        for i, layout in enumerate(testable)
    )
    total = 2 * (REPS // 2) * len(testable)
    assert _at_most(count, total, 0.05), f"{count} of {total}"


def test_the_default_layout_fools_the_pooled_analysis_not_the_claim() -> None:
    """With no relation within any model, the study's pooled r (interval resampling models) excludes
    0 most of the time; the claim is not testable there (two trained lineages) and shows no number."""
    rng, reps, pooled = np.random.default_rng(7), 40, 0
    for i in range(reps):
        layers = sim.simulate_layers(sim.default_layout(), rng, x="semantic", y=TARGET)
        pooled += (
            relation(layers, "semantic", TARGET, groups="model", n_boot=300, seed=i)["ci_low"] > 0
        )
        claim = semantic_claim(
            _tests(within=[(TARGET, "semantic", within_model_test(layers, "semantic", TARGET))])
        )
        assert claim.status == "not testable" and not claim.lines
        assert "efficientnet, mobilenet" in claim.evidence[0] and "=" not in claim.evidence[0]
        assert "more architecture lineage" in claim.needs
    assert _at_least(pooled, reps, 0.5), f"pooled rule: {pooled} of {reps}"


@pytest.mark.parametrize("n_lineages", [6, 8])
def test_a_realistic_relation_within_models_is_found_with_enough_lineages(n_lineages: int) -> None:
    """Trained networks' layers show within-model r of about 0.8-0.95 between semantic ρ and brain ρ
    (the default run); planted at 0.8, with two trained models per lineage, the claim is supported
    most of the time."""
    count = _supported(sim.layout(2 * n_lineages, n_lineages), REPS, seed=n_lineages, within_r=0.8)
    assert _at_least(count, REPS, 0.5) and count > REPS / 2, f"{count} of {REPS}"


def test_saliency_as_strong_as_semantics_is_rarely_called_weaker() -> None:
    """The contrast claim's null: saliency ρ goes with brain ρ within models exactly as strongly as
    semantic ρ does."""
    rng, count, total = np.random.default_rng(11), 0, 0
    for layout in (sim.layout(8, 4), sim.layout(20, 6)):
        for _ in range(REPS):
            layers = sim.simulate_layers(
                layout, rng, x="semantic", y=TARGET, within_r=0.4, others={"saliency": 0.4}
            )
            test = within_model_contrast(layers, "semantic", "saliency", TARGET)
            count += saliency_claim(_tests(contrast=[(TARGET, test)])).status == "supported"
            total += 1
    assert _at_most(count, total, 0.05), f"{count} of {total}"


def test_no_relation_across_trained_lineages_is_rarely_called_contradicted() -> None:
    """Across models, with two clusters (trained far above untrained on both measures) and no
    relation among trained lineages: r over all models is large, yet the claim of no relation is
    contradicted at most 5% of the time."""
    rng, count, reps, large = np.random.default_rng(12), 0, 300, 0
    for _ in range(reps):
        table = sim.simulate_models(sim.layout(12, 6), rng, x="saliency_suppression", y=TARGET)
        test = across_lineage_test(table, "saliency_suppression", TARGET)
        count += (
            saliency_across_models_claim(
                _tests(across=[(TARGET, "saliency_suppression", test)])
            ).status
            == "contradicted"
        )
        large += np.corrcoef(table["saliency_suppression"], table[TARGET])[0, 1] > 0.5
    assert _at_most(count, reps, 0.05), f"{count} of {reps}"
    assert large > reps / 2  # the descriptive r over every model is carried by the two clusters
