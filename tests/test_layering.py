"""One direction of flow: spider -> item -> pipelines -> store -> export; parsers are pure.

Every module of `finews_crawler` and `pipelines` is read with `ast` (imports inside functions
and under `TYPE_CHECKING` count too: they are dependencies all the same), and no module may
import one of a layer above its own. The checker is also run on a synthetic tree holding each
kind of violation, so a rule that stopped matching would fail here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("finews_crawler", "pipelines")
#: What no product module may import: the local site (tests, demos, bench) and the tests.
TEST_ONLY = ("localsite", "tests", "support")


@dataclass(frozen=True)
class Rule:
    """Modules under `layer` (a dotted prefix) import none of `forbidden` (dotted prefixes)."""

    layer: str
    forbidden: tuple[str, ...]
    why: str


def rules(root: Path) -> list[Rule]:
    """The layers of the flow, as rules over dotted module names."""
    pkg = "finews_crawler"
    # items and site are the bottom: any other module of the package may build on them, so
    # they import none of it but each other and the named defaults. New modules count as above.
    children = sorted(
        path.stem if path.is_file() else path.name
        for path in (root / pkg).iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()
    )
    bottom = {"items", "site", "defaults", "signals"}
    above_items = tuple(f"{pkg}.{name}" for name in children if name not in bottom)
    return [
        Rule(
            f"{pkg}.parsing",
            (
                "scrapy",
                "twisted",
                "sqlalchemy",
                *(
                    f"{pkg}.{name}"
                    for name in (
                        "store",
                        "spiders",
                        "pipelines",
                        "export",
                        "commands",
                        "processes",
                        "distributed",
                    )
                ),
                "pipelines",
            ),
            "parsers are pure: no Scrapy, no database, nothing of the crawl",
        ),
        Rule(f"{pkg}.items", (*above_items, "pipelines"), "items are the bottom layer"),
        Rule(f"{pkg}.site", (*above_items, "pipelines"), "site is the bottom layer"),
        Rule(
            f"{pkg}.spiders",
            (f"{pkg}.store", f"{pkg}.export", f"{pkg}.commands", "pipelines"),
            "a spider decides what to fetch; storing is downstream",
        ),
        Rule(
            "pipelines",
            (f"{pkg}.spiders", f"{pkg}.commands", f"{pkg}.export"),
            "pipelines take items, they never crawl or export",
        ),
        Rule(
            f"{pkg}.store",
            (f"{pkg}.spiders", "pipelines", f"{pkg}.commands", f"{pkg}.export"),
            "the store knows records, not the crawl that made them",
        ),
        Rule(
            f"{pkg}.export",
            (f"{pkg}.spiders", "pipelines", f"{pkg}.commands"),
            "exports read the store only",
        ),
        *(Rule(package, TEST_ONLY, "the product never imports its tests") for package in PACKAGES),
    ]


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path, root: Path) -> set[str]:
    """Every module an import in `path` may name, absolute: `from a import b` names `a` and
    `a.b` (b may be a module); relative imports are resolved against the module's package."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(part for part in [*base_parts, node.module or ""] if part)
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def modules(root: Path) -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((root / package).rglob("*.py"))


def violations(root: Path) -> list[str]:
    """`module imports name (why)` for every import that goes against the flow."""
    found = []
    layer_rules = rules(root)
    for path in modules(root):
        module = module_name(path, root)
        for rule in layer_rules:
            if not _matches(module, rule.layer):
                continue
            for name in sorted(imported_names(path, root)):
                if any(_matches(name, forbidden) for forbidden in rule.forbidden):
                    found.append(f"{module} imports {name} ({rule.why})")
    return found


def test_no_module_imports_one_above_it_in_the_flow() -> None:
    assert list(modules(ROOT)), "no modules found"
    assert violations(ROOT) == []


