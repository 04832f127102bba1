"""HTML escaping, file-name slugs, JSON-for-JS and a tiny SQL (+ Jinja) highlighter.

Every piece of user text that reaches a page goes through ``esc`` (or ``highlight_sql``, which
escapes each token), so descriptions, SQL, model names and check messages cannot inject markup.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from typing import Any

__all__ = ["esc", "highlight_sql", "js_json", "slug", "fmt_num", "fmt_s", "fmt_pct"]


_NEEDS_ESC = re.compile(r"[&<>\"']")


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included, so it is safe in attributes too)."""
    text = value if type(value) is str else ("" if value is None else str(value))
    return html.escape(text, quote=True) if _NEEDS_ESC.search(text) else text


_SLUG_OK = re.compile(r"[^A-Za-z0-9_.-]")


def slug(name: str) -> str:
    """A file-name-safe, deterministic, collision-free slug for a model/source/run name."""
    clean = _SLUG_OK.sub("_", name).strip(".") or "_"
    if clean == name and len(name) <= 120:
        return name
    return f"{clean[:100]}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def js_json(value: Any) -> str:
    """JSON that is safe inside a <script> element or a .js file (no </script>, no U+2028)."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=False, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def fmt_num(v: Any) -> str:
    """Compact number: ints with thousands separators, floats with 4 significant digits."""
    t = type(v)
    if t is float:
        if v != v:  # NaN
            return "NaN"
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:.4g}"
    if t is int:
        return f"{v:,}"
    if v is None or v == "":
        return "–"
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def fmt_s(v: float | None) -> str:
    """Seconds, human scale."""
    if v is None:
        return "–"
    if v < 0.01:
        return f"{v * 1000:.2g} ms" if v > 0 else "0 ms"
    if v < 1:
        return f"{v * 1000:.0f} ms"
    if v < 120:
        return f"{v:.2f} s"
    return f"{v / 60:.1f} min"


def fmt_pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


KEYWORDS = frozenset("""
all and any array as asc asof between by case cast collate create cross cube current day days
default delete desc distinct drop else end except exclude exists false filter first following
for from full group grouping having hour hours if ilike in inner insert intersect interval into
is join last lateral left like limit minute minutes month months natural not null nulls offset
on or order outer over partition pivot preceding qualify range recursive replace right rollup
row rows second seconds select semi anti set table then to true unbounded union unnest unpivot
update using values view when where window with within year years struct map
""".split())
TYPES = frozenset("""
bigint boolean bool date decimal double float hugeint int integer numeric real smallint text
timestamp timestamptz tinyint ubigint uinteger varchar blob uuid json time
""".split())

_TOKEN = re.compile(r"""
  (?P<jinja>\{\{.*?\}\}|\{%.*?%\}|\{\#.*?\#\})
| (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
| (?P<string>'(?:[^']|'')*(?:'|\Z))
| (?P<ident>"(?:[^"]|"")*(?:"|\Z))
| (?P<number>\b\d+(?:\.\d*)?(?:[eE][+-]?\d+)?\b|\.\d+\b)
| (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
| (?P<other>[^A-Za-z0-9_'"{\-/.]+|.)
""", re.S | re.X)


def highlight_sql(sql: str) -> str:
    """Escaped HTML for ``sql`` with <span class=k|s|c|n|t|f|j> around keywords, strings,
    comments, numbers, types, function names and Jinja blocks."""
    out: list[str] = []
    append = out.append
    plain: list[str] = []
    for m in _TOKEN.finditer(sql):
        kind = m.lastgroup
        text = m.group()
        cls = ""
        if kind == "word":
            low = text.lower()
            if low in KEYWORDS:
                cls = "k"
            elif low in TYPES:
                cls = "t"
            elif sql[m.end():m.end() + 1] == "(":
                cls = "f"
        elif kind == "jinja":
            cls = "j"
        elif kind == "comment":
            cls = "c"
        elif kind == "string":
            cls = "s"
        elif kind == "number":
            cls = "n"
        if cls:
            if plain:
                append(esc("".join(plain)))
                plain.clear()
            append(f'<span class="{cls}">{esc(text)}</span>')
        else:
            plain.append(text)
    if plain:
        append(esc("".join(plain)))
    return "".join(out)
