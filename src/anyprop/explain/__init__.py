"""Explaining the rule on the user's own network: one weight's update, and gradient checks."""

from anyprop.explain.check import CheckReport, ParameterCheck, check_gradients, float64_copy
from anyprop.explain.diagram import draw_network, draw_units
from anyprop.explain.explanation import Delta, Explanation, Term
from anyprop.explain.flow import flow_warnings, group_figures, network_warnings, plot_flow
from anyprop.explain.html import write_report
from anyprop.explain.names import parse_target, parse_weight
from anyprop.explain.time_flow import deltas_through_time
from anyprop.explain.weight import explain_step, explain_weight

__all__ = [
    "CheckReport",
    "Delta",
    "Explanation",
    "ParameterCheck",
    "Term",
    "check_gradients",
    "deltas_through_time",
    "draw_network",
    "draw_units",
    "explain_step",
    "explain_weight",
    "float64_copy",
    "flow_warnings",
    "group_figures",
    "network_warnings",
    "parse_target",
    "parse_weight",
    "plot_flow",
    "write_report",
]
