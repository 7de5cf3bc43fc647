"""The diffusion scenario: a class-conditional denoiser on 8x8 digits, a concept to forget, a seed.

A concept is a digit class. The scenario trains the **original** model on every training
digit and the **gold** model, the same recipe from scratch, on the digits of the other
classes only (DDPM objective with diffusers' ``DDPMScheduler``, label dropout for
classifier-free guidance), caches both as safetensors keyed by a hash of the scenario, and
trains a concept **detector** (the toolkit's small CNN classifier, on real training digits
of every class: the judge of every generated image; the paper uses a pretrained classifier). A user's own diffusers ``UNet2DModel`` (or any model callable as
``model(sample, timestep, class_labels=...)``) enters through ``model="package.module:callable"``.

Audit (:meth:`DiffusionScenario.audit`), one flat dict of floats, on images generated with
a DDIM sampler from fixed seeds:

* ``forget_rate``: the detector's accuracy on the model's images prompted with the
  forgotten class (lower is better; the target is gold's);
* ``retain_accuracy``: its accuracy on images prompted with every other class;
* ``kid``: KID (:func:`~obliviate.diffusion.metrics.kid`) between detector features of the
  retained-class images and real held-out digits of those classes;
* the **partial-diffusion attack** (:func:`~obliviate.diffusion.sampling.partial_diffusion`)
  on the grid ``psi = k / T``, ``k = 0..T``: ``ccs`` and ``crs`` are the averages over
  ``psi`` of CCS(psi) and CRS(psi) (:mod:`obliviate.diffusion.metrics`); ``concealment`` is
  the signed area between the model's CCS curve and gold's; ``psi_star`` is where CCS first
  exceeds 0.5; ``ccs_binary`` is the paper's binary variant (a classifier telling the
  original's images of the concept from the model's, :meth:`DiffusionScenario._binary_ccs`).
  The curves of the last audit are kept in :attr:`DiffusionScenario.curves`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.core.cache import cache_path, train_or_load
from obliviate.core.checkpoint import config_hash, state_sha256
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidForgetSpecError, InvalidRequestError
from obliviate.core.factory import build_with, factory_name, load_factory
from obliviate.core.recipes import build_model as build_classifier
from obliviate.core.training import default_device, fit, predict_logits
from obliviate.data.forget import ForgetSpec, parse_forget_spec
from obliviate.diffusion.methods._common import DIFFUSION_KINDS, denoising_loss
from obliviate.diffusion.metrics import (
    concealment_score,
    concept_confidence,
    concept_retrieval,
    curve_mean,
    kid,
    psi_star,
)
from obliviate.diffusion.models import build_denoiser
from obliviate.diffusion.sampling import Sampler, noise_scheduler, original_trajectory, partial_diffusion

NUM_CLASSES = 10
SCHEDULER_CONFIG = {"num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2", "clip_sample": True}
DETECTOR_EPOCHS = 10
_DETECTORS: dict[str, dict[str, torch.Tensor]] = {}
"""Detectors trained in this process, by configuration: the judge depends only on the data
split and its seed, so scenarios that share them (several models, methods, a bench) share it."""
AUDIT_SEED_OFFSET = 104729
"""Seed offset of the audit's sampling noise, kept apart from the seeds training and methods use."""


