"""Generators of synthetic tables, to be scored with TabSynDex.

Every generator has keyword-only hyper-parameters (validated against a declared constraints
table), ``fit(frame, categorical=..., target=...)`` and ``sample(n) -> DataFrame`` with the
real table's columns, dtypes and category labels. Built in, CPU-fast:

* ``bootstrap``: rows drawn with replacement from the real table. Not a generator one would
  publish (it copies records); it is the upper reference of every fidelity score.
* ``independent``: each column drawn on its own from its empirical marginal distribution. It
  keeps every marginal and destroys every association: a lower reference for ``corr_score``.
* ``gaussian_copula``: the marginals of ``independent`` tied by a Gaussian copula. Numeric
  values become normal scores ``z = Phi^-1(F_n(x))`` (``F_n`` the empirical CDF with mid-ranks,
  ``n + 1`` in the denominator); a categorical value becomes a point drawn uniformly in its
  category's interval of [0, 1] (categories ordered by frequency, interval width = frequency),
  then ``Phi^-1`` of it. Sampling draws ``z ~ N(0, C)`` with ``C`` the correlation matrix of the
  scores, and maps back through the empirical quantile function (linear interpolation) or the
  category intervals (Patki, Wedge, Veeramachaneni, "The Synthetic Data Vault", DSAA 2016).
* ``smote``: interpolation between a real row and one of its ``k`` nearest neighbours of the
  same target class (Chawla et al., "SMOTE", JAIR 2002): numeric ``x + lambda (x_nn - x)`` with
  ``lambda ~ U(0, 1)``; a categorical value is taken from the nearer of the two parents.
  Neighbours are searched among standardised numeric and one-hot categorical features,
  projected on their first principal components when there are many.
* ``vae`` (in :mod:`obliviate.synthetic.neural`): a small variational autoencoder in torch whose
  training TabSynDex can follow epoch by epoch.

With the ``ctgan`` package installed (``pip install 'obliviate[synthetic]'``), ``ctgan`` and
``tvae`` wrap its CTGAN and TVAE (Xu et al., NeurIPS 2019).
"""

from __future__ import annotations

import importlib.util
from typing import Any, Callable, ClassVar, Sequence, TypeVar

import numpy as np
import pandas as pd
from scipy import stats

from obliviate.core.errors import InvalidParameterError, InvalidRequestError, RegistryError
from obliviate.core.params import Interval, validate_params
from obliviate.core.seeding import numpy_rng
from obliviate.synthetic._table import TableCodec, as_frame

_GENERATORS: dict[str, type[Generator]] = {}

G = TypeVar("G", bound=type)


def register_generator(name: str, *, force: bool = False) -> Callable[[G], G]:
    """Class decorator registering a generator under ``name`` (refuses to overwrite unless ``force``)."""

    def decorator(cls: G) -> G:
        if name in _GENERATORS and _GENERATORS[name] is not cls and not force:
            raise RegistryError(
                f"generator '{name}' is already registered (by {_GENERATORS[name].__qualname__}); "
                "pick another name or pass force=True"
            )
        cls.name = name
        _GENERATORS[name] = cls
        return cls

    return decorator


def ctgan_available() -> bool:
    """Whether the optional ``ctgan`` package can be imported."""
    return importlib.util.find_spec("ctgan") is not None


def _ensure_loaded() -> None:
    import obliviate.synthetic.neural  # noqa: F401  (registers ``vae``)


def generator_names(*, available_only: bool = True) -> list[str]:
    """Registered generator names; with ``available_only``, those whose dependencies are installed."""
    _ensure_loaded()
    names = list(_GENERATORS)
    if available_only:
        names = [n for n in names if _GENERATORS[n].available()]
    return names


def get_generator(name: str) -> type[Generator]:
    """The generator class registered under ``name``.

    Raises:
        RegistryError: unknown name.
        MissingDependencyError: the generator needs an extra that is not installed.
    """
    _ensure_loaded()
    if name not in _GENERATORS:
        raise RegistryError(f"unknown generator {name!r}; choose one of: {', '.join(_GENERATORS)}")
    cls = _GENERATORS[name]
    if not cls.available():
        from obliviate.core.errors import require_extra

        require_extra("ctgan", "synthetic")
    return cls


