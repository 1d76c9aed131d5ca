"""Headless Chromium (Debian's `chromium`) screenshots for tests of what a person looks at.

`screenshot(url, path, width, height)` renders a page to a PNG and returns it as a Pillow image.
Tests skip, saying why, only when chromium is not installed (`.ci/run` installs it in CI).
`FINEWS_UPDATE_SCREENSHOTS=1` makes the browser tests also write their screenshots into `docs/`
(the README shows them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS_ENV = "FINEWS_UPDATE_SCREENSHOTS"
DOCS = Path(__file__).resolve().parents[2] / "docs"
TIMEOUT = 120

requires_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium fonts-noto-cjk)"
)


def screenshot(url: str, path: Path, width: int = 1000, height: int = 1400) -> Image.Image:
    """Render `url` in headless Chromium at width x height; the screenshot as RGB."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="finews-chromium-") as profile:
        done = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={path}",
                f"--window-size={width},{height}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    assert path.exists(), f"chromium made no screenshot: {done.stderr[-2000:]}"
    return Image.open(path).convert("RGB")


def hex_rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def pixels_of(image: Image.Image, colour: str, box: tuple[int, int, int, int] | None = None) -> int:
    """How many pixels (in `box`) have exactly `colour`."""
    region = image.crop(box) if box else image
    target = hex_rgb(colour)
    return sum(count for count, rgb in region.getcolors(maxcolors=1 << 24) or [] if rgb == target)


def bounding_box(image: Image.Image, colour: str) -> tuple[int, int, int, int] | None:
    """The box around every pixel of `colour`, or None."""
    target = hex_rgb(colour)
    mask = Image.new("1", image.size)
    mask.putdata([rgb == target for rgb in image.get_flattened_data()])
    return mask.getbbox()


def keep(image_path: Path, name: str) -> None:
    """Copy a screenshot into docs/ when asked to (SCREENSHOTS_ENV=1)."""
    if os.environ.get(SCREENSHOTS_ENV) == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(image_path, DOCS / name)


def inked(image: Image.Image) -> int:
    """How many pixels are not white."""
    return image.width * image.height - pixels_of(image, "#ffffff")


def text_render(tmp_path: Path, text: str, font_family: str) -> Image.Image:
    """`text` rendered large in `font_family`, to tell real glyphs from tofu boxes."""
    page = tmp_path / f"glyphs-{abs(hash(text))}.html"
    page.write_text(
        '<html><head><meta charset="utf-8"><style>'
        f"body {{ margin: 0; background: #fff; }} div {{ font: 64px {font_family}; color: #000; }}"
        f"</style></head><body><div>{text}</div></body></html>",
        "utf-8",
    )
    # Headless Chromium draws nothing in very small windows: 800 x 300 is safe.
    return screenshot(page.as_uri(), tmp_path / f"{page.stem}.png", 800, 300)
