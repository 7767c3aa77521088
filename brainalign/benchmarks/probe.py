"""``probe.saliency_semantic@2``: how much a network's layers follow low-level saliency versus
high-level semantics, and how they react to distractors that change one but not the other.

The benchmark is the study's probe (Opiełka, Loke & Scholte 2024) made standard: five stimulus
sets (Baseline and the four distractor conditions, sharing their base-image ids), two target RDMs
computed on the Baseline images (Itti–Koch saliency maps; caption embeddings), Spearman ρ per
layer, ΔRSA per condition, and three headline summaries with bootstrap intervals over stimuli.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..bibtex import STUDY_BIBTEX, suite_bibtex
from ..errors import BrainAlignError
from ..probe.builder import BASELINE, CONDITIONS, DISTRACTOR_CONDITIONS, FEW_BASES, probe_warnings
from ..probe.default import default_probe, default_probe_dir, is_built
from ..probe.folder import ProbeFolder
from ..probe.pinned import is_pinned, pin
from ..probe.tuxpaint import PACKAGE, TUXPAINT_BIBTEX
from ..rsa import N_BOOT, LayerRDMs, bootstrap_stimuli, compare, percentile_interval
from ..rsa.comparison import as_rdm_stack
from ..stimuli import StimulusSet
from .base import LAYERWISE_COLUMNS, Availability, Benchmark, BenchmarkScore, Measure

#: The id of the pinned standard probe; every other probe's id carries its hash (:func:`probe_id`).
PROBE_ID = "probe.saliency_semantic"
#: Hex digits of a probe's manifest sha256 in its id: 48 bits, so two different probes in one
#: results folder share an id with probability ~n²/2⁴⁹ (far below 1e-9 for a thousand probes).
ID_HASH_LENGTH = 12

TARGETS: tuple[str, ...] = ("saliency", "semantic")
#: Layers at relative depth ≤ this count as "early" for saliency suppression.
EARLY_DEPTH = 1 / 3

#: The methods behind the two targets (the study itself: :data:`brainalign.bibtex.STUDY_BIBTEX`).
METHODS_BIBTEX = """@article{itti1998saliency,
  title = {A Model of Saliency-Based Visual Attention for Rapid Scene Analysis},
  author = {Itti, Laurent and Koch, Christof and Niebur, Ernst},
  journal = {IEEE Transactions on Pattern Analysis and Machine Intelligence},
  volume = {20},
  number = {11},
  pages = {1254--1259},
  year = {1998},
  doi = {10.1109/34.730558}
}
@inproceedings{reimers2019sbert,
  title = {Sentence-{BERT}: Sentence Embeddings using {Siamese} {BERT}-Networks},
  author = {Reimers, Nils and Gurevych, Iryna},
  booktitle = {Proceedings of EMNLP-IJCNLP},
  pages = {3982--3992},
  year = {2019},
  doi = {10.18653/v1/D19-1410}
}"""

METRIC = f"""
Stimuli: the probe's five conditions (Baseline, Control, Salient, Semantic, Semantic_Salient),
the same N base images in each (ids = base ids). Layer RDMs: cosine distance on flattened activations.
Targets, both on the Baseline images: the saliency RDM (Itti–Koch maps resized to 224×224, flattened,
cosine distance) and the semantic RDM (cosine distance of the images' mean caption embeddings,
all-MiniLM-L6-v2 for the default probe).
Per layer and condition: ρ = Spearman correlation of the layer RDM on that condition's images with each
target (upper triangles). Layerwise rows: condition = a condition name holds ρ; condition = "delta.<C>"
holds ΔRSA = ρ(C) − ρ(Baseline) for C in Control, Salient, Semantic, Semantic_Salient.
Summaries: semantic_encoding = ρ with the semantic RDM on Baseline of the layer where it is highest
(the layer is named; the interval is that layer's); saliency_suppression = −mean over layers with relative
depth ≤ 1/3 of ρ with the saliency RDM on Baseline (positive: early layers push saliency structure away);
sensitivity.<C>.<target> = mean over all layers of ΔRSA for condition C against that target.
Intervals: 95 % percentile bootstrap over stimuli ({N_BOOT} resamples; the same resamples for every layer,
condition and target, so differences are paired).""".strip().replace("\n", " ")


STIMULUS_INTERVAL = "95% percentile bootstrap over stimuli (the probe's base images)"


def probe_measures() -> tuple[Measure, ...]:
    """What the probe reports: semantic encoding, saliency suppression, and one sensitivity per
    distractor condition and target (ΔRSA averaged over layers)."""
    measures = [
        Measure(
            "semantic_encoding",
            "semantic_encoding",
            "semantic encoding",
            "rho with the semantic RDM on Baseline of the layer where it is highest",
            layerwise={"target": "semantic", "condition": BASELINE},
            target="semantic",
            condition=BASELINE,
            interval=STIMULUS_INTERVAL,
            headline=True,
        ),
        Measure(
            "saliency_suppression",
            "saliency_suppression",
            "saliency suppression",
            f"minus the mean rho with the saliency RDM on Baseline over layers at relative depth <= "
            f"{EARLY_DEPTH:.3g}",
            layerwise={"target": "saliency", "condition": BASELINE},
            target="saliency",
            condition=BASELINE,
            interval=STIMULUS_INTERVAL,
            headline=True,
        ),
    ]
    for condition, (similar, salient) in DISTRACTOR_CONDITIONS.items():
        for target in TARGETS:
            measures.append(
                Measure(
                    f"sensitivity.{condition}.{target}",
                    "sensitivity",
                    f"ΔRSA {condition} ({target})",
                    f"mean over layers of rho({condition}) - rho(Baseline) against the {target} RDM",
                    layerwise={"target": target, "condition": f"delta.{condition}"},
                    target=target,
                    condition=condition,
                    distractor={"salient": salient, "semantically_similar": similar},
                    interval=STIMULUS_INTERVAL,
                )
            )
    return tuple(measures)


def score_layers(
    layers: Mapping[str, LayerRDMs],
    targets: Mapping[str, Any],
    stimulus_ids: tuple[str, ...],
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    early_depth: float = EARLY_DEPTH,
    benchmark: str = "probe.saliency_semantic@2",
) -> BenchmarkScore:
    """The probe's scores from layer RDMs per condition and the two condensed target RDMs
    (``saliency``, ``semantic``) on ``stimulus_ids``; deterministic given ``seed``.
    ``n_boot=0``: no bootstrap, every interval NaN."""
    missing = [c for c in CONDITIONS if c not in layers]
    if missing:
        raise BrainAlignError(
            f"probe scoring needs layer RDMs for every condition; missing {', '.join(missing)}"
        )
    reference = layers[BASELINE]
    names, depths = reference.layers, np.asarray(reference.depths)
    for condition in CONDITIONS:
        if layers[condition].layers != names:
            raise BrainAlignError(
                f"layer RDMs of {condition} have other layers than Baseline's; extract the same "
                "layers for every condition"
            )
    stack = np.vstack([layers[c].rdms.reorder(stimulus_ids).data for c in CONDITIONS])
    target_stack = np.vstack([as_rdm_stack(targets[t], t) for t in TARGETS])
    n_cond, n_layers = len(CONDITIONS), len(names)
    rho = compare(stack, target_stack, "spearman").reshape(n_cond, n_layers, len(TARGETS))
    boot = bootstrap_stimuli(stack, target_stack, method="spearman", n_boot=n_boot, seed=seed)
    boot = boot.reshape(n_boot, n_cond, n_layers, len(TARGETS))
    delta, boot_delta = rho[1:] - rho[:1], boot[:, 1:] - boot[:, :1]

    rows = []
    for label, values, samples in [(c, rho[i], boot[:, i]) for i, c in enumerate(CONDITIONS)] + [
        (f"delta.{c}", delta[i], boot_delta[:, i]) for i, c in enumerate(DISTRACTOR_CONDITIONS)
    ]:
        low, high = _percentiles(samples)
        for t, target in enumerate(TARGETS):
            for index, layer in enumerate(names):
                rows.append(
                    (
                        layer,
                        index,
                        float(depths[index]),
                        target,
                        "",
                        label,
                        float(values[index, t]),
                        float(low[index, t]),
                        float(high[index, t]),
                    )
                )
    layerwise = pd.DataFrame(rows, columns=list(LAYERWISE_COLUMNS))

    semantic, saliency = TARGETS.index("semantic"), TARGETS.index("saliency")
    summary: dict[str, dict[str, Any]] = {}
    baseline_semantic = rho[0, :, semantic]
    if np.all(np.isnan(baseline_semantic)):
        raise BrainAlignError(
            "every layer's RDM is constant or NaN on the Baseline images; nothing to score"
        )
    best = int(np.nanargmax(baseline_semantic))
    summary["semantic_encoding"] = _interval(baseline_semantic[best], boot[:, 0, best, semantic])
    summary["semantic_encoding"]["layer"] = names[best]

    early = depths <= early_depth
    if early.any():
        summary["saliency_suppression"] = _interval(
            -np.nanmean(rho[0, early, saliency]),
            -np.nanmean(boot[:, 0][:, early, saliency], axis=1),
        )
    else:
        summary["saliency_suppression"] = {
            "value": float("nan"),
            "ci_low": float("nan"),
            "ci_high": float("nan"),
        }
    summary["saliency_suppression"]["n_layers"] = int(early.sum())
    for i, condition in enumerate(DISTRACTOR_CONDITIONS):
        for t, target in enumerate(TARGETS):
            summary[f"sensitivity.{condition}.{target}"] = _interval(
                np.nanmean(delta[i, :, t]), np.nanmean(boot_delta[:, i, :, t], axis=1)
            )
    extra = {
        "n_stimuli": len(stimulus_ids),
        "n_boot": n_boot,
        "seed": seed,
        "early_layers": [n for n, e in zip(names, early) if e],
    }
    return BenchmarkScore(benchmark, layerwise, summary, extra)


def _percentiles(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 95 % interval of bootstrap ``samples`` along axis 0; NaN without samples (n_boot=0)."""
    if len(samples) == 0:
        missing = np.full(samples.shape[1:], np.nan)
        return missing, missing
    return percentile_interval(samples)


def _interval(value: float, samples: np.ndarray) -> dict[str, Any]:
    low, high = _percentiles(samples)
    return {"value": float(value), "ci_low": float(low), "ci_high": float(high)}


def probe_id(probe: ProbeFolder) -> str:
    """The one id rule of every probe: ``probe.saliency_semantic`` is the pinned default probe
    alone (the same images on every machine); any other probe (another seed or pool, unpinned
    stamps, the bundled fallback, a folder of your own) is ``probe.saliency_semantic~<hash>``,
    ``<hash>`` the start of its content hash (decoded images, condition table, defining
    settings). Numbers of two ids never share a column."""
    return PROBE_ID if is_pinned(probe) else f"{PROBE_ID}~{probe.content_hash[:ID_HASH_LENGTH]}"


def probe_label(identifier: str, recorded: Mapping[str, Any]) -> tuple[str, list[str]]:
    """Which probe a result of ``identifier`` comes from, as a short label (the standard probe, or
    its pool and seed; always its number of base images, and its caveats in a word), and the
    caveats in full; from what the result recorded (:meth:`SaliencySemanticProbe.provenance`).
    A probe benchmark recording none of it (a plugin) gets an empty label."""
    n_bases = recorded.get("probe_n_bases")
    if n_bases is None:
        return "", []
    pool = recorded.get("probe_pool")
    if identifier.partition("@")[0] == PROBE_ID:
        source = "standard probe (pinned)"
    elif pool == "bundled":
        source = "fallback probe of bundled photos"
    else:
        source = f"{pool} pool, seed {recorded.get('probe_seed')}"
    shapes = recorded.get("probe_distractor_shapes") or {}
    flags = [source, f"{n_bases} base images"]
    flags += ["few base images"] if n_bases < FEW_BASES else []
    flags += ["rectangular distractors"] if shapes.get("rectangle") else []
    return ", ".join(flags), probe_warnings(int(n_bases), shapes)


class SaliencySemanticProbe(Benchmark):
    """The probe benchmark on the default probe (built on first use) or on a probe folder.

    Its id follows :func:`probe_id`: for a folder, from the start; for the default probe, once
    the probe is open (until then it is the standard probe's id, which the build normally gives).
    """

    #: 2: the standard probe's images rendered by brainalign.probe.exact (the same with any library
    #: versions) and identified by their content; version 1's pinned images came from one machine's
    #: Pillow and OpenCV and are not comparable.
    version = 2
    title = "Saliency/semantic probe"
    description = (
        "How strongly each layer's representational geometry follows the Itti–Koch saliency of "
        "the images versus the meaning of their captions, and how it shifts when a distractor "
        "that is (non-)salient and semantically (dis)similar is pasted in (Opiełka, Loke & "
        "Scholte 2024)."
    )
    metric = METRIC
    measures = probe_measures()
    comparison = "spearman"  # how layer RDMs are compared with the target RDMs

    def __init__(self, probe_dir: str | Path | None = None, *, n_boot: int = N_BOOT) -> None:
        self.probe_dir = Path(probe_dir).expanduser() if probe_dir is not None else None
        self.n_boot = n_boot
        # a folder that is no probe is an error here, not when scoring; its files are checked once,
        # when it is first used
        self._probe = (
            ProbeFolder.open(self.probe_dir, verify=False) if self.probe_dir is not None else None
        )
        self._verified = False

    @property
    def id(self) -> str:  # type: ignore[override]
        return PROBE_ID if self._probe is None else probe_id(self._probe)

    def probe(self) -> ProbeFolder:
        """The probe folder, every file checked (the default one is built here on first use)."""
        if self._probe is None:
            self._probe = default_probe()
        elif not self._verified and self.probe_dir is not None:
            self._probe = ProbeFolder.open(self.probe_dir)
        self._verified = True
        return self._probe

    @property
    def bibtex(self) -> str:  # type: ignore[override]
        """The study, the target methods, the image pool (the probe's own once it is open; until
        then the default probe's Tux Paint stamps) and the suite."""
        pool = (
            self._probe.manifest.get("bibtex", "") if self._probe is not None else TUXPAINT_BIBTEX
        )
        return "\n\n".join(
            part for part in (STUDY_BIBTEX, METHODS_BIBTEX, pool, suite_bibtex()) if part
        )

    def availability(self, data_dir: Path | None) -> Availability:
        if self.probe_dir is not None:
            if not (self.probe_dir / "manifest.json").is_file():
                return Availability(
                    False,
                    f"no probe in {self.probe_dir}",
                    f"brainalign probe build --out {self.probe_dir}",
                )
            try:
                self.probe()  # every file checked against the manifest, once: damage stops a run before it starts
            except BrainAlignError as err:
                return Availability(False, str(err), damaged=True)
            return Availability(True, f"probe folder {self.probe_dir}")
        if is_built():
            return Availability(True, f"default probe cached in {default_probe_dir()}")
        return Availability(
            True,
            f"builds itself on first use from the pinned stamps of {pin().source} (Debian's "
            f"{PACKAGE} via `apt-get download` into the cache, an installed copy or "
            f"BRAINALIGN_TUXPAINT_STAMPS), into {default_probe_dir()}; without them, a small "
            "fallback from bundled photos",
            "brainalign probe default",
        )

    def stimulus_sets(self, data_dir: Path | None) -> dict[str, StimulusSet]:
        return self.probe().stimulus_sets()

    def score(
        self, layers: Mapping[str, LayerRDMs], *, seed: int = 0, data_dir: Path | None = None
    ) -> BenchmarkScore:
        probe = self.probe()
        return score_layers(
            layers,
            probe.targets(),
            probe.base_ids,
            n_boot=self.n_boot,
            seed=seed,
            benchmark=self.identifier,
        )

    def provenance(self, data_dir: Path | None) -> dict[str, Any]:
        probe = self.probe()
        manifest = probe.manifest
        return {
            "probe_content_sha256": probe.content_hash,
            "probe_pool": manifest["pool"].get("kind"),
            "probe_builder_version": manifest["builder_version"],
            "probe_seed": manifest["settings"]["seed"],
            "probe_embedder": manifest["embedder"],
            "probe_n_bases": manifest["n_bases"],
            "probe_distractor_shapes": manifest.get("distractor_shapes"),
        }


#: Registered through the entry point ``probe`` of the group ``brainalign.benchmarks``.
BENCHMARKS: tuple[Benchmark, ...] = (SaliencySemanticProbe(),)
