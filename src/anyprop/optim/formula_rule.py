"""An update rule written as a formula, as the textbooks invite.

    rule = FormulaRule(net, "w - lr*g + 0.9*dw")                       # momentum, by hand
    rule = FormulaRule(net, "w - lr*sign(g)*sqrt(abs(g))")
    rule = FormulaRule(net, "w - lr*g/(sqrt(v) + 1e-8)", state={"v": "0.9*v + 0.1*g^2"})

The formula gives the new weight from: ``w`` the weight, ``g`` its gradient,
``dw`` the previous step (w(t) − w(t−1)), ``lr`` the learning rate, ``t`` the
step count (from 1), the named ``constants``, and the named ``state`` the rule
declares: each state variable starts at ``initial`` (0 by default) and is
updated by its own formula, in the order given, before the weight. Formulas are
parsed by the allow-list parser (never ``eval``) and applied to all weights at
once; the state is saved in checkpoints like any optimizer's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from anyprop.autodiff import Tensor, no_grad
from anyprop.nn.formula import Formula, FormulaError
from anyprop.optim.base import Line, Optimizer, OptimizerError, optimizer

RESERVED = ("w", "g", "dw", "lr", "t")


@optimizer("formula")
class FormulaRule(Optimizer):
    """w ← rule(w, g, dw, lr, t, constants, state), the rule given as a formula."""

    # (a formula may reduce over the weights, and names the weight that went wrong:
    # stacked runs of it go one at a time)
    elementwise = False

    def __init__(
        self,
        params: Any,
        rule: str,
        lr: float = 0.01,
        state: Mapping[str, str] | None = None,
        initial: Mapping[str, float] | None = None,
        constants: Mapping[str, float] | None = None,
        **options: Any,
    ) -> None:
        self.rule_text = rule
        for what, table in (("state", state), ("initial", initial), ("constants", constants)):
            if table is not None and not isinstance(table, Mapping):
                raise OptimizerError(f"the rule's {what} must be a dict by name, got {table!r:.60}")
        self.state_formulas = dict(state or {})
        self.initial = {k: float(v) for k, v in (initial or {}).items()}
        self.constants = {k: float(v) for k, v in (constants or {}).items()}
        clash = [k for k in [*self.state_formulas, *self.constants] if k in RESERVED]
        if clash:
            raise OptimizerError(
                f"'{clash[0]}' is a variable of every rule; name the state or constant otherwise"
            )
        names = (*RESERVED, *self.constants, *self.state_formulas)
        try:
            self.rule = Formula(rule, variables=names)
            self.updates = {k: Formula(v, variables=names) for k, v in self.state_formulas.items()}
        except FormulaError as e:
            raise OptimizerError(f"update rule: {e}") from None
        unknown = set(self.initial) - set(self.state_formulas)
        if unknown:
            raise OptimizerError(f"initial value for '{sorted(unknown)[0]}', which is not a state")
        self.state_names = ("dw", *self.state_formulas)
        super().__init__(params, lr=lr, **options)
        for s in self.state.values():
            for k, v in self.initial.items():
                s[k].fill(v)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "rule": self.rule_text,
            "state": self.state_formulas,
            "initial": self.initial,
            "constants": self.constants,
        }

    def explain(self, g, w, before, lr):
        def tensor(v: float) -> Tensor:
            return Tensor(np.array([v], dtype=np.float64))

        values = {"w": w, "g": g, "dw": before["dw"], "lr": lr, "t": float(self.steps)}
        values.update(self.constants)
        values.update({k: float(before[k]) for k in self.state_formulas})
        lines = [Line(k, "before the step", values[k]) for k in self.state_formulas]
        with no_grad():
            for k, f in self.updates.items():
                env = {n: tensor(v) if n not in ("lr", "t") else v for n, v in values.items()}
                values[k] = float(f(**env).data.reshape(-1)[0])
                lines.append(Line(k, self.state_formulas[k], values[k]))
            env = {n: tensor(v) if n not in ("lr", "t") else v for n, v in values.items()}
            new = float(self.rule(**env).data.reshape(-1)[0])
        shown = ", ".join(f"{k} = {v:.6g}" for k, v in values.items())
        lines.append(Line("w(t+1)", f"{self.rule_text}, with {shown}", new))
        lines.append(Line("Δw", "w(t+1) − w", new - w))
        return lines

    def update(self, name, w, g, lr, state):
        with no_grad():
            env: dict[str, Any] = {
                "w": Tensor(w),
                "g": Tensor(g),
                "dw": Tensor(state["dw"]),
                "lr": lr,
                "t": float(self.steps),
                **self.constants,
            }
            for k in self.state_formulas:
                env[k] = Tensor(state[k])
            for k, f in self.updates.items():
                new = f(**env).data
                state[k][...] = np.broadcast_to(new, w.shape)
                env[k] = Tensor(state[k])
            new_w = np.broadcast_to(self.rule(**env).data, w.shape)
        if not np.all(np.isfinite(new_w)):
            if name == "(all parameters)":  # the flat layout: the first that went wrong
                name = self.flat_name(int(np.flatnonzero(~np.isfinite(new_w.reshape(-1)))[0]))
            raise OptimizerError(
                f"update rule '{self.rule_text}' gave a non-finite value for '{name}' at step "
                f"{self.steps}"
            )
        state["dw"][...] = new_w - w
        w[...] = new_w
