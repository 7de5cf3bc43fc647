"""Contracts shared by every task: registry, unlearner base, errors, training, checkpoints."""
