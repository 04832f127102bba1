"""GX suite parameters: kwargs written as ``{"$PARAMETER": "expression"}``, bound at run time.

The expression language is GX 1.24's (``SuiteParameterParser``): a parameter name (its value is
used as is), numbers, ``+ - * / ^``, unary minus, parentheses, ``PI`` / ``E`` and the functions
``sin cos tan exp abs trunc round sgn now datetime timedelta`` (positional or keyword
arguments), e.g. ``now() - timedelta(days=1)`` or ``upstream_rows * 0.9``. Inside a larger
expression a parameter's value is read as an int, a float or a date (dateutil), as GX does, and
a datetime result becomes its ISO text (GX's JSON conversion), which the kwarg then coerces.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .parse import ExpectationSpec

__all__ = ["ParameterError", "is_parameter", "check_expression", "evaluate", "bind_parameters"]

_EPS = 1e-12
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "exp": math.exp,
    "abs": abs,
    "trunc": int,
    "round": round,
    "sgn": lambda a: -1 if a < -_EPS else 1 if a > _EPS else 0,
    "now": dt.datetime.now,
    "datetime": dt.datetime,
    "timedelta": dt.timedelta,
}
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_$]*")


class ParameterError(ValueError):
    """A suite parameter that is unbound or cannot be evaluated."""


def is_parameter(value: Any) -> bool:
    """GX's ``is_suite_parameter``: a mapping with a ``$PARAMETER`` key."""
    return isinstance(value, Mapping) and "$PARAMETER" in value


def _tree(expression: str) -> tuple[ast.expr, dict[str, str]]:
    """Parse GX's grammar with Python's: ``^`` is power, ``$`` may appear in names."""
    if not isinstance(expression, str) or not expression.strip():
        raise ParameterError(f"invalid $PARAMETER {expression!r}")
    names: dict[str, str] = {}

    def name(m: re.Match[str]) -> str:
        key = m.group(0).replace("$", "__fsql_dollar__")
        names[key] = m.group(0)
        return key

    text = _NAME.sub(name, expression.strip()).replace("^", "**")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as e:
        raise ParameterError(f"Parse Failure: {expression!r}: {e.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ParameterError(f"Parse Failure: {expression!r}: {type(node).__name__}")
    return tree, names


_ALLOWED = (
    ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Call, ast.Name, ast.Constant, ast.keyword,
    ast.Load, *_BINOPS,
)  # fmt: skip


def check_expression(expression: str) -> list[str]:
    """Validate the syntax; returns the parameter names the expression needs."""
    tree, names = _tree(expression)
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return [
        names.get(n.id, n.id)
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and id(n) not in calls and n.id not in ("PI", "E")
    ]


def evaluate(expression: str, params: Mapping[str, Any]) -> Any:
    """GX's ``parse_suite_parameter`` for one expression and a mapping of parameters."""
    tree, names = _tree(expression)
    if isinstance(tree, ast.Name) and tree.id not in ("PI", "E"):
        key = names.get(tree.id, tree.id)
        if key not in params:
            raise ParameterError(f"No value found for $PARAMETER {key}")
        return params[key]
    try:
        value = _Eval(params, names).run(tree)
    except ParameterError:
        raise
    except Exception as e:  # GX wraps every evaluation failure the same way
        raise ParameterError(f"Error while evaluating suite parameter expression: {e}") from e
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


class _Eval:
    def __init__(self, params: Mapping[str, Any], names: dict[str, str]) -> None:
        self.params, self.names = params, names

    def run(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.UnaryOp):
            value = self.run(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](self.run(node.left), self.run(node.right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fn = _FUNCTIONS.get(node.func.id)
            if fn is None:
                raise ParameterError(f"unknown function {node.func.id!r} in $PARAMETER")
            kwargs = {k.arg: self.run(k.value) for k in node.keywords if k.arg}
            return fn(*[self.run(a) for a in node.args], **kwargs)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        raise ParameterError(f"unsupported $PARAMETER syntax: {ast.unparse(node)}")

    def name(self, key: str) -> Any:
        if key == "PI":
            return math.pi
        if key == "E":
            return math.e
        name = self.names.get(key, key)
        if name not in self.params:
            raise ParameterError(f"No value found for $PARAMETER {name}")
        return _operand(str(self.params[name]))


def _operand(text: str) -> Any:
    """GX re-reads a substituted value from its text: int, float, then a dateutil date."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    from dateutil.parser import parse

    return parse(text)


def bind_parameters(spec: ExpectationSpec, params: Mapping[str, Any]) -> ExpectationSpec:
    """The spec with every ``$PARAMETER`` kwarg evaluated and validated like a written value.

    A value GX was handed with the kwarg (``"$PARAMETER.name": value``) wins, as in GX. An
    unbound parameter is a :class:`ConfigError` naming the expectation's location.
    """
    todo = spec.parameters
    if not todo:
        return spec
    from dataclasses import replace

    from .parse import _Ctx, _validate_kwargs
    from .registry import REGISTRY

    loc = {"path": spec.path, "line": spec.line, "col": spec.col, "model": spec.model}
    ctx = _Ctx(spec.type, loc)
    body = dict(spec.kwargs)
    for key, expression in todo.items():
        given = spec.kwargs[key].get(f"$PARAMETER.{expression}", _UNSET)
        try:
            body[key] = given if given is not _UNSET else evaluate(expression, params)
        except ParameterError as e:
            raise ctx.err(
                f"{e} (kwarg '{key}')",
                expected=f"a value for suite parameter '{expression}'",
                hint=f"pass --param {expression}=VALUE to fsql test, set it in vars:, "
                "or suite_parameters={...} in Python",
            ) from None
    kwargs = _validate_kwargs(ctx, REGISTRY[spec.type], body)
    return replace(spec, kwargs=kwargs, written=spec.kwargs)


_UNSET = object()
