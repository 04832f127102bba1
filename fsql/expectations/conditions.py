"""GX row conditions compiled to SQL predicates with pandas' answers.

GX 1.24 (pandas backend) turns every row condition into a ``DataFrame.query`` string: a
``pandas``-parser string as is, a ``great_expectations``-parser string (``col("x") > 5``,
``col("x").notnull()``) and a Condition object / dict (``{"type": "comparison", ...}``) via its
own rendering. fsql does the same, then translates the query expression (Python syntax, ``&``
``|`` ``~`` as ``and`` ``or`` ``not``) into one SQL predicate that joins the fused scan.

Missing values behave as in pandas: for NaN-backed dtypes (floats, text, datetimes) a
comparison with a missing value is False except ``!=`` / ``not in`` (True); for nullable
dtypes (``Int64``, ``boolean``, ``string``) it is NA, and NA rows are dropped (SQL's
three-valued logic).
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
from collections.abc import Callable, Mapping
from typing import Any

from fsql.errors import did_you_mean

__all__ = ["PARSERS", "ConditionError", "to_query", "query_to_sql", "row_condition"]

PARSERS = ("pandas", "great_expectations", "great_expectations__experimental__", "sql")
_GE = re.compile(
    r"""^\s*col\("(?P<col>[^"]+)"\)\s*(?:(?P<notnull>\.notnull\(\))|(?P<op>>=|<=|==|!=|>|<)\s*"""
    r"""(?:(?P<num>[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|"(?P<dq>[^"']+)"|'(?P<sq>[^"']+)'"""
    r"""|date\((?:"(?P<dd>[^"']+)"|'(?P<ds>[^"']+)')\)))\s*$""",
    re.I,
)
_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class ConditionError(ValueError):
    """A row condition GX could not parse or apply."""


def _ref(name: str) -> str:
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"`{name}`"


def _ge_to_query(text: str) -> str:
    """GX's legacy grammar -> the Condition it builds -> the query string pandas gets."""
    m = _GE.match(text)
    if not m:
        raise ConditionError(f"unable to parse condition: {text}")
    col = _ref(m["col"])
    if m["notnull"]:
        return f"~{col}.isnull()"
    if m["num"] is not None:
        try:
            value: Any = int(m["num"])
        except ValueError:
            value = float(m["num"])
    else:
        value = next(v for v in (m["dq"], m["sq"], m["dd"], m["ds"]) if v is not None)
    return f"{col} {m['op']} {value!r}"


def _dict_to_query(cond: Mapping[str, Any]) -> str:
    """GX's Condition objects (serialized form) rendered as PandasExecutionEngine does."""
    kind = cond.get("type")
    if kind == "pass_through":
        return str(cond["pass_through_filter"])
    if kind in ("and", "or"):
        parts = [_dict_to_query(c) for c in cond.get("conditions") or []]
        return "(" + f" {kind} ".join(parts) + ")"
    column = cond.get("column")
    name = column.get("name") if isinstance(column, Mapping) else column
    if not isinstance(name, str):
        raise ConditionError(f"Unable to determine Condition type from dict: {dict(cond)}")
    if kind == "nullity":
        return f"{_ref(name)}.isnull()" if cond.get("is_null") else f"~{_ref(name)}.isnull()"
    if kind == "comparison":
        op, value = str(cond.get("operator")), cond.get("parameter")
        if value is None:
            raise ConditionError("Invalid Parameter type: <class 'NoneType'>")
        if op in ("IN", "NOT_IN"):
            joined = ", ".join(map(repr, value))
            return f"{_ref(name)} {'in' if op == 'IN' else 'not in'} [{joined}]"
        if op not in _OPS:
            raise ConditionError(f"unknown operator {op!r}")
        return f"{_ref(name)} {op} {value!r}"
    raise ConditionError(f"Unable to determine Condition type from dict: {dict(cond)}")


def to_query(row_condition: Any, condition_parser: str | None) -> str:
    """The ``DataFrame.query`` string GX 1.24 runs for this row condition."""
    if isinstance(row_condition, Mapping):
        return _dict_to_query(row_condition)
    if not isinstance(row_condition, str):
        raise ConditionError(f"Invalid condition type: {type(row_condition)}")
    if condition_parser in ("great_expectations", "great_expectations__experimental__"):
        return _ge_to_query(row_condition)
    return row_condition


# --- pandas query expression -> SQL -------------------------------------------------------------

_BOOL_TOKENS = {"&": "and", "|": "or", "~": "not"}


def _normalize(query: str) -> tuple[str, dict[str, str]]:
    """Backtick names -> placeholders, and pandas' ``& | ~`` -> ``and or not``."""
    names: dict[str, str] = {}

    def bt(m: re.Match[str]) -> str:
        key = f"__fsql_bt{len(names)}"
        names[key] = m.group(1)
        return key

    text = re.sub(r"`([^`]*)`", bt, query)
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError) as e:
        raise ConditionError(f"invalid row_condition {query!r}: {e}") from None
    skip = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
    words = [
        _BOOL_TOKENS[t.string] if t.type == tokenize.OP and t.string in _BOOL_TOKENS else t.string
        for t in toks
        if t.type not in skip
    ]
    return " ".join(words), names


