"""initlab: replication pipeline for four papers on deep networks at initialization.

Layers, imports in one direction only:
    theory  - pure numpy/scipy formulas, quadrature, series, exact combinatorics
    nn      - torch parameterised layers, inits, models, batched network simulations
    train   - the batched training engine and metrics
    data    - download, verify, load
    plot    - one figure style
    config, jobs - scale presets and the rule/script contract (provenance, atomic outputs)
"""

__version__ = "0.1.0"
