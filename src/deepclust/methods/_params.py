"""Declared parameter constraints for estimators, in scikit-learn's style.

An estimator lists ``_parameter_constraints = {"epochs": [Interval(Integral, 1, None, closed="left")], ...}``
and its ``fit`` calls ``self._validate_params()`` (from :class:`sklearn.base.BaseEstimator`),
which raises an ``InvalidParameterError`` (a ``ValueError``) naming the parameter, the
estimator, what was expected and what was given. The constraint types are scikit-learn's
(private module, public since 1.2 in practice: imbalanced-learn and others build on it); they
are imported here only, so that a move in scikit-learn is mended in one place.
"""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, Options, StrOptions, validate_parameter_constraints

__all__ = ["Integral", "Interval", "Options", "Real", "StrOptions", "validate_parameter_constraints", "POSITIVE_INT", "POSITIVE_REAL"]

POSITIVE_INT = [Interval(Integral, 1, None, closed="left")]
POSITIVE_REAL = [Interval(Real, 0, None, closed="neither")]
