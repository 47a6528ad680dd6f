"""Torch: parameterised layers, initialisations, models and batched network simulations."""
