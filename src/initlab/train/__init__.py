"""The batched (seeds x models) training engine and its metrics."""

from initlab.train.engine import Data, StreamData, TrainResult, TrainSettings, evaluate, seed_generator, train
from initlab.train.optim import BatchedOptimizer, lr_factor

__all__ = ["Data", "StreamData", "TrainResult", "TrainSettings", "evaluate", "seed_generator", "train",
           "BatchedOptimizer", "lr_factor"]
