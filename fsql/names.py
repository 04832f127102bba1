"""Names that become SQL identifiers or file names must be plain identifiers.

Model, seed, source (and source table), feature set, entity and join key names end up in
relation names (``fsql_versions."m__v3"``), view names, file names (``feature_sets/<name>.yml``,
``target/``) and generated SQL. Rather than trusting every place to quote them, they are
checked once, at load, against one allowed form; a name made to break out of a quoted
identifier (``a"; drop table t; --``) never gets that far.

>>> bad_name("user_spend_30d"), bad_name('x"; drop table t; --')
(None, 'x_drop_table_t')
"""

from __future__ import annotations

import re

from .errors import ConfigError
from .spec import Loc

__all__ = ["ALLOWED", "bad_name", "check_relation", "name_error"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PART = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"\x00]|"")+")'
_RELATION = re.compile(rf"{_PART}(?:\.{_PART}){{0,2}}\Z")
ALLOWED = ("letters, digits and underscores, not starting with a digit, at most 63 "
           "characters (e.g. user_spend_30d)")


def bad_name(name: object) -> str | None:
    """None when ``name`` is a valid identifier, else a suggested valid spelling."""
    if isinstance(name, str) and _IDENT.match(name) and len(name) <= 63:
        return None
    fixed = re.sub(r"_+", "_", re.sub(r"\W", "_", str(name), flags=re.ASCII)).strip("_")[:63]
    return ("_" + fixed if fixed[:1].isdigit() else fixed) or "a_name"


def name_error(kind: str, name: object, loc: Loc | None, model: str | None = None
               ) -> ConfigError | None:
    """A ConfigError (at ``loc``, naming the allowed form) when ``name`` is not an identifier."""
    fix = bad_name(name)
    if fix is None:
        return None
    return ConfigError(f"{kind} name {name!r} is not an identifier", model=model,
                       **(loc.kw() if loc else {}), expected=ALLOWED,
                       hint=f"rename it, e.g. '{fix}'")


def check_relation(text: str, loc: Loc | None) -> ConfigError | None:
    """A source ``table:`` is a relation name: ``t``, ``schema.t`` or ``db.schema.t`` (each
    part an identifier or a double-quoted one), never an SQL expression."""
    if _RELATION.match(text):
        return None
    return ConfigError(f"source table {text!r} is not a relation name",
                       **(loc.kw() if loc else {}),
                       expected="table, schema.table or db.schema.table (identifiers, or "
                       'double-quoted identifiers with "" for a quote)',
                       hint="point 'table:' at an existing table; put SQL in a model")
