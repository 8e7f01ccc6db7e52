"""Formula strings, parsed by an allow-list parser (never ``eval``) into anyprop ops.

A formula is arithmetic over named variables, numbers, the constants ``pi`` and
``e``, and the functions in :data:`FUNCTIONS`::

    x/(1+abs(x))        log(1+exp(x))        w - lr*sign(g)*sqrt(abs(g))

Operators: ``+ - * /``, powers ``^`` or ``**`` (right-associative, binding
tighter than unary minus: ``-x^2`` is ``-(x^2)``), parentheses. Comparisons and
attribute access do not exist. A mistake is a :class:`FormulaError` that gives
the column and points at it.

>>> f = Formula("x/(1+abs(x))")
>>> f(x=np.array([1.0, -3.0])).data
array([ 0.5 , -0.75])
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.autodiff import Tensor, ops
from anyprop.errors import AnypropError
from anyprop.registry import suggest


class FormulaError(AnypropError, ValueError):
    """A formula that cannot be parsed or uses a name it may not."""

    def __init__(self, text: str, column: int | None = None, problem: str | None = None) -> None:
        if column is None:  # the whole message (the error passed on with a place before it)
            super().__init__(text)
            self.text, self.column, self.problem = text, 1, text
            return
        self.text = text
        self.column = column  # 1-based
        self.problem = problem
        shown, at = text, column - 1
        if len(text) > 80:  # a long formula: the 80 characters around the column
            start = max(0, min(at - 40, len(text) - 80))
            shown, at = text[start : start + 80], at - start
            head = f"formula of {len(text)} characters"
        else:
            head = f"formula '{text}'"
        pointer = " " * at + "^"
        super().__init__(f"{head}: {problem} at column {column}\n    {shown}\n    {pointer}")


def _sign(x: Any) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    s = np.sign(x.data)
    return ops.mul(x, 0.0) + Tensor(s.astype(x.dtype))  # value sign(x), derivative 0


def _atanh(x: Any) -> Tensor:
    return 0.5 * ops.log((1 + x) / (1 - x))


#: name -> (number of arguments, implementation on tensors). Each is an anyprop
#: op or a composition of ops, so every formula is differentiable by the engine.
FUNCTIONS: dict[str, tuple[int, Callable[..., Tensor]]] = {
    "exp": (1, ops.exp),
    "log": (1, ops.log),
    "ln": (1, ops.log),
    "log1p": (1, ops.log1p),
    "expm1": (1, ops.expm1),
    "sqrt": (1, ops.sqrt),
    "abs": (1, ops.abs),
    "sign": (1, _sign),
    "tanh": (1, ops.tanh),
    "sigmoid": (1, ops.sigmoid),
    "softplus": (1, ops.softplus),
    "relu": (1, ops.relu),
    "erf": (1, ops.erf),
    "sin": (1, ops.sin),
    "cos": (1, ops.cos),
    "tan": (1, lambda x: ops.sin(x) / ops.cos(x)),
    "sinh": (1, lambda x: 0.5 * (ops.exp(x) - ops.exp(-x))),
    "cosh": (1, lambda x: 0.5 * (ops.exp(x) + ops.exp(-x))),
    "atanh": (1, _atanh),
    "square": (1, ops.square),
    "max": (2, ops.maximum),
    "min": (2, ops.minimum),
}

CONSTANTS = {"pi": math.pi, "e": math.e}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>\*\*|[-+*/^(),]))"
)


@dataclass(frozen=True)
class Node:
    """One node of a parsed formula: kind is num, var, call, neg or one of + - * / ^."""

    kind: str
    column: int
    value: Any = None  # the number, the variable's or function's name
    args: tuple[Node, ...] = ()


#: bounds on a formula, so that no text can exhaust the parser's (or SymPy's) recursion:
#: its parts (numbers, names, operators) and how deep its parentheses, calls, signs and
#: powers nest
MAX_PARTS = 400
MAX_DEPTH = 100
#: derivatives of at most this many operations are simplified (SymPy's simplify grows
#: exponentially with size: 0.3 s at 17 operations, 13 s at 32), and factored at most
SIMPLIFY_OPS = 20
FACTOR_OPS = 80


class _Parser:
    def __init__(self, text: str, variables: set[str] | None) -> None:
        self.text = text
        self.variables = variables
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:  # reported when the parser reaches it
                col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
                self.tokens.append(("bad", text[col - 1], col))
                break
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind), m.start(kind) + 1))
            pos = m.end()
            if len(self.tokens) > MAX_PARTS:
                raise FormulaError(text, 1, f"the formula is too long: more than {MAX_PARTS} parts")
        if not self.tokens or self.tokens[-1][0] != "bad":
            self.tokens.append(("end", "", len(text) + 1))
        self.i = 0
        self.depth = 0

    def deeper(self, col: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(self.text, col, f"the formula nests more than {MAX_DEPTH} deep here")

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        if tok[0] == "bad":
            raise FormulaError(self.text, tok[2], f"unexpected character '{tok[1]}'")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        kind, v, col = self.take()
        if v != value:
            found = "the end" if kind == "end" else f"'{v}'"
            raise FormulaError(self.text, col, f"expected '{value}', found {found}")

    def parse(self) -> Node:
        if self.tokens[0][0] == "end":
            raise FormulaError(self.text, 1, "the formula is empty")
        node = self.expr()
        kind, v, col = self.take()
        if kind != "end":
            raise FormulaError(self.text, col, f"unexpected '{v}'")
        return node

    def expr(self) -> Node:
        self.deeper(self.peek()[2])
        node = self.term()
        while self.peek()[1] in ("+", "-"):
            _, op, col = self.take()
            node = Node(op, col, args=(node, self.term()))
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek()[1] in ("*", "/"):
            _, op, col = self.take()
            node = Node(op, col, args=(node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.peek()[1] in ("-", "+"):
            _, op, col = self.take()
            self.deeper(col)
            inner = self.unary()
            self.depth -= 1
            return Node("neg", col, args=(inner,)) if op == "-" else inner
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.peek()[1] in ("^", "**"):
            _, _, col = self.take()
            self.deeper(col)
            exponent = self.unary()
            self.depth -= 1
            return Node("^", col, args=(base, exponent))
        return base

    def atom(self) -> Node:
        kind, v, col = self.take()
        if kind == "num":
            if not math.isfinite(float(v)):
                raise FormulaError(self.text, col, f"the number {v} is too large")
            return Node("num", col, float(v))
        if kind == "name":
            if self.peek()[1] == "(":
                return self.call(v, col)
            if v in CONSTANTS and (self.variables is None or v not in self.variables):
                return Node("num", col, CONSTANTS[v])
            if v in FUNCTIONS:
                raise FormulaError(self.text, col, f"function '{v}' needs its arguments in ( )")
            if self.variables is not None and v not in self.variables:
                allowed = ", ".join(sorted(self.variables)) or "none"
                raise FormulaError(self.text, col, f"unknown name '{v}' (variables: {allowed})")
            return Node("var", col, v)
        if v == "(":
            node = self.expr()
            self.expect(")")
            return node
        found = "the end of the formula" if kind == "end" else f"'{v}'"
        raise FormulaError(self.text, col, f"expected a number, a name or '(', found {found}")

    def call(self, fname: str, col: int) -> Node:
        if fname not in FUNCTIONS:
            hint = suggest(fname, FUNCTIONS)
            raise FormulaError(self.text, col, f"unknown function '{fname}'{hint}")
        self.expect("(")
        args = [self.expr()]
        while self.peek()[1] == ",":
            self.take()
            args.append(self.expr())
        self.expect(")")
        arity = FUNCTIONS[fname][0]
        if len(args) != arity:
            raise FormulaError(
                self.text, col, f"function '{fname}' takes {arity} argument(s), got {len(args)}"
            )
        return Node("call", col, fname, tuple(args))


def parse(text: str, variables: Iterable[str] | None = None) -> Node:
    """Parse ``text`` into a tree of :class:`Node`; names must be in ``variables``."""
    if not isinstance(text, str):
        raise AnypropError(f"a formula must be a string, got {type(text).__name__}")
    return _fold(_Parser(text, None if variables is None else set(variables)).parse(), text)


def _fold(node: Node, text: str) -> Node:
    """The tree with each operation on numbers alone computed once (3*2 is 6), in float64;
    a constant that is not a finite number (1/0, 9^9^9) is an error at its column."""
    if not node.args:
        return node
    args = tuple(_fold(a, text) for a in node.args)
    if not all(a.kind == "num" for a in args):
        return Node(node.kind, node.column, node.value, args)
    if node.kind == "call":  # a function of numbers alone, as the engine computes it
        with np.errstate(all="ignore"):
            out = FUNCTIONS[node.value][1](*[Tensor(np.float64(a.value)) for a in args])
        value = float(np.asarray(out.data if isinstance(out, Tensor) else out))
        if not math.isfinite(value):
            raise FormulaError(
                text, node.column, f"{node.value}() of these numbers is not a finite number"
            )
        return Node("num", node.column, value)
    try:
        if node.kind == "neg":
            value = -args[0].value
        else:
            a, b = args[0].value, args[1].value
            value = {"+": a + b, "-": a - b, "*": a * b}.get(node.kind)
            if node.kind == "/":
                value = a / b
            elif node.kind == "^":
                value = a**b
    except ZeroDivisionError:
        raise FormulaError(text, node.column, "a constant divided by zero") from None
    except OverflowError:
        raise FormulaError(text, node.column, "a constant too large for a number") from None
    if isinstance(value, complex) or not math.isfinite(value):
        raise FormulaError(text, node.column, f"a constant that is not a real number ({value})")
    return Node("num", node.column, float(value))


def _evaluate(node: Node, env: dict[str, Any]) -> Any:
    k = node.kind
    if k == "num":
        return node.value
    if k == "var":
        return env[node.value]
    if k == "neg":
        return ops.neg(_as_tensor(_evaluate(node.args[0], env), env))
    if k == "call":
        args = [_evaluate(a, env) for a in node.args]
        return FUNCTIONS[node.value][1](*[_as_tensor(a, env) for a in args])
    a, b = (_evaluate(x, env) for x in node.args)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "^": a**b}[k]
    if k == "+":
        return ops.add(a, b)
    if k == "-":
        return ops.sub(a, b)
    if k == "*":
        return ops.mul(a, b)
    if k == "/":
        return ops.div(a, b)
    return ops.pow(a, b) if isinstance(a, Tensor) else ops.pow(_as_tensor(a, env), b)


def _as_tensor(v: Any, env: dict[str, Any]) -> Any:
    if isinstance(v, Tensor):
        return v
    dtype = next((t.dtype for t in env.values() if isinstance(t, Tensor)), None)
    return Tensor(v, dtype=dtype)


def variables_of(node: Node) -> set[str]:
    """The variable names a parsed formula uses."""
    if node.kind == "var":
        return {node.value}
    out: set[str] = set()
    for a in node.args:
        out |= variables_of(a)
    return out


def to_text(node: Node) -> str:
    """The formula written back as text, fully parenthesised where needed."""
    k = node.kind
    if k == "num":
        v = node.value
        return repr(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(v)
    if k == "var":
        return node.value
    if k == "neg":
        return f"-({to_text(node.args[0])})"
    if k == "call":
        return f"{node.value}({', '.join(to_text(a) for a in node.args)})"
    return f"({to_text(node.args[0])} {k} {to_text(node.args[1])})"


class Formula:
    """A parsed formula over named variables, callable on tensors or arrays.

    ``Formula(text, variables=("x",))`` restricts the names it may use; calling
    it with keyword arguments evaluates it with anyprop ops, so the result is a
    tensor whose derivative the engine finds.
    """

    def __init__(self, text: str, variables: Iterable[str] | None = None) -> None:
        self.text = text.strip() if isinstance(text, str) else text
        self.tree = parse(self.text, variables)
        self.variables = variables_of(self.tree)

    def __call__(self, **env: Any) -> Tensor:
        missing = self.variables - set(env)
        if missing:
            raise AnypropError(f"formula '{self.text}' needs values for {sorted(missing)}")
        tensors = {  # Python numbers stay exact scalars; arrays become tensors
            k: v if isinstance(v, (Tensor, int, float)) else Tensor(v) for k, v in env.items()
        }
        out = _evaluate(self.tree, tensors)
        if not isinstance(out, Tensor):  # a formula of numbers only
            like = next((v for v in tensors.values() if isinstance(v, Tensor)), None)
            shape = like.shape if like is not None else ()
            out = Tensor(np.full(shape, out), dtype=like.dtype if like is not None else None)
        return out

    def to_sympy(self) -> Any:
        """The formula as a SymPy expression (needs the optional ``sympy`` package)."""
        try:
            import sympy
        except ImportError:
            raise AnypropError(
                "symbolic derivatives need sympy: pip install 'anyprop[sympy]'"
            ) from None
        names = {
            "ln": sympy.log,
            "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
            "softplus": lambda x: sympy.log(1 + sympy.exp(x)),
            "relu": lambda x: sympy.Max(x, 0),
            "square": lambda x: x**2,
            "max": sympy.Max,
            "min": sympy.Min,
            "log1p": lambda x: sympy.log(1 + x),
            "expm1": lambda x: sympy.exp(x) - 1,
            "abs": sympy.Abs,
        }

        def conv(n: Node) -> Any:
            k = n.kind
            if k == "num":
                v = n.value
                return sympy.Integer(int(v)) if float(v).is_integer() else sympy.Float(v)
            if k == "var":
                return sympy.Symbol(n.value, real=True)
            if k == "neg":
                return -conv(n.args[0])
            if k == "call":
                fn = names.get(n.value) or getattr(sympy, n.value)
                return fn(*[conv(a) for a in n.args])
            a, b = conv(n.args[0]), conv(n.args[1])
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "^": a**b}[k]

        return conv(self.tree)

    def derivative_text(self, wrt: str = "x") -> str:
        """d/d(wrt) of the formula as text (SymPy, simplified)."""
        import sympy

        v = sympy.Symbol(wrt, real=True)
        raw = sympy.diff(self.to_sympy(), v)
        # sign(x)' is 0 in anyprop (as in the engine), not SymPy's DiracDelta
        raw = raw.replace(sympy.DiracDelta, lambda *args: sympy.Integer(0))
        # v·sign(v) is |v| for real v, which SymPy does not apply by itself
        tidy = raw.subs(sympy.sign(v) * v, sympy.Abs(v))
        # SymPy's simplify takes time exponential in the expression's size (seconds at 30
        # operations, minutes at 40): the shortening passes run only where they are quick
        ops = sympy.count_ops(raw)
        candidates = [str(raw), str(tidy)]
        if ops <= SIMPLIFY_OPS:
            candidates += [str(sympy.simplify(raw)), str(sympy.simplify(tidy))]
        if ops <= FACTOR_OPS:
            candidates += [str(sympy.factor(raw))]
        best = min((c for c in candidates if "Piecewise" not in c), key=len, default=candidates[0])
        return best.replace("**", "^")

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"
