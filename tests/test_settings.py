"""Defaults written once: every `FINEWS_*` setting the code reads is documented (README's Settings
table and `finews_crawler/settings.py`), `settings.py` publishes exactly the defaults of
`finews_crawler/defaults.py`, and no call site repeats a literal default.

The code is read with `ast`. A call site is a settings getter (`settings.get`, `getint`,
`getfloat`, `getbool`, `getlist`, `getdict`...) or an environment lookup (`os.environ.get`,
`os.getenv`) whose first argument names a `FINEWS_*` setting; its fallback (the default argument,
or what follows `or`) must come from `defaults` (or the project's `settings` module, which takes
it from there), never a literal. The checker also runs on synthetic sources, so a rule that
stopped matching would fail here.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from finews_crawler import defaults

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("finews_crawler", "pipelines")
SETTINGS_PY = ROOT / "finews_crawler" / "settings.py"
NAME = re.compile(r"FINEWS_[A-Z0-9_]+")
GETTERS = frozenset(
    {"get", "getint", "getfloat", "getbool", "getlist", "getdict", "getdictorlist", "getenv"}
)
#: Where a fallback may come from: the named defaults, or the project settings built from them.
FALLBACK_MODULES = frozenset({"defaults", "settings"})


def sources(root: Path = ROOT) -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            yield relative, ast.parse(path.read_text(encoding="utf-8"), relative)


def _setting_name(call: ast.Call) -> str | None:
    """The FINEWS_* name a getter or environment call reads, else None."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in GETTERS and call.args):
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value if NAME.fullmatch(first.value) else None
    return None


def _is_literal(node: ast.AST) -> bool:
    """A value written at the call site: a number, string, bool, container of them, -1..."""
    if isinstance(node, ast.Constant):
        return node.value is not None
    if isinstance(node, ast.UnaryOp):
        return _is_literal(node.operand)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return True
    return isinstance(node, ast.Dict)


def _from_defaults(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in FALLBACK_MODULES
    )


def _is_empty_normalizer(node: ast.AST) -> bool:
    """`or ""` after a fallback from defaults turns an explicit None into text; not a default."""
    return isinstance(node, ast.Constant) and node.value in ("", None)


def literal_defaults(tree: ast.Module) -> list[tuple[str, int, str]]:
    """(setting, line, problem) for each call site that does not fall back to `defaults`."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or (name := _setting_name(node)) is None:
            continue
        fallbacks = list(node.args[1:2]) + [kw.value for kw in node.keywords if kw.arg == "default"]
        parent = parents.get(node)
        # `getter(...) or X`, also as str(getter(...) or X)
        is_or = isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.Or)
        if is_or and parent.values[0] is node:
            fallbacks += parent.values[1:]
        from_defaults = any(_from_defaults(value) for value in fallbacks)
        for value in fallbacks:
            if _is_literal(value) and not (from_defaults and _is_empty_normalizer(value)):
                found.append((name, node.lineno, f"literal default {ast.unparse(value)}"))
        if not from_defaults:
            found.append((name, node.lineno, "no fallback from finews_crawler.defaults"))
    return found


def settings_read(tree: ast.Module) -> set[str]:
    """Every FINEWS_* name the code reads or sets: a string that is the bare name (getters,
    `settings.set`, environment lookups) or an attribute (`settings.FINEWS_X`). Messages that
    mention a name ("FINEWS_X is off") are not reads."""
    names = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and NAME.fullmatch(node.value)
    }
    names |= {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and NAME.fullmatch(node.attr)
    }
    return names


def readme_settings() -> set[str]:
    """The names in the first column of README's Settings table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `FINEWS_")]
    return {name for row in rows for name in NAME.findall(row.split("|")[1])}


# --- the project --------------------------------------------------------------------------


def test_no_call_site_repeats_a_literal_default() -> None:
    problems = [
        f"{relative}:{line}: {name}: {problem}"
        for relative, tree in sources()
        for name, line, problem in literal_defaults(tree)
    ]
    assert problems == []