def make_generator(name: str, **params: Any) -> Generator:
    """An instance of the generator ``name`` with the given hyper-parameters."""
    return get_generator(name)(**params)


class Generator:
    """Base class: keyword-only hyper-parameters, ``fit`` then ``sample``.

    Subclasses set ``_parameter_constraints`` and implement ``_fit`` and ``_sample`` on the
    encoded table (numeric matrix, code matrix); decoding to the user's values is done here.
    """

    name: ClassVar[str] = "generator"
    _parameter_constraints: ClassVar[dict[str, list]] = {"seed": [Interval(int, 0, None)]}

    def __init__(self, *, seed: int = 0):
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters, as given."""
        return {key: getattr(self, key) for key in self._parameter_constraints}

    @classmethod
    def available(cls) -> bool:
        """Whether the generator's dependencies are installed."""
        return True

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        categorical: Sequence[str] = (),
        target: str | None = None,
        callback: Callable[[int, Generator], None] | None = None,
    ) -> Generator:
        """Learn the real table.

        Args:
            frame: the real table.
            categorical: its categorical columns.
            target: the column to predict (``smote`` interpolates within its classes).
            callback: ``callback(epoch, generator)`` after each training epoch (generators that
                train by epochs; others call it once, with epoch 0).

        Raises:
            InvalidParameterError, InvalidRequestError: bad hyper-parameters or table.
        """
        validate_params(self._parameter_constraints, self.get_params(), f"generator '{self.name}'")
        frame = as_frame(frame, "the real table")
        if len(frame) < 2:
            raise InvalidRequestError(f"generator '{self.name}' needs at least 2 rows; got {len(frame)}")
        if isinstance(categorical, str):
            categorical = [c for c in categorical.split(",") if c]
        self.codec_ = TableCodec.from_frames(frame, categorical)
        if target is not None and target not in self.codec_.columns:
            raise InvalidRequestError(f"target {target!r} is not a column of the table")
        self.target_ = target
        self.n_rows_ = len(frame)
        self._fit(self.codec_.numeric_matrix(frame), self.codec_.code_matrix(frame), frame, callback)
        return self

    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows with the real table's columns (``seed`` overrides the generator's)."""
        if not hasattr(self, "codec_"):
            raise InvalidRequestError(f"generator '{self.name}' is not fitted; call fit(frame) first")
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise InvalidParameterError(f"generator '{self.name}': n must be a positive int; got {n!r}")
        rng = numpy_rng(self.seed + 1 if seed is None else seed)
        numeric, codes = self._sample(int(n), rng)
        return self.codec_.decode(numeric, codes)

    def _fit(self, numeric: np.ndarray, codes: np.ndarray, frame: pd.DataFrame, callback) -> None:
        raise NotImplementedError

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


@register_generator("bootstrap")
class Bootstrap(Generator):
    """Rows drawn with replacement from the real table (an upper reference, not a private generator)."""

    def _fit(self, numeric, codes, frame, callback) -> None:
        self.numeric_, self.codes_ = numeric, codes
        if callback is not None:
            callback(0, self)

    def _sample(self, n, rng):
        rows = rng.integers(0, len(self.numeric_), size=n)
        return self.numeric_[rows], self.codes_[rows]


@register_generator("independent")
class IndependentMarginals(Generator):
    """Every column drawn on its own from its empirical marginal (no associations)."""

    def _fit(self, numeric, codes, frame, callback) -> None:
        self.numeric_, self.codes_ = numeric, codes
        if callback is not None:
            callback(0, self)

    def _sample(self, n, rng):
        rows = len(self.numeric_)
        numeric = np.column_stack(
            [self.numeric_[rng.integers(0, rows, size=n), j] for j in range(self.numeric_.shape[1])]
        ) if self.numeric_.shape[1] else np.zeros((n, 0))
        codes = np.column_stack(
            [self.codes_[rng.integers(0, rows, size=n), j] for j in range(self.codes_.shape[1])]
        ) if self.codes_.shape[1] else np.zeros((n, 0), dtype=np.int64)
        return numeric, codes


@register_generator("gaussian_copula")
class GaussianCopula(Generator):
    """Empirical marginals joined by a Gaussian copula (formulas in the module docstring)."""

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "seed": [Interval(int, 0, None)],
        "shrinkage": [Interval(float, 0.0, 1.0, closed="left")],
    }

    def __init__(self, *, seed: int = 0, shrinkage: float = 1e-3):
        self.seed = seed
        self.shrinkage = shrinkage

    def _fit(self, numeric, codes, frame, callback) -> None:
        rng = numpy_rng(self.seed)
        n = len(numeric)
        scores = []
        self.sorted_ = [np.sort(numeric[:, j]) for j in range(numeric.shape[1])]
        for j in range(numeric.shape[1]):
            ranks = stats.rankdata(numeric[:, j])
            scores.append(stats.norm.ppf(ranks / (n + 1)))
        self.intervals_ = []
        for j in range(codes.shape[1]):
            levels = int(codes[:, j].max()) + 1
            counts = np.bincount(codes[:, j], minlength=levels).astype(float)
            order = np.argsort(-counts, kind="stable")
            widths = counts[order] / n
            upper = np.cumsum(widths)
            lower = upper - widths
            start = np.empty(levels)
            width = np.empty(levels)
            start[order], width[order] = lower, widths
            u = start[codes[:, j]] + width[codes[:, j]] * rng.uniform(0.02, 0.98, size=n)
            scores.append(stats.norm.ppf(u))
            self.intervals_.append((order, upper))
        matrix = np.column_stack(scores) if scores else np.zeros((n, 0))
        correlation = np.corrcoef(matrix, rowvar=False) if matrix.shape[1] > 1 else np.ones((1, 1))
        correlation = np.where(np.isfinite(correlation), correlation, 0.0)
        np.fill_diagonal(correlation, 1.0)
        size = correlation.shape[0]
        correlation = (1 - self.shrinkage) * correlation + self.shrinkage * np.eye(size)
        eigenvalues, eigenvectors = np.linalg.eigh(correlation)
        self.factor_ = eigenvectors * np.sqrt(np.clip(eigenvalues, 1e-9, None))
        if callback is not None:
            callback(0, self)

    def _sample(self, n, rng):
        z = rng.standard_normal((n, self.factor_.shape[0])) @ self.factor_.T
        u = stats.norm.cdf(z)
        p = len(self.sorted_)
        numeric = np.zeros((n, p))
        for j, values in enumerate(self.sorted_):
            positions = np.linspace(0.0, 1.0, len(values))
            numeric[:, j] = np.interp(u[:, j], positions, values)
        codes = np.zeros((n, len(self.intervals_)), dtype=np.int64)
        for j, (order, upper) in enumerate(self.intervals_):
            slot = np.minimum(np.searchsorted(upper, u[:, p + j], side="right"), len(order) - 1)
            codes[:, j] = order[slot]
        return numeric, codes


@register_generator("smote")
class Smote(Generator):
    """Interpolation between real neighbours of one target class (formulas in the module docstring)."""

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "seed": [Interval(int, 0, None)],
        "k_neighbors": [Interval(int, 1, None)],
        "max_dimensions": [Interval(int, 1, None)],
    }

    def __init__(self, *, seed: int = 0, k_neighbors: int = 5, max_dimensions: int = 12):
        self.seed = seed
        self.k_neighbors = k_neighbors
        self.max_dimensions = max_dimensions

    def _fit(self, numeric, codes, frame, callback) -> None:
        self.numeric_, self.codes_ = numeric, codes
        codec = self.codec_
        if self.target_ is not None and self.target_ in codec.categorical:
            self.groups_ = codes[:, codec.categorical.index(self.target_)]
        else:
            self.groups_ = np.zeros(len(numeric), dtype=np.int64)
        spread = numeric.std(axis=0) if numeric.shape[1] else np.zeros(0)
        blocks = [(numeric - numeric.mean(axis=0)) / np.where(spread > 0, spread, 1.0)]
        for j in range(codes.shape[1]):
            levels = int(codes[:, j].max()) + 1
            onehot = np.zeros((len(codes), levels))
            onehot[np.arange(len(codes)), codes[:, j]] = 1.0 / np.sqrt(2.0)
            blocks.append(onehot)
        features = np.hstack(blocks)
        if features.shape[1] > self.max_dimensions:
            from sklearn.decomposition import PCA

            features = PCA(n_components=self.max_dimensions, random_state=self.seed).fit_transform(features)
        self.features_ = features
        if callback is not None:
            callback(0, self)

    def _sample(self, n, rng):
        from sklearn.neighbors import NearestNeighbors

        base = rng.integers(0, len(self.numeric_), size=n)
        partner = base.copy()
        for group in np.unique(self.groups_[base]):
            members = np.nonzero(self.groups_ == group)[0]
            wanted = np.nonzero(self.groups_[base] == group)[0]
            if len(members) < 2:
                continue
            k = min(self.k_neighbors, len(members) - 1)
            index = NearestNeighbors(n_neighbors=k + 1).fit(self.features_[members])
            _, neighbours = index.kneighbors(self.features_[base[wanted]])
            pick = rng.integers(1, k + 1, size=len(wanted))
            partner[wanted] = members[neighbours[np.arange(len(wanted)), pick]]
        step = rng.uniform(0.0, 1.0, size=n)
        numeric = self.numeric_[base] + step[:, None] * (self.numeric_[partner] - self.numeric_[base])
        codes = np.where((step < 0.5)[:, None], self.codes_[base], self.codes_[partner])
        return numeric, codes


class _CtganWrapper(Generator):
    """Common part of the ``ctgan`` package's CTGAN and TVAE wrappers."""

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "seed": [Interval(int, 0, None)],
        "epochs": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 10, None)],
    }
    _class_name: ClassVar[str] = ""

    def __init__(self, *, seed: int = 0, epochs: int = 30, batch_size: int = 500):
        self.seed = seed
        self.epochs = epochs
        self.batch_size = batch_size

    @classmethod
    def available(cls) -> bool:
        return ctgan_available()

    def _fit(self, numeric, codes, frame, callback) -> None:
        import torch

        from obliviate.core.errors import require_extra

        module = require_extra("ctgan", "synthetic")
        torch.manual_seed(self.seed)
        np.random.seed(self.seed)
        batch_size = max(10, min(self.batch_size, (len(frame) // 10) * 10))
        model = getattr(module, self._class_name)(epochs=self.epochs, batch_size=batch_size)
        table = self.codec_.decode(numeric, codes)
        columns = list(self.codec_.categorical)
        table[columns] = table[columns].astype(str)
        model.fit(table, discrete_columns=columns)
        self.model_ = model
        if callback is not None:
            callback(self.epochs, self)

    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        if not hasattr(self, "model_"):
            raise InvalidRequestError(f"generator '{self.name}' is not fitted; call fit(frame) first")
        import torch

        torch.manual_seed(self.seed + 1 if seed is None else seed)
        table = self.model_.sample(int(n))
        codec = self.codec_
        labels = {c: {str(v): v for v in codec.categories[c]} for c in codec.categorical}
        for column in codec.categorical:
            table[column] = table[column].map(labels[column])
        numeric = table[codec.numeric].to_numpy(dtype=float) if codec.numeric else np.zeros((len(table), 0))
        return codec.decode(numeric, codec.code_matrix(table))


@register_generator("ctgan")
class Ctgan(_CtganWrapper):
    """CTGAN from the optional ``ctgan`` package (conditional GAN with mode-specific normalisation)."""

    _class_name = "CTGAN"


@register_generator("tvae")
class Tvae(_CtganWrapper):
    """TVAE from the optional ``ctgan`` package (variational autoencoder)."""

    _class_name = "TVAE"
