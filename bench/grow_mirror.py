"""Grow the bundled mirror to a big site for benchmarks (issue 6).

    python bench/grow_mirror.py --articles 3000 --out bench/out/site3000

copies `tests/fixtures/site` to `--out` and adds N synthetic articles the way the real site
publishes them: every article has a fresh infoCode (`NW` + the date + 10 digits) and appears as
an emnews post (`/emnews/yyyy/mm/dd/<18 digits>.html`), as a media-category post
(`/<media>/yyyy/mm/dd/NW<18 digits>.html`), or as both with the same infoCode. Bodies, digests,
titles and upstream links are taken from the real emnews pages (so body sizes, stock spans,
images and K-line charts are real), back links come in the site's three forms, and every page is
rendered with the site's own layouts (`localsite.layout`: broken head included).
The category pages, `/`, `/emnews/` and `/feed.xml` are regenerated around the new posts; the
category page of a slug with a space stays empty, as Jekyll left it, so no synthetic post goes
there.

Beside the site it writes `<out>.truth.jsonl` (one truth row per article page, the schema of
`tests/fixtures/truth.jsonl`) and `<out>.manifest.json` (counts). Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# `python bench/grow_mirror.py` puts bench/ first on sys.path, not the repository root where
# `localsite` (the local site, outside the installed package) lives.
sys.path.insert(0, str(PROJECT_ROOT))

from localsite.layout import (  # noqa: E402 - after the sys.path line
    BACK_LINK_FORMS,
    EMNEWS_TAG,
    Post,
    emnews_content,
    media_content,
    render_category,
    render_emnews_index,
    render_feed,
    render_feed_entry,
    render_index,
    render_post,
    share_url,
    sort_posts,
)

logger = logging.getLogger("grow_mirror")

DEFAULT_SOURCE = PROJECT_ROOT / "tests" / "fixtures" / "site"
MARKER = ".grow_mirror"
WRITER_THREADS = 8

#: Media beyond the bundled ones: (category slug, the 文章来源 name).
EXTRA_MEDIA: tuple[tuple[str, str], ...] = (
    ("zhengquanshibao", "证券时报"),
    ("zhongguozhengquanbao", "中国证券报"),
    ("shanghaizhengquanbao", "上海证券报"),
    ("cailianshe", "财联社"),
    ("meirijingjixinwen", "每日经济新闻"),
    ("diyicaijing", "第一财经"),
    ("xinjingbao", "新京报"),
    ("pengpaixinwen", "澎湃新闻"),
    ("jiemianxinwen", "界面新闻"),
    ("jingjiguanchabao", "经济观察报"),
    ("zhongguojijinbao", "中国基金报"),
    ("zhengquanribao", "证券日报"),
    ("xinhuashe", "新华社"),
    ("renminwang", "人民网"),
    ("yangshixinwen", "央视新闻"),
    ("caixinwang", "财新网"),
    ("huaerjiejianwen", "华尔街见闻"),
    ("gelonghui", "格隆汇"),
    ("zhitongcaijing", "智通财经"),
    ("jinrongjie", "金融界"),
    ("zhongxinjingwei", "中新经纬"),
    ("beijingshangbao", "北京商报"),
    ("quanshangzhongguo", "券商中国"),
    ("shidaizhoubao", "时代周报"),
    ("hongxingxinwen", "红星新闻"),
)
#: Back-link forms of emnews posts, weighted roughly as in the bundled pages.
BACK_LINK_WEIGHTS = {
    "one_line": 45,
    "relative": 29,
    "two_lines_old_host": 9,
    "two_lines": 8,
    "none": 9,
}
#: What each synthetic article is published as.
SHARE_BOTH, SHARE_EMNEWS_ONLY = 0.5, 0.35  # the rest: media category only
EMPTY_UPSTREAM_SHARE = 0.03

_CONTENT_RE = re.compile(r"</h1>\n\n(.*?)\n\n\n\n  <small>tags:", re.S)
_H1_RE = re.compile(r"<h1>(.*?)</h1>", re.S)
_UPSTREAM_RE = re.compile(r'^<p><a href="(http://[^/]+/news/\d+),\d{18}\.html">')
_MEDIA_RE = re.compile(r'\n<p class="em_media">（文章来源：(.*)）</p>$', re.S)


@dataclass(frozen=True)
class Donor:
    """The parts of a real emnews post a synthetic article borrows."""

    title: str  # raw, as in the h1
    body: str
    digest: str | None
    media_html: str | None
    upstream_prefix: str  # e.g. http://finance.eastmoney.com/news/1354
    truth: dict


@dataclass
class Site:
    posts: list[Post] = field(default_factory=list)
    truth: list[dict] = field(default_factory=list)
    category_titles: dict[str, str] = field(default_factory=dict)


def load_site(source: Path, truth_path: Path) -> tuple[Site, list[Donor]]:
    """The bundled posts (from their pages and truth rows) and the emnews donors."""
    site = Site()
    donors = []
    for line in truth_path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        page = (source / row["url"].lstrip("/")).read_text(encoding="utf-8")
        section = page[page.find("<section>") :]
        title_match, content_match = _H1_RE.search(section), _CONTENT_RE.search(section)
        if not title_match or not content_match:
            raise ValueError(f"{row['url']}: not in the post layout")
        post = Post(
            name=row["name"],
            url=row["url"],
            title=title_match.group(1),
            date=datetime.fromisoformat(row["published_at"]),
            categories=tuple(row["categories"]),
            tags=tuple(row["tags"]),
            content=content_match.group(1),
        )
        site.posts.append(post)
        site.truth.append(row)
        if row["categories"] == ["emnews"]:
            donor = _donor(post, row)
            if donor is not None:
                donors.append(donor)
    for page in sorted((source / "category").glob("*.html")):
        match = re.search(r"<title>(.*) \| 金融消息</title>", page.read_text(encoding="utf-8"))
        if match:
            site.category_titles[page.stem] = match.group(1)
    if not donors:
        raise ValueError(f"{source}: no emnews post to borrow bodies from")
    return site, donors


def _donor(post: Post, row: dict) -> Donor | None:
    blocks = post.content.split("\n\n")
    digest = None
    if blocks[0].startswith("<blockquote>\n  <p>") and blocks[0].endswith("</p>\n</blockquote>"):
        digest = blocks[0][len("<blockquote>\n  <p>") : -len("</p>\n</blockquote>")]
        blocks = blocks[1:]
    index, upstream = next(
        ((i, m) for i, block in enumerate(blocks) if (m := _UPSTREAM_RE.match(block))),
        (-1, None),
    )
    if upstream is None:
        return None  # an empty upstream link: nothing to derive the upstream host from
    body = "\n\n".join(blocks[:index])
    media = _MEDIA_RE.search(body)
    if media:
        body = body[: media.start()]
    if not body:
        return None
    return Donor(
        title=post.title,
        body=body,
        digest=digest,
        media_html=media.group(1) if media else None,
        upstream_prefix=upstream.group(1),
        truth=row,
    )


def _media_list(site: Site) -> list[tuple[str, str]]:
    """(slug, media) of every category synthetic posts go to: the bundled ones, then more."""
    bundled = {}
    for row in site.truth:
        slug = " ".join(row["categories"])
        if row["share_url"] and row["media"] and " " not in slug:
            bundled.setdefault(slug, row["media"])
    return sorted(bundled.items()) + list(EXTRA_MEDIA)


@dataclass
class Growth:
    posts: list[Post] = field(default_factory=list)
    truth: list[dict] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)


def synthesize(
    site: Site, donors: list[Donor], articles: int, *, seed: int, start: datetime
) -> Growth:
    """N synthetic articles: their posts and truth rows (pure; nothing is written)."""
    rng = random.Random(seed)
    media_list = _media_list(site)
    forms = list(BACK_LINK_WEIGHTS)
    weights = [BACK_LINK_WEIGHTS[f] for f in forms]
    assert set(forms) <= set(BACK_LINK_FORMS)
    step_cap = max(1, min(9999, (9_999_999_999 - 2_400_000_000) // max(articles, 1)))
    counter = 2_400_000_000
    when = start
    growth = Growth()
    for seq in range(1, articles + 1):
        when += timedelta(seconds=rng.randint(10, 150))
        counter += rng.randint(1, step_cap)
        digits = f"{when:%Y%m%d}{counter:010d}"
        donor = rng.choice(donors)
        roll = rng.random()
        kind = "media"
        if roll < SHARE_BOTH + SHARE_EMNEWS_ONLY:
            kind = "both" if roll < SHARE_BOTH else "emnews"
        growth.kinds[kind] += 1
        slug, media = rng.choice(media_list)
        lead = f"{when.month}月{when.day}日讯（第{seq}号）。"
        body = f"<p>{lead}</p>\n{donor.body}"
        body_text = lead + donor.truth["body_text"]
        day = f"{when:%Y/%m/%d}"
        if kind in ("both", "emnews"):
            upstream = None
            if rng.random() >= EMPTY_UPSTREAM_SHARE:
                upstream = f"{donor.upstream_prefix},{digits}.html"
            media_html = media if kind == "both" else donor.media_html
            post = Post(
                name=f"{when:%Y-%m-%d}-{digits}.md",
                url=f"/emnews/{day}/{digits}.html",
                title=donor.title,
                date=when,
                categories=("emnews",),
                tags=(EMNEWS_TAG,),
                content=emnews_content(
                    body,
                    upstream_url=upstream,
                    digest=donor.digest,
                    media=media_html,
                    back_link=rng.choices(forms, weights)[0],
                ),
            )
            growth.posts.append(post)
            growth.truth.append(
                _truth(
                    post,
                    donor,
                    body_text,
                    media=media if kind == "both" else donor.truth["media"],
                    digest=donor.truth["digest"],
                    upstream_url=upstream,
                )
            )
        if kind in ("both", "media"):
            code = f"NW{digits}"
            post = Post(
                name=f"{when:%Y-%m-%d}-{code}.md",
                url=f"/{slug.lower()}/{day}/{code}.html",
                title=donor.title,
                date=when,
                categories=(slug,),
                tags=(f"{media}新闻",),
                content=media_content(body, media=media, info_code=code, slug=slug),
            )
            growth.posts.append(post)
            growth.truth.append(_truth(post, donor, body_text, media=media, share=share_url(code)))
    return growth


def _truth(
    post: Post,
    donor: Donor,
    body_text: str,
    *,
    media: str | None,
    digest: str | None = None,
    upstream_url: str | None = None,
    share: str | None = None,
) -> dict:
    digits = re.search(r"(\d{18})\.html$", post.url).group(1)
    return {
        "body_text": body_text,
        "categories": list(post.categories),
        "digest": digest,
        "info_code": f"NW{digits}",
        "media": media,
        "name": post.name,
        "published_at": post.date.isoformat(timespec="seconds"),
        "share_url": share,
        "tags": list(post.tags),
        "title": donor.truth["title"],
        "upstream_url": upstream_url,
        "url": post.url,
    }


def write_site(source: Path, out: Path, site: Site, growth: Growth) -> dict[str, int]:
    """Copy the bundled site to `out`, add the synthetic pages, regenerate the listings."""
    _prepare(out)
    shutil.copytree(source, out, dirs_exist_ok=True)
    (out / MARKER).write_text("written by bench/grow_mirror.py; safe to delete\n")
    for folder in sorted({(out / post.url.lstrip("/")).parent for post in growth.posts}):
        folder.mkdir(parents=True, exist_ok=True)

    def write(post: Post) -> None:
        (out / post.url.lstrip("/")).write_bytes(render_post(post).encode("utf-8"))

    # Creating tens of thousands of files waits on the file system more than on Python.
    with ThreadPoolExecutor(WRITER_THREADS) as pool:
        for _ in pool.map(write, growth.posts, chunksize=64):
            pass

    everything = sort_posts(site.posts + growth.posts)
    by_category: dict[str, list[Post]] = defaultdict(list)
    by_tag: dict[str, list[Post]] = defaultdict(list)
    for post in everything:
        by_category[" ".join(post.categories)].append(post)
        for tag in post.tags:
            by_tag[tag].append(post)

    grown = {" ".join(post.categories) for post in growth.posts}
    titles = dict(site.category_titles)
    for slug, media in EXTRA_MEDIA:
        titles.setdefault(slug, media)
    for slug in sorted(grown):
        page = render_category(slug, titles.get(slug, slug), by_category[slug])
        (out / "category" / f"{slug}.html").write_text(page, encoding="utf-8")

    index = (source / "index.html").read_text(encoding="utf-8")
    order = re.findall(r'<h2 id="([^"]*)">', index[index.index("<section>") :])
    for post in reversed(everything):  # new tags in order of first appearance
        for tag in post.tags:
            if tag not in order:
                order.append(tag)
    (out / "index.html").write_text(
        render_index([(tag, by_tag[tag]) for tag in order]), encoding="utf-8"
    )
    (out / "emnews" / "index.html").write_text(
        render_emnews_index(by_tag[EMNEWS_TAG]), encoding="utf-8"
    )
    feed = (source / "feed.xml").read_text(encoding="utf-8")
    updated = re.search(r"<updated>(.*?)</updated>", feed).group(1)
    (out / "feed.xml").write_text(
        render_feed((render_feed_entry(p) for p in everything[:10]), updated), encoding="utf-8"
    )
    return {slug: len(by_category[slug]) for slug in sorted(by_category)}


def _prepare(out: Path) -> None:
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise SystemExit(f"{out} exists and was not written by grow_mirror.py; not touching it")
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)


def grow(
    articles: int,
    out: Path,
    *,
    source: Path = DEFAULT_SOURCE,
    truth: Path | None = None,
    seed: int = 6,
    start: datetime | None = None,
) -> dict:
    """Write the grown site, its truth rows and its manifest; returns the manifest."""
    truth = truth or source.parent / "truth.jsonl"
    start = start or datetime.fromisoformat("2022-06-01T08:00:00+08:00")
    site, donors = load_site(source, truth)
    growth = synthesize(site, donors, articles, seed=seed, start=start)
    categories = write_site(source, out, site, growth)
    rows = site.truth + growth.truth
    with out.with_name(out.name + ".truth.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    codes = {row["info_code"] for row in rows if row["info_code"]}
    manifest = {
        "source": str(source),
        "seed": seed,
        "synthetic_articles": articles,
        "synthetic_kinds": dict(growth.kinds),
        "article_pages": len(rows),
        "synthetic_pages": len(growth.posts),
        "info_codes": len(codes),
        "category_pages": len(categories),
        "categories": categories,
    }
    out.with_name(out.name + ".manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, required=True, help="synthetic articles to add")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the site to")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--truth", type=Path, help="truth rows of --source (default: beside it)")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    if args.articles < 0:
        parser.error("--articles must be >= 0")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    began = time.perf_counter()
    manifest = grow(args.articles, args.out, source=args.source, truth=args.truth, seed=args.seed)
    print(
        f"{args.out}: {manifest['synthetic_articles']} synthetic articles, "
        f"{manifest['article_pages']} article pages, {manifest['info_codes']} infoCodes, "
        f"{manifest['category_pages']} category pages in {time.perf_counter() - began:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
