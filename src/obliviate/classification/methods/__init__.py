"""Classification unlearning methods; importing this package registers them all."""

from obliviate.classification.methods import (  # noqa: F401
    bad_teacher,
    finetune,
    neggrad,
    random_label,
    retrain,
    scrub,
    ssd,
    unsir,
)
