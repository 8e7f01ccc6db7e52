"""Explaining the rule on the user's own network: gradient checks (more to come)."""

from anyprop.explain.check import CheckReport, ParameterCheck, check_gradients, float64_copy

__all__ = ["CheckReport", "ParameterCheck", "check_gradients", "float64_copy"]
