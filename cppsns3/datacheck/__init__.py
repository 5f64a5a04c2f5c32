"""Data validation by feature values (Eq. 5-8 of Yang et al. 2018).

Instead of comparing data bit by bit, a node forecasts each received value
from trusted history and accepts it when the relative deviation
``|Delta| = |(V_forecast - V_realtime) / V_forecast|`` is within a tolerance.

- :mod:`~cppsns3.datacheck.factors`: candidate factors, Pearson h (Eq. 5), selection
- :mod:`~cppsns3.datacheck.forecast`: SVR (RBF) per quantity, time-series CV (Eq. 6-7)
- :mod:`~cppsns3.datacheck.check`: the Eq. 8 check of a block (:func:`check_block`)
- :mod:`~cppsns3.datacheck.attacks`: bias, scale, replay, noise injection
- :mod:`~cppsns3.datacheck.evaluate`: detection / false-alarm rates, timing

Typical use by a node::

    from cppsns3.datacheck import train_model, check_block
    model = train_model(history_frame, grid="case14", seed=0)   # once
    failed_ids = check_block(data_block, model)                 # per received block
"""

from cppsns3.datacheck.attacks import ATTACKS, block_mask, inject
from cppsns3.datacheck.check import CheckResult, check_block, check_records, relative_delta
from cppsns3.datacheck.factors import DEFAULT_THRESHOLD, FactorConfig, pearson_h, select_factors
from cppsns3.datacheck.forecast import (
    DEFAULT_TOLERANCE,
    FeatureModel,
    History,
    train_model,
)

__all__ = [
    "ATTACKS",
    "DEFAULT_THRESHOLD",
    "DEFAULT_TOLERANCE",
    "CheckResult",
    "FactorConfig",
    "FeatureModel",
    "History",
    "block_mask",
    "check_block",
    "check_records",
    "inject",
    "pearson_h",
    "relative_delta",
    "select_factors",
    "train_model",
]
