"""`python -m localsite SITE --port 0` (`localsite/__main__.py`): prints its URL and serves."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import PROJECT_ROOT
from support.site_requests import SPACE_CATEGORY

pytestmark = pytest.mark.timeout(60)


def test_command_line_prints_the_url_and_serves(site_dir: Path) -> None:
    command = [sys.executable, "-m", "localsite", str(site_dir), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("GET", SPACE_CATEGORY)
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
