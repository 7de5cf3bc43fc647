"""Audit: metrics that compare an unlearned model with the original and the gold model.

Membership inference (:mod:`~obliviate.audit.mia`), output divergences
(:mod:`~obliviate.audit.divergence`), relearn time (:mod:`~obliviate.audit.relearn`),
gaps to gold (:mod:`~obliviate.audit.gaps`) and deletion certificates
(:mod:`~obliviate.audit.certificate`).
"""

from __future__ import annotations

from obliviate.audit.backdoor import backdoor_success
from obliviate.audit.certificate import (
    forget_ids_sha256,
    make_certificate,
    read_certificate,
    verify_certificate,
    write_certificate,
)
from obliviate.audit.divergence import activation_distance, js_divergence, kl_divergence, zrf_score
from obliviate.audit.gaps import gap_to_gold, gaps_to_gold
from obliviate.audit.mia import (
    cross_entropy_per_example,
    entropy,
    entropy_svc_mia,
    loss_mia_auc,
    matched_nonmembers,
    membership_auc,
    sorted_softmax_mia,
)
from obliviate.audit.relearn import relearn_steps

__all__ = [
    "backdoor_success",
    "sorted_softmax_mia",
    "activation_distance",
    "cross_entropy_per_example",
    "entropy",
    "entropy_svc_mia",
    "forget_ids_sha256",
    "gap_to_gold",
    "gaps_to_gold",
    "js_divergence",
    "kl_divergence",
    "loss_mia_auc",
    "matched_nonmembers",
    "membership_auc",
    "make_certificate",
    "read_certificate",
    "relearn_steps",
    "verify_certificate",
    "write_certificate",
    "zrf_score",
]
