"""The `finews` command imports only the subcommand it runs (start-up of every cron run)."""

from __future__ import annotations

import json
import subprocess
import sys

from support.cli_runner import PROJECT_ROOT, clean_environment

from finews_crawler.cli import COMMANDS

#: Runs `finews` with the given arguments (SystemExit from --help caught) and prints the
#: command modules and heavy libraries it imported.
_RUN = """
import json, sys
from finews_crawler import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(
    name for name in sys.modules
    if name.startswith("finews_crawler.commands.") or name in ("scrapy", "sqlalchemy")
)))
"""


def _imports(*args: str) -> tuple[str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _RUN, *args],
        cwd=PROJECT_ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    *help_lines, imported = result.stdout.rstrip("\n").split("\n")
    return "\n".join(help_lines), json.loads(imported)


def test_help_lists_every_command_without_importing_one() -> None:
    text, imported = _imports("--help")
    for name, (_, help_text) in COMMANDS.items():
        assert name in text and help_text.split()[0] in text
    assert imported == []


def test_a_command_imports_its_own_module_only() -> None:
    text, imported = _imports("runs", "--help")
    assert "--database-url" in text and "--limit" in text
    assert [name for name in imported if name.startswith("finews_crawler.")] == [
        "finews_crawler.commands.runs"
    ]
