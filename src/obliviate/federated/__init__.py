"""Federated unlearning: forget a client of a federation trained with FedAvg on Flower.

``FederatedScenario`` builds the federation (non-IID client shards, optional backdoor),
trains the original and gold global models through Flower's simulation engine and
records each client's contribution; the methods in :mod:`obliviate.federated.methods`
(``retrain``, ``finetune``, ``neggrad``, ``pga``, ``federaser``, ``conda``) forget one or
several clients. Flower (``obliviate[federated]``) is imported only when a federation runs.
"""

from obliviate.federated.data import Backdoor
from obliviate.federated.scenario import FederatedScenario

__all__ = ["Backdoor", "FederatedScenario"]
