r"""The safe ``f:EXPR`` compiler: a short text such as ``"u*log(u)"`` becomes a torch function f(u), without eval.

The text is parsed with ``ast.parse(mode="eval")`` and every node of its syntax tree is checked, and turned into a
closure, before anything is evaluated. Allowed: int and float constants, the name ``u``, the constants ``pi`` and
``e``, ``+ - * / **``, unary ``+ -`` and calls of one positional argument of the functions in
:data:`ALLOWED_FUNCTIONS`; at most :data:`MAX_EXPRESSION_CHARS` characters and :data:`MAX_EXPRESSION_NODES` nodes.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from fgan.errors import UsageError

#: Functions of one argument that an f expression may call.
ALLOWED_FUNCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "log": torch.log,
    "exp": torch.exp,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "log1p": torch.log1p,
    "expm1": torch.expm1,
    "tanh": torch.tanh,
    "softplus": F.softplus,
    "sigmoid": torch.sigmoid,
}
#: Named constants that an f expression may use.
ALLOWED_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
#: Limits on an f expression: characters of text and nodes of its syntax tree.
MAX_EXPRESSION_CHARS = 200
MAX_EXPRESSION_NODES = 100


_BINARY: dict[type[ast.operator], Callable[[Tensor, Tensor], Tensor]] = {
    ast.Add: torch.add,
    ast.Sub: torch.sub,
    ast.Mult: torch.mul,
    ast.Div: torch.div,
    ast.Pow: torch.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Tensor], Tensor]] = {ast.UAdd: torch.positive, ast.USub: torch.neg}
_NODE_NAMES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.IfExp: "conditional expressions",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "assignment expressions",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}

_Evaluator = Callable[[Tensor], Tensor]


class _ParsedF:
    """f(u) from a checked expression tree, evaluated by recursion on torch tensors."""

    def __init__(self, text: str, evaluate: _Evaluator) -> None:
        self.text = text
        self._evaluate = evaluate

    def __call__(self, u: Tensor) -> Tensor:
        u = torch.as_tensor(u)
        if not u.is_floating_point():
            u = u.to(torch.get_default_dtype())
        value = self._evaluate(u)
        return value if value.shape == u.shape else value + torch.zeros_like(u)

    def __repr__(self) -> str:
        return f"f(u) = {self.text}"


def _refuse(text: str, what: str) -> UsageError:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return UsageError(
        f"f expression {shown!r}: {what} not allowed (allowed: numbers, u, pi, e, + - * / ** and "
        f"{', '.join(ALLOWED_FUNCTIONS)} of one argument)"
    )


def _compile_node(node: ast.AST, text: str) -> _Evaluator:
    """Check one node (and its children) and return its evaluator; nothing is evaluated here."""
    if isinstance(node, ast.Expression):
        return _compile_node(node.body, text)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _refuse(text, f"a constant of type {type(node.value).__name__}")
        try:
            number = float(node.value)
        except OverflowError:
            raise _refuse(text, "a constant this large") from None
        return lambda u: u.new_tensor(number)
    if isinstance(node, ast.Name):
        if node.id == "u":
            return lambda u: u
        if node.id in ALLOWED_CONSTANTS:
            number = ALLOWED_CONSTANTS[node.id]
            return lambda u: u.new_tensor(number)
        if node.id in ALLOWED_FUNCTIONS:
            raise _refuse(text, f"the function {node.id!r} without a call")
        raise _refuse(text, f"the name {node.id!r}")
    if isinstance(node, ast.BinOp):
        op = _BINARY.get(type(node.op))
        if op is None:
            raise _refuse(text, f"the operator {type(node.op).__name__}")
        left, right = _compile_node(node.left, text), _compile_node(node.right, text)
        return lambda u: op(left(u), right(u))
    if isinstance(node, ast.UnaryOp):
        unary = _UNARY.get(type(node.op))
        if unary is None:
            raise _refuse(text, f"the operator {type(node.op).__name__}")
        operand = _compile_node(node.operand, text)
        return lambda u: unary(operand(u))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _refuse(text, "calling anything but a listed function")
        if node.func.id not in ALLOWED_FUNCTIONS:
            raise _refuse(text, f"calling {node.func.id!r}")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise _refuse(text, f"calling {node.func.id} with anything but one positional argument")
        function = ALLOWED_FUNCTIONS[node.func.id]
        argument = _compile_node(node.args[0], text)
        return lambda u: function(argument(u))
    raise _refuse(text, _NODE_NAMES.get(type(node), type(node).__name__))


def parse_f_expression(text: str) -> Callable[[Tensor], Tensor]:
    """Parse an f expression such as ``"u*log(u)"`` into a torch function of u, safely (no eval).

    The text is parsed with ``ast.parse(mode="eval")`` and every node is checked before anything is evaluated.
    Allowed: int and float constants, the name ``u``, the constants ``pi`` and ``e``, the operators
    ``+ - * / **``, unary ``+ -``, and calls with one positional argument of ``log, exp, sqrt, abs, log1p, expm1,
    tanh, softplus, sigmoid``. At most 200 characters and 100 expression nodes.

    Raises:
        UsageError: with a one-line message naming what is not allowed.
    """
    if not isinstance(text, str):
        raise UsageError(f"an f expression must be text, got {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise UsageError(f"f expression of {len(text)} characters: at most {MAX_EXPRESSION_CHARS} are allowed")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # e.g. "invalid decimal literal" for "1if"
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise UsageError(f"f expression {text[:60]!r} does not parse: {err.msg}") from None
    except (ValueError, RecursionError, MemoryError) as err:  # e.g. null bytes, absurd nesting
        raise UsageError(f"f expression {text[:60]!r} does not parse: {type(err).__name__}") from None
    nodes = sum(1 for node in ast.walk(tree) if isinstance(node, ast.expr))
    if nodes > MAX_EXPRESSION_NODES:
        raise UsageError(f"f expression {text[:60]!r} has {nodes} syntax nodes: at most {MAX_EXPRESSION_NODES}")
    return _ParsedF(text.strip(), _compile_node(tree, text))
