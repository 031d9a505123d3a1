"""Grasp networks, datasets, training and evaluation, model registry and shipped weights."""
