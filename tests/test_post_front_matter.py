"""`parsing.post.front_matter_data`: the reading without YAML gives exactly what YAML gives."""

from __future__ import annotations

import random

import pytest
import yaml

from finews_crawler.parsing.post import (
    YAML_LOADER,
    _simple_front_matter,
    front_matter_data,
)

#: Characters that mean something to YAML, blanks YAML and Python disagree on, and plain text.
ALPHABET = [*"ab:# -?,[]{}&*!|>'\"%@`~.\\\t\r", "\xa0", "\u3000", "\u2028", "\ufeff", "新闻"]


def yaml_data(text: str) -> object:
    return yaml.load(text, Loader=YAML_LOADER) or {}


@pytest.mark.parametrize(
    "text",
    [
        'layout: post\ntitle: ""\ndate:  +0800\ncategories: emnews\ntags: 东财滚动新闻\n',
        'title: "中国  证监会"  \ndate: 2022-06-01 10:00:00 +0800\n',
        'title: 他说"好" x\'y b#c x,y[z]{w} ~\nempty:\nspaces:   \n',
        "a: 1\nb: 2\na: 3\n",
        "a: x\xa0\n",
    ],
)
def test_simple_front_matter_is_read_without_yaml_to_the_same_data(text: str) -> None:
    assert _simple_front_matter(text) is not None
    assert front_matter_data(text) == yaml_data(text)
    assert list(front_matter_data(text)) == list(yaml_data(text))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a: b # comment\n",
        "a: b\n\nc: d\n",
        "a:\n  - b\n",
        "a: >\n  b\n",
        'a: "b\\"c"\n',
        "a: 'b'\n",
        "a: b\r\n",
        "a: b:\n",
        "a: &x b\n",
        "a: b\n  c\n",
        f"{'k' * 1100}: v\n",
    ],
)
def test_anything_not_trivially_simple_is_left_to_yaml(text: str) -> None:
    assert _simple_front_matter(text) is None


def test_random_lines_read_without_yaml_agree_with_yaml() -> None:
    rng = random.Random(11)
    taken = 0
    for _ in range(20_000):
        lines = [
            rng.choice(["a", "title", "x_1"])
            + ":"
            + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8)))
            for _ in range(rng.randint(1, 3))
        ]
        text = "\n".join(lines) + "\n"
        simple = _simple_front_matter(text)
        if simple is None:
            continue
        taken += 1
        assert simple == yaml_data(text), repr(text)
    assert taken > 500  # the comparison covered many inputs the fast reading takes