# name -> (SQL reference, kind): "float" (NaN), "nan" (other NaN-backed) or "nullable" (NA)
ColumnSQL = Callable[[str], tuple[str, str]]


class _Translator:
    def __init__(self, column: ColumnSQL, names: dict[str, str]) -> None:
        self.column = column
        self.names = names

    def expr(self, node: ast.AST) -> str:  # noqa: C901 - one branch per syntax node
        if isinstance(node, ast.BoolOp):
            joiner = " AND " if isinstance(node.op, ast.And) else " OR "
            return "(" + joiner.join(self.expr(v) for v in node.values) + ")"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return f"(NOT {self.expr(node.operand)})"
        if isinstance(node, ast.Compare):
            pairs = zip([node.left, *node.comparators], node.comparators, strict=False)
            parts = [self.compare(a, op, b) for (a, b), op in zip(pairs, node.ops, strict=True)]
            return "(" + " AND ".join(parts) + ")"
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return "TRUE" if node.value else "FALSE"
        if isinstance(node, ast.Name):
            ref, _ = self.column(self.names.get(node.id, node.id))
            return f"coalesce({ref}, FALSE)"
        raise ConditionError(f"unsupported row_condition syntax: {ast.unparse(node)}")

    def value(self, node: ast.AST) -> tuple[str, bool]:
        """SQL of an operand and whether it is a NaN-backed column."""
        if isinstance(node, ast.Name):
            ref, kind = self.column(self.names.get(node.id, node.id))
            return ref, kind != "nullable"
        if isinstance(node, ast.Constant):
            return _literal(node.value), False
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            sql, nan = self.value(node.operand)
            return f"(-{sql})", nan
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            (a, na), (b, nb) = self.value(node.left), self.value(node.right)
            return f"({a} {_ARITH[type(node.op)]} {b})", na or nb
        raise ConditionError(f"unsupported row_condition operand: {ast.unparse(node)}")

    def compare(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> str:
        a, nan_a = self.value(left)
        if isinstance(op, (ast.In, ast.NotIn)) or isinstance(right, (ast.List, ast.Tuple)):
            return self.membership(a, nan_a, op, right)
        b, nan_b = self.value(right)
        sym = _CMP.get(type(op))
        if sym is None:
            raise ConditionError(f"unsupported comparison: {type(op).__name__}")
        cmp = f"{a} {sym} {b}"
        if not (nan_a or nan_b):
            return f"({cmp})"
        return f"coalesce({cmp}, {'TRUE' if sym == '!=' else 'FALSE'})"

    def membership(self, a: str, nan: bool, op: ast.cmpop, right: ast.AST) -> str:
        if not isinstance(right, (ast.List, ast.Tuple, ast.Set)):
            raise ConditionError(f"'in' needs a list: {ast.unparse(right)}")
        items = [self.value(e)[0] for e in right.elts]
        member = f"{a} IN ({', '.join(items)})" if items else "FALSE"
        negate = isinstance(op, (ast.NotIn, ast.NotEq))
        if nan:
            member = f"coalesce({member}, FALSE)"
        return f"(NOT {member})" if negate else f"({member})"

    def call(self, node: ast.Call) -> str:
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and not node.args:
            ref, _ = self.column(self.names.get(f.value.id, f.value.id))
            missing = f"({ref} IS NULL)"  # float references arrive with NaN folded into NULL
            if f.attr in ("isnull", "isna"):
                return missing
            if f.attr in ("notnull", "notna"):
                return f"(NOT {missing})"
        raise ConditionError(f"unsupported row_condition call: {ast.unparse(node)}")


_CMP = {ast.Eq: "=", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}


def _literal(v: Any) -> str:
    from .sql import literal

    if isinstance(v, (int, float, str, bool)) or v is None:
        return literal(v)
    raise ConditionError(f"unsupported literal {v!r}")


def query_to_sql(query: str, column: ColumnSQL) -> str:
    """Translate a ``DataFrame.query`` expression into a SQL predicate (NULL never passes)."""
    text, names = _normalize(query)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise ConditionError(f"invalid row_condition {query!r}: {e.msg}") from None
    return f"coalesce({_Translator(column, names).expr(tree.body)}, FALSE)"


def row_condition(ctx: Any, body: dict[str, Any]) -> tuple[Any, str | None]:
    """GX's ``row_condition`` / ``condition_parser``, checked by translating it once."""
    condition, parser = body.pop("row_condition", None), body.pop("condition_parser", None)
    if parser is not None and parser not in PARSERS:
        raise ctx.err(
            f"invalid condition_parser {parser!r}",
            expected="one of " + ", ".join(PARSERS),
            hint=did_you_mean(str(parser), PARSERS),
        )
    if condition is None or condition == "":
        return None, None
    if parser == "sql":
        if not isinstance(condition, str):
            raise ctx.err("a sql row_condition must be a string", expected='e.g. "amount > 0"')
        return condition, parser
    try:
        query_to_sql(to_query(condition, parser), lambda name: (f'"{name}"', "nan"))
    except ConditionError as e:
        raise ctx.err(
            str(e),
            expected="a pandas query (amount > 0 & country == 'DE'), "
            'col("amount") > 0 with condition_parser: great_expectations, or a Condition',
        ) from None
    return condition, parser