def test_every_setting_read_is_documented_in_readme_and_settings_py() -> None:
    read = set().union(*(settings_read(tree) for _, tree in sources()))
    assert "FINEWS_DATABASE_URL" in read and "FINEWS_SQLITE_BUSY_TIMEOUT_MS" in read
    assert sorted(read - readme_settings()) == []
    settings_text = SETTINGS_PY.read_text(encoding="utf-8")
    assert sorted(name for name in read if name not in settings_text) == []


def test_settings_py_publishes_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each `_env("FINEWS_X", defaults.X)` names its own default, and with no environment the
    module's values are exactly the defaults."""
    tree = ast.parse(SETTINGS_PY.read_text(encoding="utf-8"))
    published = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if isinstance(call.func, ast.Name) and call.func.id == "_env":
            name, default = call.args
            assert isinstance(name, ast.Constant) and NAME.fullmatch(name.value)
            assert _from_defaults(default) and default.value.id == "defaults", name.value
            assert default.attr == name.value.removeprefix("FINEWS_"), name.value
            (target,) = node.targets
            published[target.id] = default.attr
    assert len(published) >= 30
    for name in [name for name in os.environ if name.startswith("FINEWS_")]:
        monkeypatch.delenv(name)
    from finews_crawler import settings

    try:
        module = importlib.reload(settings)
        for attribute, default in published.items():
            assert getattr(module, attribute) == getattr(defaults, default), attribute
    finally:
        monkeypatch.undo()
        importlib.reload(settings)


def test_readme_documents_no_setting_nobody_has() -> None:
    """A documented setting is published by settings.py or read from the environment."""
    settings_text = SETTINGS_PY.read_text(encoding="utf-8")
    assert sorted(name for name in readme_settings() if name not in settings_text) == []


# --- the checker on synthetic sources -------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('settings.getint("FINEWS_STORE_BATCH_SIZE", 100)', "literal default 100"),
        ('settings.getfloat("FINEWS_X", default=-0.5)', "literal default -0.5"),
        ('settings.getlist("FINEWS_X", ["a"])', "literal default ['a']"),
        ('crawler.settings.get("FINEWS_X") or "data/spool"', "literal default 'data/spool'"),
        ('str(settings.get("FINEWS_REDIS_URL") or "").strip()', "no fallback from"),
        ('settings.getbool("FINEWS_X")', "no fallback from"),
        ('os.environ.get("FINEWS_X") or 15_000', "literal default 15000"),
        ('os.getenv("FINEWS_X", "1")', "literal default '1'"),
    ],
)
def test_checker_finds_a_literal_or_missing_default(source: str, problem: str) -> None:
    found = literal_defaults(ast.parse(source))
    assert any(p.startswith(problem) for _, _, p in found), found


@pytest.mark.parametrize(
    "source",
    [
        'settings.getint("FINEWS_STORE_BATCH_SIZE", defaults.STORE_BATCH_SIZE)',
        'settings.get("FINEWS_SPOOL_DIR") or defaults.SPOOL_DIR',
        'settings.get("FINEWS_DATABASE_URL", defaults.DATABASE_URL) or ""',
        'os.environ.get("FINEWS_DATABASE_URL") or settings.FINEWS_DATABASE_URL',
        'settings.getint("CONCURRENT_REQUESTS", 16)',  # Scrapy's own: its defaults are Scrapy's
    ],
)
def test_checker_accepts_a_fallback_from_defaults(source: str) -> None:
    assert literal_defaults(ast.parse(source)) == []


def test_names_read_include_attributes_and_settings_set() -> None:
    tree = ast.parse(
        'settings.set("FINEWS_A", 1)\nvalue = settings.FINEWS_B\nlog("FINEWS_C is off")\n'
    )
    assert settings_read(tree) == {"FINEWS_A", "FINEWS_B"}
