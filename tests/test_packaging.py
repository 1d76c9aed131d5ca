"""The package works when installed as a zipped egg (scrapyd deploys those) and as a wheel.

The wheel holds the product only: `finews_crawler` and `pipelines`, never the local site
(`localsite/`), the tests or the benchmarks, and every module in it imports without them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from support.paths import PROJECT_ROOT

#: The importable packages a production install gets.
PACKAGES = ("finews_crawler", "pipelines")
#: Run by Alembic inside its migration context (`alembic.context.config`), not importable alone;
#: the migration tests run it.
NOT_IMPORTABLE = {"finews_crawler.store.migrations.env"}
#: Imports every module named on the command line from the unpacked wheel (argv[1]) with the
#: repository's other top-level folders refused, and checks each came from the wheel.
_IMPORT_ALL = """
import importlib, importlib.abc, sys
root, names = sys.argv[1], sys.argv[2:]

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("localsite", "tests", "support", "conftest", "bench"):
            raise ModuleNotFoundError(f"{name} is not part of the product", name=name)
        return None

sys.meta_path.insert(0, Refuse())
for name in names:
    module = importlib.import_module(name)
    assert module.__file__.startswith(root), (name, module.__file__)
print(len(names), "modules imported")
"""


def test_migrations_run_from_a_zipped_package(tmp_path: Path) -> None:
    egg = tmp_path / "finews.egg"
    with zipfile.ZipFile(egg, "w") as archive:
        for package in ("finews_crawler", "pipelines"):
            for path in (PROJECT_ROOT / package).rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(PROJECT_ROOT).as_posix())
    script = (
        "import finews_crawler, sys\n"
        "assert finews_crawler.__file__.startswith(sys.argv[1]), finews_crawler.__file__\n"
        "from finews_crawler.store.repository import Repository\n"
        "with Repository(sys.argv[2]) as repository:\n"
        "    print(repository.article_count(), repository.recent_runs())\n"
    )
    database = f"sqlite:///{tmp_path / 'egg.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-c", script, str(egg), database],
        env={"PYTHONPATH": str(egg), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "0 []"


def test_scrapy_finds_the_project_settings_through_the_entry_point() -> None:
    text = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points.scrapy]\nsettings = "finews_crawler.settings"' in text


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel --no-deps` of a copy of the working tree (the build leaves nothing here)."""
    source = tmp_path_factory.mktemp("source") / "finews-crawler"
    shutil.copytree(
        PROJECT_ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "data", "build", "*.egg-info", "__pycache__", ".*_cache", "out"
        ),
    )
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = out.glob("finews_crawler-*.whl")
    return built


def _wheel_modules(names: list[str]) -> list[str]:
    modules = []
    for name in names:
        path = PurePosixPath(name)
        if path.suffix == ".py" and path.parts[0] in PACKAGES:
            parts = path.with_suffix("").parts
            modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(modules)


def test_the_wheel_holds_the_product_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {*PACKAGES, "finews_crawler-0.1.0.dist-info"}, top
    assert not any(part in ("localsite", "tests", "bench") for n in names for part in n.split("/"))
    # Nothing of the product is left out either: every module of both packages is in it.
    shipped = {n for n in names if n.endswith(".py")}
    source = {
        path.relative_to(PROJECT_ROOT).as_posix()
        for package in PACKAGES
        for path in (PROJECT_ROOT / package).rglob("*.py")
    }
    assert shipped == source
    assert "finews_crawler/export/article.schema.json" in names


def test_every_module_of_the_wheel_imports_without_the_local_site(
    wheel: Path, tmp_path: Path
) -> None:
    unpacked = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(unpacked)
    modules = _wheel_modules(zipfile.ZipFile(wheel).namelist())
    assert "finews_crawler.spiders.finews" in modules and "pipelines.store" in modules
    importable = [name for name in modules if name not in NOT_IMPORTABLE]
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(unpacked)}
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, str(unpacked), *importable],
        cwd=tmp_path,  # not the repository root, where localsite would be found
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"{len(importable)} modules imported"
