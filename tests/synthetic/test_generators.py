"""Generators: the user's columns, dtypes and labels come back; each does what its name says;
the VAE's training can be followed with TabSynDex."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from obliviate.core.errors import (
    InvalidParameterError,
    InvalidRequestError,
    MissingDependencyError,
    RegistryError,
)
from obliviate.data.tabular import load_builtin_table
from obliviate.synthetic.associations import association_matrix
from obliviate.synthetic.generators import (
    Generator,
    ctgan_available,
    generator_names,
    get_generator,
    make_generator,
    register_generator,
)
from obliviate.synthetic.tracking import TabSynDexTracker, plot_components, plot_training_curve

BUILT_IN = ("bootstrap", "independent", "gaussian_copula", "smote", "vae")


def _mixed(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, size=n)
    group = np.where(age > 50, "senior", rng.choice(["junior", "mid"], size=n))
    income = 1000.0 * age + rng.normal(0, 5000, size=n)
    label = (income > 45000).astype(int)
    region = rng.choice(["north", "south", None], size=n, p=[0.5, 0.4, 0.1])
    return pd.DataFrame({"age": age, "group": group, "income": income, "region": region, "label": label})


CATEGORICAL = ["group", "region", "label"]


def test_registry_lists_the_built_in_generators_and_refuses_silent_overwrite():
    assert set(BUILT_IN) <= set(generator_names())
    with pytest.raises(RegistryError, match="already registered"):
        register_generator("smote")(type("Other", (Generator,), {}))
    with pytest.raises(RegistryError, match="unknown generator"):
        get_generator("nope")


@pytest.mark.parametrize("name", BUILT_IN)
def test_samples_have_the_real_columns_dtypes_and_labels_and_are_seeded(name):
    real = _mixed()
    params = {"seed": 3, **({"epochs": 3} if name == "vae" else {})}
    generator = make_generator(name, **params).fit(real, categorical=CATEGORICAL, target="label")
    sample = generator.sample(150)
    assert list(sample.columns) == list(real.columns) and len(sample) == 150
    assert sample["age"].dtype == real["age"].dtype  # integers stay integers
    assert set(sample["group"]) <= set(real["group"])
    assert set(sample["label"]) <= {0, 1} and sample["label"].dtype == real["label"].dtype
    assert set(sample["region"].dropna()) <= {"north", "south"}
    pd.testing.assert_frame_equal(sample, generator.sample(150))  # same seed, same rows
    again = make_generator(name, **params).fit(real, categorical=CATEGORICAL, target="label").sample(150)
    pd.testing.assert_frame_equal(sample, again)


def test_bootstrap_copies_real_rows():
    real = _mixed()
    sample = make_generator("bootstrap").fit(real, categorical=CATEGORICAL).sample(100)
    real_rows = set(map(tuple, real.fillna("NA").astype(str).to_numpy()))
    assert all(tuple(row) in real_rows for row in sample.fillna("NA").astype(str).to_numpy())


def test_independent_keeps_marginals_and_loses_associations_while_the_copula_keeps_them():
    data = load_builtin_table("breast_cancer")
    real = data.frame
    correlated = ("mean radius", "mean perimeter")
    real_r = association_matrix(real, data.categorical).loc[correlated]
    independent = make_generator("independent", seed=0).fit(real, categorical=data.categorical).sample(2000)
    copula = make_generator("gaussian_copula", seed=0).fit(real, categorical=data.categorical).sample(2000)
    assert real_r > 0.99
    assert abs(association_matrix(independent, data.categorical).loc[correlated]) < 0.1
    assert association_matrix(copula, data.categorical).loc[correlated] > 0.95
    for column in correlated:  # the marginals are the real ones (medians within 3%)
        for sample in (independent, copula):
            assert sample[column].median() == pytest.approx(real[column].median(), rel=0.03)


def test_smote_interpolates_within_the_real_range_and_within_a_class():
    real = _mixed()
    sample = make_generator("smote", seed=1).fit(real, categorical=CATEGORICAL, target="label").sample(500)
    assert real["income"].min() <= sample["income"].min() and sample["income"].max() <= real["income"].max()
    # Neighbours come from the same class, so the class keeps its income range.
    for label in (0, 1):
        chosen = sample[sample.label == label]["income"]
        real_chosen = real[real.label == label]["income"]
        assert real_chosen.min() <= chosen.min() and chosen.max() <= real_chosen.max()


def test_bad_hyper_parameters_and_unfitted_use_get_typed_errors():
    with pytest.raises(InvalidParameterError, match="k_neighbors"):
        make_generator("smote", k_neighbors=0).fit(_mixed(), categorical=CATEGORICAL)
    with pytest.raises(InvalidRequestError, match="not fitted"):
        make_generator("independent").sample(5)
    with pytest.raises(InvalidRequestError, match="list it in categorical"):
        make_generator("independent").fit(_mixed())
    with pytest.raises(InvalidParameterError, match="positive int"):
        make_generator("independent").fit(_mixed(), categorical=CATEGORICAL).sample(0)


@pytest.mark.skipif(ctgan_available(), reason="ctgan is installed: the missing-extra path cannot be tested")
def test_ctgan_without_the_extra_names_the_extra_to_install():
    with pytest.raises(MissingDependencyError, match=r"obliviate\[synthetic\]"):
        get_generator("ctgan")


@pytest.mark.skipif(not ctgan_available(), reason="the optional ctgan package is not installed")
def test_ctgan_and_tvae_wrappers_give_the_real_columns():
    real = _mixed(200)
    for name in ("ctgan", "tvae"):
        sample = make_generator(name, epochs=1, batch_size=50).fit(real, categorical=CATEGORICAL).sample(60)
        assert list(sample.columns) == list(real.columns)
        assert set(sample["group"]) <= set(real["group"])


def test_tracker_follows_the_vae_training_and_the_curve_is_plotted(tmp_path):
    data = load_builtin_table("wine")
    tracker = TabSynDexTracker(data.frame, categorical=data.categorical, target=data.target, every=4, n_jobs=1)
    make_generator("vae", epochs=12, seed=0).fit(data.frame, categorical=data.categorical, callback=tracker)
    assert [row["epoch"] for row in tracker.history] == [4, 8, 12]
    assert all(0 <= row["score"] <= 1 for row in tracker.history)
    # The first scored epoch is the worst: the score rises with training.
    assert tracker.history[-1]["score"] > tracker.history[0]["score"]
    path = plot_training_curve(tracker.history, tmp_path / "curve.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bars = plot_components({"a": tracker.history[0], "b": tracker.history[-1]}, tmp_path / "bars.png")
    assert bars.stat().st_size > 1000
    with pytest.raises(InvalidParameterError):
        plot_training_curve([], tmp_path / "empty.png")
    with pytest.raises(InvalidParameterError):
        TabSynDexTracker(data.frame, every=0)
