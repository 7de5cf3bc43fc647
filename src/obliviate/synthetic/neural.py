"""``vae``: a small variational autoencoder for tables, trained epoch by epoch so TabSynDex can follow it.

Numeric columns are mapped to standard normal scores by their empirical quantiles; categorical
columns are one-hot. The encoder gives ``q(z | x) = N(mu(x), diag sigma^2(x))``; the decoder
gives, per numeric column, a Gaussian mean with a learned per-column scale, and per categorical
column the logits of a categorical distribution. Training minimises the negative evidence lower
bound (Kingma & Welling, 2014) per row::

    sum_numeric [ (x - m(z))^2 / (2 s^2) + log s ] + sum_categorical CE(logits(z), x) + KL(q(z|x) || N(0, I))

with one reparameterised draw of ``z``. Sampling draws ``z ~ N(0, I)``, a value around each
numeric mean with its scale, and each category from its softmax; numeric scores go back
through the quantile map. Training uses :func:`obliviate.core.training.fit` one epoch at a
time, calling ``callback(epoch, generator)`` after each.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.core.params import Interval
from obliviate.core.training import fit as train_epochs
from obliviate.core.training import make_optimizer
from obliviate.synthetic.generators import Generator, register_generator


class TabularVAE(nn.Module):
    """Encoder and decoder MLPs of the ``vae`` generator."""

    def __init__(self, n_numeric: int, levels: list[int], *, hidden: int, latent: int):
        super().__init__()
        self.n_numeric = n_numeric
        self.levels = list(levels)
        width = n_numeric + sum(levels)
        self.encoder = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.to_mean = nn.Linear(hidden, latent)
        self.to_log_var = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, width)
        )
        self.log_scale = nn.Parameter(torch.full((n_numeric,), -1.0))
        self.latent = latent

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.encoder(x)
        mean, log_var = self.to_mean(hidden), self.to_log_var(hidden).clamp(-8, 8)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        return self.decoder(z), mean, log_var

    def loss(self, batch: tuple) -> torch.Tensor:
        """Negative ELBO per row (formula in the module docstring)."""
        x, codes = batch
        out, mean, log_var = self(x)
        loss = torch.zeros((), dtype=x.dtype)
        if self.n_numeric:
            scale = torch.exp(self.log_scale)
            residual = (x[:, : self.n_numeric] - out[:, : self.n_numeric]) / scale
            loss = loss + (0.5 * residual**2 + self.log_scale).sum(dim=1).mean()
        start = self.n_numeric
        for j, levels in enumerate(self.levels):
            loss = loss + nn.functional.cross_entropy(out[:, start : start + levels], codes[:, j])
            start += levels
        kl = -0.5 * torch.sum(1 + log_var - mean**2 - torch.exp(log_var), dim=1).mean()
        return loss + kl


@register_generator("vae")
class VAEGenerator(Generator):
    """A small tabular VAE trained with the toolkit's loop (formulas in the module docstring)."""

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "seed": [Interval(int, 0, None)],
        "epochs": [Interval(int, 1, None)],
        "hidden": [Interval(int, 4, None)],
        "latent": [Interval(int, 1, None)],
        "lr": [Interval(float, 0.0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
    }

    def __init__(
        self, *, seed: int = 0, epochs: int = 30, hidden: int = 64, latent: int = 8, lr: float = 2e-3, batch_size: int = 256
    ):
        self.seed = seed
        self.epochs = epochs
        self.hidden = hidden
        self.latent = latent
        self.lr = lr
        self.batch_size = batch_size

    def _fit(self, numeric, codes, frame, callback) -> None:
        from sklearn.preprocessing import QuantileTransformer

        torch.manual_seed(self.seed)
        n = len(numeric)
        self.levels_ = [len(self.codec_.categories[c]) for c in self.codec_.categorical]
        if numeric.shape[1]:
            self.quantiles_ = QuantileTransformer(
                n_quantiles=min(1000, n), output_distribution="normal", random_state=self.seed
            ).fit(numeric)
            scores = self.quantiles_.transform(numeric)
        else:
            self.quantiles_ = None
            scores = np.zeros((n, 0))
        blocks = [scores]
        for j, levels in enumerate(self.levels_):
            onehot = np.zeros((n, levels))
            onehot[np.arange(n), codes[:, j]] = 1.0
            blocks.append(onehot)
        x = torch.as_tensor(np.hstack(blocks), dtype=torch.float32)
        data = TensorDataset(x, torch.as_tensor(codes, dtype=torch.long))
        self.model_ = TabularVAE(numeric.shape[1], self.levels_, hidden=self.hidden, latent=self.latent)
        optimizer = make_optimizer(self.model_.parameters(), "adam", lr=self.lr)
        # Small tables still get about 8 optimizer steps per epoch.
        batch_size = max(16, min(self.batch_size, n // 8))
        self.history_: list[float] = []
        for epoch in range(self.epochs):
            record = train_epochs(
                self.model_,
                data,
                loss_fn=lambda model, batch: model.loss(batch),
                epochs=1,
                batch_size=batch_size,
                optimizer=optimizer,
                seed=self.seed * 1000 + epoch,
            )
            self.history_.append(record["epoch_losses"][-1])
            if callback is not None:
                callback(epoch + 1, self)

    @torch.no_grad()
    def _sample(self, n, rng):
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**31 - 1)))
        self.model_.eval()
        z = torch.randn((n, self.model_.latent), generator=generator)
        out = self.model_.decoder(z)
        p = self.model_.n_numeric
        if p:
            scale = torch.exp(self.model_.log_scale)
            scores = out[:, :p] + scale * torch.randn((n, p), generator=generator)
            numeric = self.quantiles_.inverse_transform(scores.numpy().astype(np.float64))
        else:
            numeric = np.zeros((n, 0))
        codes = np.zeros((n, len(self.levels_)), dtype=np.int64)
        start = p
        for j, levels in enumerate(self.levels_):
            probabilities = torch.softmax(out[:, start : start + levels], dim=1)
            codes[:, j] = torch.multinomial(probabilities, 1, generator=generator).squeeze(1).numpy()
            start += levels
        return numeric, codes
