"""Functional dropout only."""

import numpy as np


def dropout(x, p, rng):
    keep = 1.0 - p
    return x * (rng.random(x.shape) < keep) / np.sqrt(keep)