@dataclass(frozen=True)
class TrainingRecipe:
    """How the original and gold denoisers are trained (also what ``retrain`` uses)."""

    steps: int = 800
    lr: float = 3e-3
    batch_size: int = 128
    p_uncond: float = 0.1

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Batches:
    """Re-iterable of seeded shuffled batches of a ``TensorDataset`` for ``steps`` steps in all."""

    def __init__(self, data: TensorDataset, *, batch_size: int, seed: int):
        self.images, self.labels = data.tensors[0], data.tensors[1]
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self):
        order = torch.randperm(len(self.labels), generator=self.generator)
        for start in range(0, len(order) - self.batch_size + 1, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.images[index], self.labels[index]


def train_denoiser(model: nn.Module, data: TensorDataset, recipe: dict[str, Any], *, scheduler: Any,
                   null_label: int, seed: int, progress: bool = False, desc: str = "denoiser") -> dict[str, Any]:
    """Train ``model`` in place with the DDPM objective and label dropout (see
    :func:`~obliviate.diffusion.methods._common.denoising_loss`) for ``recipe["steps"]`` steps."""
    batch_size = min(int(recipe["batch_size"]), len(data))
    per_epoch = max(1, len(data) // batch_size)
    epochs = math.ceil(int(recipe["steps"]) / per_epoch)

    def loss(net: nn.Module, batch: tuple) -> torch.Tensor:
        return denoising_loss(net, batch[0], batch[1], scheduler, null_label, float(recipe["p_uncond"]))

    return fit(
        model,
        _Batches(data, batch_size=batch_size, seed=seed),
        loss_fn=loss,
        epochs=epochs,
        lr=float(recipe["lr"]),
        max_steps=int(recipe["steps"]),
        seed=seed,
        progress=progress,
        desc=desc,
    )


@dataclass
class DiffusionScenario:
    """Concept unlearning in a class-conditional diffusion model.

    Args:
        dataset: ``digits`` (scikit-learn's 8x8 digits, scaled to ``[-1, 1]``).
        forget: ``concept:<k>`` (or ``class:<k>``): the digit class to forget.
        model: ``"denoiser"`` (the built-in :class:`~obliviate.diffusion.models.DigitDenoiser`),
            or your own network as a factory: a zero-argument callable or
            ``"package.module:callable"`` building an untrained model callable as
            ``model(sample, timestep, class_labels=...)`` with ``num_classes + 1`` labels (a
            diffusers ``UNet2DModel`` with ``num_class_embeds=11``).
        factory: the same as a ``model`` factory (the name ``obliviate forget --factory`` uses).
        seed: seeds the split, initialisation, training and the audit's noise.
        steps, lr, batch_size: training of the original and gold models.
        width: hidden width of the built-in denoiser.
        sampling_steps: DDIM steps ``T`` of every generation (the attack's grid has ``T + 1`` points).
        guidance_scale: classifier-free guidance weight.
        eta: DDIM stochasticity (1: ancestral sampling as DDPM's, the default; 0: deterministic).
        samples_per_class: generations per retained class in the audit.
        attack_samples: generations of the forgotten class per ``psi``.
        crs_compat: ``"default"`` (plain cosine) or ``"respai"`` (the published code's CRS).
        detector_recipe: the detector's network, ``"cnn"`` (default) or ``"mlp"``.
        cache_dir: where trained models are cached (``None``: no cache).
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
        progress: show progress bars while training.
    """

    dataset: str = "digits"
    forget: str | ForgetSpec = "concept:3"
    model: str | Callable[[], nn.Module] = "denoiser"
    factory: str | Callable[[], nn.Module] | None = None
    seed: int = 0
    steps: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    width: int = 96
    sampling_steps: int = 20
    guidance_scale: float = 2.0
    eta: float = 1.0
    samples_per_class: int = 40
    attack_samples: int = 64
    crs_compat: str = "default"
    detector_recipe: str = "cnn"
    cache_dir: str | os.PathLike | None = None
    device: str | None = None
    progress: bool = False
    task: str = field(default="diffusion", init=False)

    def __post_init__(self) -> None:
        if self.dataset != "digits":
            raise InvalidRequestError(f"the diffusion task's built-in data set is 'digits'; got {self.dataset!r}")
        self.spec = parse_forget_spec(self.forget, allowed=DIFFUSION_KINDS)
        if len(self.spec.value) != 1 or not 0 <= self.spec.value[0] < NUM_CLASSES:
            raise InvalidForgetSpecError(
                f"forget one digit class at a time, e.g. 'concept:3' (0..{NUM_CLASSES - 1}); got {str(self.spec)!r}"
            )
        if self.crs_compat not in ("default", "respai"):
            raise InvalidRequestError(f"crs_compat must be 'default' or 'respai'; got {self.crs_compat!r}")
        for name in ("sampling_steps", "samples_per_class", "attack_samples"):
            if int(getattr(self, name)) < 1:
                raise InvalidRequestError(f"{name} must be at least 1; got {getattr(self, name)!r}")
        self.concept = int(self.spec.value[0])
        base = TrainingRecipe()
        self.recipe = TrainingRecipe(
            steps=int(self.steps or base.steps), lr=float(self.lr or base.lr),
            batch_size=int(self.batch_size or base.batch_size), p_uncond=base.p_uncond,
        )
        chosen = self.factory if self.factory is not None else self.model
        self._factory = None
        if callable(chosen) or (isinstance(chosen, str) and ":" in chosen):
            self._factory = load_factory(chosen)
        elif chosen != "denoiser":
            raise InvalidRequestError(
                f"unknown diffusion model {chosen!r}: use 'denoiser' or a factory 'package.module:callable'"
            )
        self.sampler = Sampler(
            scheduler_config=dict(SCHEDULER_CONFIG), steps=int(self.sampling_steps),
            guidance_scale=float(self.guidance_scale), null_label=NUM_CLASSES, eta=float(self.eta),
        )
        self._data = None
        self._original: nn.Module | None = None
        self._gold: nn.Module | None = None
        self._detector: nn.Module | None = None
        self._trajectory: tuple[str, list[torch.Tensor]] | None = None
        self._gold_curve: tuple[str, np.ndarray] | None = None
        self.training_seconds: dict[str, float] = {}
        self.audit_notes: dict[str, str] = {}
        self.curves: dict[str, list[float]] = {}

    # -- data -----------------------------------------------------------------------------
    @property
    def data(self):
        """The digits split (images in ``[-1, 1]``, shape ``(n, 1, 8, 8)``)."""
        if self._data is None:
            from obliviate.data.datasets import load_classification

            data = load_classification("digits", seed=self.seed)
            data.x_train = (data.x_train * 2 - 1).astype(np.float32)
            data.x_test = (data.x_test * 2 - 1).astype(np.float32)
            self._data = data
        return self._data

    @property
    def forget_indices(self) -> np.ndarray:
        """Training positions of the forgotten class's digits."""
        return np.flatnonzero(self.data.y_train == self.concept)

    @property
    def retain_indices(self) -> np.ndarray:
        return np.flatnonzero(self.data.y_train != self.concept)

    @property
    def forget_ids(self) -> list[int]:
        """What a certificate hashes: the training positions of the forgotten digits."""
        return [int(i) for i in self.forget_indices]

    def request(self) -> UnlearningRequest:
        """The request: forget and retain digits, test digits as validation; ``extras`` hold
        the concept, the sampler (schedule, steps, guidance, null label) and the recipe."""
        return UnlearningRequest(
            forget=self.data.train_dataset(self.forget_indices),
            retain=self.data.train_dataset(self.retain_indices),
            validation=self.data.test_dataset(),
            spec=self.spec,
            num_classes=NUM_CLASSES,
            seed=self.seed,
            extras={"concept": self.concept, "sampler": self.sampler, "training": self.recipe.as_dict()},
            model_factory=self._fresh,
        )

    # -- models ---------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return torch.device(self.device) if self.device else default_device()

    def _fresh(self) -> nn.Module:
        """A fresh network drawn from torch's current random state (the request's ``model_factory``)."""
        if self._factory is not None:
            return build_with(self._factory).to(self._device())
        return build_denoiser(num_classes=NUM_CLASSES, width=self.width).to(self._device())

    def new_model(self) -> nn.Module:
        """A freshly initialised denoiser (recipe or factory), seeded by the scenario's seed."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return self._fresh()

    def _config(self, which: str) -> dict[str, Any]:
        if self._factory is not None:
            model_key: Any = {"factory": factory_name(self._factory), "initial_weights": state_sha256(self.new_model())}
        else:
            model_key = {"denoiser": self.width}
        return {
            "which": which, "dataset": self.dataset, "concept": self.concept if which == "gold" else None,
            "model": model_key, "seed": self.seed, "recipe": self.recipe.as_dict(),
            "scheduler": SCHEDULER_CONFIG, "version": 1,
        }

    def _train(self, which: str, data: TensorDataset) -> nn.Module:
        model = self.new_model()
        config = self._config(which)

        def train(net: nn.Module) -> None:
            train_denoiser(
                net, data, self.recipe.as_dict(), scheduler=noise_scheduler(SCHEDULER_CONFIG),
                null_label=NUM_CLASSES, seed=self.seed, progress=self.progress, desc=f"diffusion {which}",
            )

        path = cache_path(self.cache_dir, f"diffusion-{which}", config)
        self.training_seconds[which] = train_or_load(model, train, path=path, config=config, seed=self.seed)
        return model

    def original(self) -> nn.Module:
        """The denoiser trained on every training digit (cached)."""
        if self._original is None:
            self._original = self._train("original", self.data.train_dataset())
        return self._original

    def gold(self) -> nn.Module:
        """The denoiser trained from scratch without the forgotten class (cached)."""
        if self._gold is None:
            self._gold = self._train("gold", self.data.train_dataset(self.retain_indices))
        return self._gold

    def detector(self) -> nn.Module:
        """The concept detector: a classifier (``detector_recipe``) trained on real training digits of every class (cached)."""
        if self._detector is None:
            model = build_classifier(self.detector_recipe, (1, 8, 8), NUM_CLASSES, seed=self.seed)
            config = {"which": "detector", "recipe": self.detector_recipe, "dataset": self.dataset, "seed": self.seed,
                      "epochs": DETECTOR_EPOCHS, "version": 1}

            def train(net: nn.Module) -> None:
                fit(net, self.data.train_dataset(), epochs=DETECTOR_EPOCHS, lr=2e-3, batch_size=64, seed=self.seed)

            key = config_hash(config)
            if key in _DETECTORS:
                model.load_state_dict(_DETECTORS[key])
                model.eval()
            else:
                path = cache_path(self.cache_dir, "diffusion-detector", config)
                self.training_seconds["detector"] = train_or_load(model, train, path=path, config=config, seed=self.seed)
                _DETECTORS[key] = {k: v.detach().clone() for k, v in model.state_dict().items()}
            self._detector = model.cpu()
        return self._detector

    # -- audit ----------------------------------------------------------------------------
    @property
    def psi_grid(self) -> np.ndarray:
        """The attack's grid ``psi = k / T``, ``k = 0..T``."""
        return np.arange(self.sampler.steps + 1) / self.sampler.steps

    def _attack_labels(self) -> torch.Tensor:
        return torch.full((int(self.attack_samples),), self.concept, dtype=torch.long)

    def _attack_seed(self) -> int:
        return self.seed + AUDIT_SEED_OFFSET

    def original_states(self, original: nn.Module) -> list[torch.Tensor]:
        """The original's sampling trajectory for the attack (computed once per original model)."""
        key = state_sha256(original)
        if self._trajectory is None or self._trajectory[0] != key:
            states = original_trajectory(original, self.sampler, self._attack_labels(), self._attack_seed())
            self._trajectory = (key, states)
        return self._trajectory[1]

    def attack(self, model: nn.Module, original: nn.Module | None = None) -> dict[int, torch.Tensor]:
        """The partial-diffusion attack's images ``{k: images}`` for ``k = 0..T``."""
        original = original if original is not None else self.original()
        return partial_diffusion(
            original, model, self.sampler, self._attack_labels(), self._attack_seed(),
            original_states=self.original_states(original),
        )

    def _detect(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The detector's class probabilities and penultimate features of ``images``."""
        detector = self.detector()
        with torch.no_grad():
            probabilities = torch.softmax(predict_logits(detector, images.float()), dim=1)
            return probabilities, detector.embed(images.float())

    def attack_curves(self, model: nn.Module, original: nn.Module | None = None, *, compat: str | None = None) -> dict[str, np.ndarray]:
        """``{"psi", "ccs", "crs"}`` of the partial-diffusion attack on ``model``."""
        images = self.attack(model, original)
        total = self.sampler.steps
        features = {k: self._detect(images[k]) for k in images}
        ccs = np.array([concept_confidence(features[k][0], self.concept) for k in range(total + 1)])
        crs = np.array([
            concept_retrieval(features[k][1], features[total][1], features[0][1], compat=compat or self.crs_compat)
            for k in range(total + 1)
        ])
        binary = self._binary_ccs(model, original if original is not None else self.original(), features)
        return {"psi": self.psi_grid, "ccs": ccs, "crs": crs, "ccs_binary": binary,
                "forget_predictions": features[0][0].argmax(dim=1)}

    def _binary_ccs(self, model: nn.Module, original: nn.Module, features: dict) -> np.ndarray:
        """The paper's binary variant of CCS: a logistic regression on detector features, fitted
        to tell the original's images of the concept (1) from the model's own (0) on fresh
        noise, gives ``P(original | a_i(psi))`` averaged over the attack's images. 0.5 at every
        ``psi`` when the two models draw alike (nothing to tell apart)."""
        from sklearn.linear_model import LogisticRegression

        labels = self._attack_labels()
        seed = self._attack_seed() + 2
        positives = self._detect(self.sampler.generate(original, labels, seed))[1].numpy()
        negatives = self._detect(self.sampler.generate(model, labels, seed))[1].numpy()
        x = np.concatenate([positives, negatives])
        y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
        classifier = LogisticRegression(max_iter=1000).fit(x, y)
        return np.array([float(classifier.predict_proba(features[k][1].numpy())[:, 1].mean()) for k in sorted(features)])

    def _gold_ccs(self, gold: nn.Module, original: nn.Module) -> np.ndarray:
        key = state_sha256(gold) + state_sha256(original)
        if self._gold_curve is None or self._gold_curve[0] != key:
            self._gold_curve = (key, self.attack_curves(gold, original)["ccs"])
        return self._gold_curve[1]

    def generate_retained(self, model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """``samples_per_class`` images per retained class and their prompts."""
        classes = [c for c in range(NUM_CLASSES) if c != self.concept]
        labels = torch.tensor(classes, dtype=torch.long).repeat_interleave(int(self.samples_per_class))
        return self.sampler.generate(model, labels, self._attack_seed() + 1), labels

    def audit(self, model: nn.Module, *, original: nn.Module | None = None, gold: nn.Module | None = None,
              compat: str | None = None) -> dict[str, float]:
        """Audit ``model`` (see the module docstring); ``compat`` overrides ``crs_compat``.

        ``concealment`` needs ``gold``; without it it is NaN and :attr:`audit_notes` says why.
        """
        notes: dict[str, str] = {}
        original = original if original is not None else self.original()
        retained, labels = self.generate_retained(model)
        probabilities, features = self._detect(retained)
        test_mask = self.data.y_test != self.concept
        real_features = self._detect(torch.from_numpy(self.data.x_test[test_mask]))[1]
        curves = self.attack_curves(model, original, compat=compat)
        psi = curves["psi"]
        metrics = {
            "forget_rate": float((curves["forget_predictions"] == self.concept).float().mean()),
            "retain_accuracy": float((probabilities.argmax(dim=1) == labels).float().mean()),
            "kid": kid(features.numpy(), real_features.numpy(), seed=self.seed),
            "ccs": curve_mean(psi, curves["ccs"]),
            "ccs_binary": curve_mean(psi, curves["ccs_binary"]),
            "crs": curve_mean(psi, curves["crs"]),
            "psi_star": psi_star(psi, curves["ccs"]),
        }
        if math.isnan(metrics["psi_star"]):
            notes["psi_star"] = "not applicable: the concept detector's probability never exceeds 0.5 on the grid"
        self.curves = {key: curves[key].tolist() for key in ("psi", "ccs", "crs", "ccs_binary")}
        if gold is not None:
            gold_ccs = self._gold_ccs(gold, original)
            metrics["concealment"] = concealment_score(psi, curves["ccs"], gold_ccs)
            self.curves["gold_ccs"] = gold_ccs.tolist()
        else:
            metrics["concealment"] = math.nan
            notes["concealment"] = "not applicable: the area to gold's CCS curve needs a gold model (pass gold=...)"
        self.audit_notes = notes
        return metrics


def bench_spec():
    """Bench/demo description of the diffusion task (see :mod:`obliviate.bench.tasks`)."""
    from obliviate.bench.tasks import DemoConfig, TaskSpec

    def make_scenario(*, seed: int = 0, table: Any = None, **options: Any) -> DiffusionScenario:
        """``DiffusionScenario(seed=..., **options)``; a user's own image file is refused (not supported yet)."""
        if table is not None:
            raise InvalidRequestError(
                "the diffusion task trains and audits on the built-in 8x8 digits; a data file of your own "
                f"({table}) is not supported yet: leave out --data and give your model with --factory"
            )
        return DiffusionScenario(seed=seed, **options)

    methods = ("esd_x", "esd_u", "concept_ablation", "sdd", "salun")
    return TaskSpec(
        task="diffusion",
        make_scenario=make_scenario,
        metrics=("forget_rate", "retain_accuracy", "kid", "ccs", "crs", "concealment", "psi_star", "ccs_binary"),
        higher_is_better=frozenset({"retain_accuracy"}),
        demo=(DemoConfig("digits, forget concept 3", {"forget": "concept:3"}, methods),),
        default_options={"dataset": "digits", "forget": "concept:3"},
        quick_options={"steps": 300, "width": 64},
    )