def _write(root: Path, relative: str, source: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    """A tree shaped like the project's, every module clean."""
    for relative in (
        "finews_crawler/__init__.py",
        "finews_crawler/items.py",
        "finews_crawler/site.py",
        "finews_crawler/defaults.py",
        "finews_crawler/health.py",
        "finews_crawler/parsing/__init__.py",
        "finews_crawler/parsing/article.py",
        "finews_crawler/spiders/__init__.py",
        "finews_crawler/spiders/base.py",
        "finews_crawler/store/__init__.py",
        "finews_crawler/store/repository.py",
        "finews_crawler/export/__init__.py",
        "finews_crawler/export/jsonl.py",
        "finews_crawler/commands/__init__.py",
        "finews_crawler/processes/__init__.py",
        "finews_crawler/distributed/__init__.py",
        "pipelines/__init__.py",
        "pipelines/store.py",
    ):
        _write(tmp_path, relative)
    _write(tmp_path, "finews_crawler/parsing/article.py", "from finews_crawler import site\n")
    _write(tmp_path, "finews_crawler/store/repository.py", "import sqlalchemy\n")
    return tmp_path


def test_the_clean_synthetic_tree_passes(synthetic: Path) -> None:
    assert violations(synthetic) == []


@pytest.mark.parametrize(
    ("relative", "source", "named"),
    [
        ("finews_crawler/parsing/article.py", "import scrapy\n", "scrapy"),
        (
            "finews_crawler/parsing/article.py",
            "from twisted.internet import reactor\n",
            "twisted.internet",
        ),
        (
            "finews_crawler/parsing/article.py",
            "def f():\n    from ..store.repository import Repository\n",
            "finews_crawler.store.repository",
        ),
        (
            "finews_crawler/parsing/article.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sqlalchemy.orm\n",
            "sqlalchemy.orm",
        ),
        (
            "finews_crawler/parsing/article.py",
            "from finews_crawler import processes\n",
            "finews_crawler.processes",
        ),
        ("finews_crawler/items.py", "from finews_crawler import health\n", "finews_crawler.health"),
        ("finews_crawler/site.py", "from . import parsing\n", "finews_crawler.parsing"),
        (
            "finews_crawler/spiders/base.py",
            "from finews_crawler.store.repository import Repository\n",
            "finews_crawler.store.repository",
        ),
        ("finews_crawler/spiders/base.py", "import pipelines.store\n", "pipelines.store"),
        (
            "pipelines/store.py",
            "from finews_crawler.spiders.base import FinewsSpider\n",
            "finews_crawler.spiders.base",
        ),
        (
            "pipelines/store.py",
            "from finews_crawler.export import jsonl\n",
            "finews_crawler.export",
        ),
        ("finews_crawler/store/repository.py", "from pipelines import store\n", "pipelines"),
        (
            "finews_crawler/store/__init__.py",
            "from ..commands import export\n",
            "finews_crawler.commands",
        ),
        ("finews_crawler/export/jsonl.py", "import pipelines.store\n", "pipelines.store"),
        ("finews_crawler/health.py", "from localsite.mirror import serve\n", "localsite.mirror"),
        ("pipelines/store.py", "from support.truth import truth_rows\n", "support.truth"),
        ("finews_crawler/distributed/__init__.py", "import tests.conftest\n", "tests.conftest"),
    ],
)
def test_each_kind_of_violation_is_found(
    synthetic: Path, relative: str, source: str, named: str
) -> None:
    _write(synthetic, relative, source)
    found = violations(synthetic)
    module = module_name(synthetic / relative, synthetic)
    assert [v for v in found if v.startswith(f"{module} imports {named} ")], found


def test_a_new_module_counts_as_above_items(synthetic: Path) -> None:
    _write(synthetic, "finews_crawler/newthing.py")
    _write(synthetic, "finews_crawler/items.py", "from finews_crawler import newthing\n")
    assert violations(synthetic) == [
        "finews_crawler.items imports finews_crawler.newthing (items are the bottom layer)"
    ]
