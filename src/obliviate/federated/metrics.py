"""Audit metrics of federated unlearning.

Backdoor success (:func:`obliviate.audit.backdoor.backdoor_success`) and the shadow-style
membership attack on sorted softmax vectors (:func:`obliviate.audit.mia.sorted_softmax_mia`)
live in :mod:`obliviate.audit`, shared by every task; they are re-exported here for the
federated scenario.
"""

from __future__ import annotations

from obliviate.audit.backdoor import backdoor_success
from obliviate.audit.mia import sorted_features, sorted_softmax_mia

__all__ = ["backdoor_success", "sorted_features", "sorted_softmax_mia"]
