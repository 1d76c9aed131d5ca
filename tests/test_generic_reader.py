"""The layout-independent reader (`readers/generic.py`) on pages a redesign could show: one rule
per test, each on a small page of its own (the redesign fixtures test whole themes).

Every page holds the same post (`POST`: a paragraph, the 文章来源 line, the share link line and
the back links, as the site's Markdown renders them), wrapped in the markup under test.
"""

from __future__ import annotations

import json

import pytest

from finews_crawler.parsing.readers import read_article
from finews_crawler.parsing.readers.dates import published_date

URL = "http://127.0.0.1:8000/shanghaifabu/2022/03/30/NW202203302328599218.html"
TITLE = "上海举行全市领导干部大会"
PUBLISHED = "2022-03-30T23:23:14+08:00"
SHARE = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202203302328599218"
FIRST = "全市领导干部大会今晚举行，并以视频方式连线到全市所有街镇。"
SECOND = "市委副书记、市长龚正主持会议并讲话。"
POST_BLOCKS = (
    f"<p>{FIRST}</p>",
    f"<p>{SECOND}</p>",
    '<p class="em_media">（文章来源：上海发布）</p>',
    f'<p><a href="{SHARE}">{SHARE}</a></p>',
    '<p><a href="//finews.withounder.com/category/shanghaifabu.html">返回上海发布新闻</a>｜<a '
    'href="//finews.withounder.com/">返回首页</a></p>',
)
POST = "\n".join(POST_BLOCKS)
BODY = f"{FIRST}\n{SECOND}"


def page(article: str, head: str = "", title: str = f"{TITLE} - 金融消息") -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body><nav><a href="/">金融消息</a> <a href="/emnews/">东财滚动新闻</a></nav>
{article}<footer>金融消息 版权所有</footer></body></html>"""


def json_ld(**fields: object) -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", **fields}
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


def read(html: str):
    item = read_article(html, URL)
    assert item is not None and item.layout == "generic"
    return item


# -- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "更新于 2022-03-31 02:23:14 · 发布于 2022-03-30 23:23:14 · 3小时前",
        "最后修改：2022-04-01 10:00:00　发布时间：2022年03月30日 23:23:14",
        "Updated April 1, 2022 10:00:00 AM · Published March 30, 2022 11:23:14 PM",
        "【打印】 打印时间：2022-04-02 08:00:00 · 2022-03-30 23:23:14",
        "2022-03-31 02:23:14 更新 | 2022-03-30 23:23:14 发布",
        "Posted on March 30, 2022 at 11:23:14 pm / Updated March 31, 2022",
    ],
)
def test_a_date_labelled_as_an_update_or_a_print_time_is_not_the_published_one(line: str) -> None:
    assert published_date(line).iso() == PUBLISHED


@pytest.mark.parametrize(
    "line",
    [
        "Editor: Zhang Wei · 2022-03-30 23:23:14",
        "2022-03-30 23:23:14 · Editor: Zhang Wei",
        "Credit: Reuters | 2022-03-30 23:23:14",
        "Posted by editor on 2022-03-30 23:23:14",
    ],
)
def test_a_byline_beside_the_date_is_not_an_update_label(line: str) -> None:
    assert published_date(line).iso() == PUBLISHED


def test_meta_and_json_ld_modified_dates_before_the_published_ones_are_not_taken() -> None:
    head = (
        '<meta property="article:modified_time" content="2022-03-31T02:23:14+08:00">'
        f'<meta property="article:published_time" content="{PUBLISHED}">'
        + json_ld(headline=TITLE, dateModified="2022-03-31T02:23:14+08:00")
    )
    item = read(page(f"<article><h1>{TITLE}</h1>{POST}</article>", head))
    assert item.published_at == PUBLISHED


def test_only_json_ld_date_published_beside_relative_and_updated_dates() -> None:
    head = json_ld(
        headline=TITLE, dateModified="2022-03-31T02:23:14+08:00", datePublished=PUBLISHED
    )
    meta = (
        '<p class="entry-meta">Posted <span>2 days ago</span> · Updated <time class="updated" '
        'datetime="2022-03-31T02:23:14+08:00">March 31, 2022 02:23:14</time></p>'
    )
    item = read(page(f"<article><h1>{TITLE}</h1>{meta}<div>{POST}</div></article>", head))
    assert item.published_at == PUBLISHED
    assert item.body_text == BODY


def test_a_time_without_datetime_after_an_updated_time_in_the_same_line() -> None:
    meta = (
        "<div>编辑 ZNing　更新：<time>2022-03-31 02:23:14</time>　"
        "发布：<time>2022-03-30 23:23:14</time>　3小时前</div>"
    )
    item = read(page(f"<div><h2>{TITLE}</h2>{meta}<div>{POST}</div></div>"))
    assert item.published_at == PUBLISHED


def test_a_time_in_an_element_classed_as_the_update_is_not_the_published_one() -> None:
    meta = (
        '<div><span class="date-updated"><time datetime="2022-03-31T02:23:14+08:00">'
        "2022-03-31</time></span> <span>图片来源：东方财富</span> "
        '<span><time datetime="2022-03-30T23:23:14+08:00">3小时前</time></span></div>'
    )
    item = read(page(f"<div><h2>{TITLE}</h2>{meta}<p>图片来源：东方财富</p>{POST}</div>"))
    assert (item.published_at, item.body_text) == (PUBLISHED, BODY)


# -- tags -----------------------------------------------------------------------------------


def test_wordpress_category_links_are_categories_and_rel_tag_links_tags() -> None:
    footer = (
        '<footer class="entry-footer">Posted in <a href="/category/shanghaifabu.html" '
        'rel="category tag">shanghaifabu</a> Tagged <a href="/tag/a/" rel="tag">上海发布新闻</a>'
        "</footer>"
    )
    item = read(page(f"<article><h1>{TITLE}</h1><div>{POST}</div>{footer}</article>"))
    assert item.tags == ["上海发布新闻"]
    assert item.categories == ["shanghaifabu"]


def test_only_article_tag_meta() -> None:
    head = "".join(
        f'<meta property="article:tag" content="{tag}">' for tag in ("上海发布新闻", "疫情")
    )
    item = read(page(f"<article><h1>{TITLE}</h1><div>{POST}</div></article>", head))
    assert item.tags == ["上海发布新闻", "疫情"]


def test_tag_links_in_a_list_without_rel_and_several_tag_badges() -> None:
    listed = (
        '<ul class="post-tags"><li><a href="/tags/a.html">上海</a></li>'
        '<li><a href="/tags/b.html">疫情</a></li></ul>'
    )
    item = read(page(f"<article><h1>{TITLE}</h1><div>{POST}</div>{listed}</article>"))
    assert item.tags == ["上海", "疫情"]
    badges = '<div><span class="tag">上海</span> <span class="tag">疫情</span></div>'
    item = read(page(f"<article><h1>{TITLE}</h1><div>{POST}</div>{badges}</article>"))
    assert item.tags == ["上海", "疫情"]


def test_a_page_without_tags_gives_none_not_its_byline_related_posts_or_navigation() -> None:
    byline = '<p class="info"><span class="tag author-tag">编辑</span> ZNing</p>'
    related = (
        '<div class="related"><h3>相关阅读</h3><ul><li><a href="/emnews/2021/12/08/'
        '202112082206672930.html">离岸人民币兑美元升至2018年以来最高水平</a></li></ul></div>'
    )
    item = read(page(f"<article><h1>{TITLE}</h1>{byline}<div>{POST}</div>{related}</article>"))
    assert item.tags == []
    assert item.body_text == BODY


# -- title ----------------------------------------------------------------------------------


@pytest.mark.parametrize("site_name", ["金融消息", "财经早知道"])
def test_site_name_suffixed_in_every_metadata_source_and_the_title_in_an_h3_in_header(
    site_name: str,
) -> None:
    head = f'<meta property="og:title" content="{TITLE} | {site_name}">' + json_ld(
        headline=f"{TITLE} | {site_name}", datePublished=PUBLISHED
    )
    article = f'<main><header><h3>{TITLE}</h3></header><div class="c">{POST}</div></main>'
    item = read(page(article, head, title=f"{TITLE} - {site_name}"))
    assert item.title == TITLE


# -- body -----------------------------------------------------------------------------------

CHROME_AFTER = """<p>责任编辑：ZNing</p><p>关注“金融消息”，第一时间获取财经快讯。</p>
<h3>相关阅读</h3>
<ul><li><a href="/emnews/2021/12/08/202112082206672930.html">离岸人民币</a></li></ul>
<div class="newsletter"><h4>订阅早报</h4><p>每天早上八点发到你的邮箱。</p></div>
<p><a href="/emnews/2021/12/08/202112082206672930.html">上一篇</a></p>
<div id="comments"><h4>网友评论</h4><p>暂无评论</p></div>"""


@pytest.mark.parametrize("description", [True, False])
def test_standfirst_byline_and_chrome_around_the_post_in_one_container(description: bool) -> None:
    head = f'<meta name="description" content="{FIRST}{SECOND}">' if description else ""
    article = f"""<aside><h3>最新消息</h3>
<ul><li><a href="/x.html">{TITLE}</a> {FIRST[:20]}...</li></ul></aside>
<div class="post"><h2>{TITLE}</h2><p class="dek">{FIRST[:15]}…</p>
<p>作者：ZNing　来源：上海发布新闻　阅读约需 2 分钟</p><p>发布于 2022-03-30 23:23:14</p>
{POST}{CHROME_AFTER}</div>"""
    item = read(page(article, head))
    assert (item.title, item.published_at, item.body_text) == (TITLE, PUBLISHED, BODY)
    assert item.media == "上海发布" and item.share_url == SHARE


def test_nested_wrappers_and_paragraphs_as_divs_or_wrapped_one_by_one() -> None:
    as_divs = POST.replace("<p>", '<div class="para">').replace("<p ", "<div ")
    as_divs = as_divs.replace("</p>", "</div>")
    wrapped = "\n".join(f'<div class="blk">{block}</div>' for block in POST_BLOCKS)
    for post in (as_divs, wrapped):
        article = (
            f"<div><div><section><header><h3>{TITLE}</h3></header>{post}</section></div></div>"
        )
        item = read(page(article, json_ld(headline=TITLE, datePublished=PUBLISHED)))
        assert (item.body_text, item.media, item.share_url) == (BODY, "上海发布", SHARE)
        assert item.categories == ["shanghaifabu"]


# -- without description metadata: what stands between the byline and the post ----------------

PROMOS = (
    "<p>关注我们，第一时间获取财经快讯。</p>",
    '<p>关注我们：<a href="https://weibo.com/finews">微博</a>｜<a href="/wechat.html">微信</a></p>',
    '<p><img src="/qr.png">扫码关注“金融消息”公众号</p>',
    "<p>Sign up for our morning newsletter.</p>",
    "<p>欢迎关注金融消息微信，每天早八点推送要闻。</p>",
    '<p>Download the <a href="/app.html">金融消息 app</a> for alerts.</p>',
    '<div class="box"><h4>订阅早报</h4><p>每天早上八点发到你的邮箱。</p></div>',
    '<div><p>每天早上八点，要闻到你的邮箱。</p><input type="email"><button>好</button></div>',
)


@pytest.mark.parametrize("promo", PROMOS)
def test_a_promo_line_between_the_byline_and_the_post_is_not_the_post(promo: str) -> None:
    article = f"<div><h2>{TITLE}</h2><p>作者：ZNing　2022-03-30 23:23:14</p>{promo}{POST}</div>"
    item = read(page(article))
    assert (item.title, item.published_at, item.body_text) == (TITLE, PUBLISHED, BODY)


# -- a date shown only in an attribute ----------------------------------------------------------

EPOCH = 1648653794  # 2022-03-30 23:23:14 +08:00


@pytest.mark.parametrize(
    ("shown", "published"),
    [
        ('<span title="2022-03-30 23:23">3小时前</span>', "2022-03-30T23:23:00+08:00"),
        ('<time title="2022-03-30 23:23:14">3小时前</time>', PUBLISHED),
        ('<time title="2022年03月30日 23:23:14">昨天</time>', PUBLISHED),
        (f'<span data-time="{EPOCH}">3小时前</span>', PUBLISHED),
        (f'<span class="ago" data-timestamp="{EPOCH}000">3 hours ago</span>', PUBLISHED),
        ('<em data-publish-time="2022-03-30T23:23:14+08:00">刚刚</em>', PUBLISHED),
    ],
)
def test_a_date_only_in_an_attribute_beside_relative_text(shown: str, published: str) -> None:
    article = f"<div><h2>{TITLE}</h2><p>编辑 ZNing · {shown}</p>{POST}</div>"
    assert read(page(article)).published_at == published


def test_an_image_titled_with_a_date_opening_the_post_is_the_posts_not_a_date_line() -> None:
    image = '<p><img src="/kline.png" title="2022年03月29日 日K线"></p>'
    article = f"<div><h2>{TITLE}</h2><p>发布于 2022-03-30 23:23:14</p>{image}{POST}</div>"
    item = read(page(article))
    assert (item.published_at, item.body_text) == (PUBLISHED, BODY)
    assert item.images == ["http://127.0.0.1:8000/kline.png"]


def test_an_attribute_date_labelled_as_an_update_is_not_the_published_one() -> None:
    shown = (
        f'<p>更新于 <span data-time="{EPOCH + 86400}">刚刚</span> · '
        f'发布于 <span title="2022-03-30 23:23:14">3小时前</span></p>'
    )
    item = read(page(f"<div><h2>{TITLE}</h2>{shown}{POST}</div>"))
    assert (item.published_at, item.body_text) == (PUBLISHED, BODY)


# -- the post's date, not a comment's -----------------------------------------------------------

COMMENTS = (
    '<div class="comments"><h4>网友评论</h4><ul><li>张三 <time datetime='
    '"2022-03-31T08:15:02+08:00">2022-03-31 08:15:02</time> 说得好</li>'
    '<li>李四 <span data-time="1648686000">1小时前</span> 同意</li></ul></div>'
)


def test_a_comment_time_after_the_post_does_not_win_over_its_shown_date() -> None:
    article = f"<div><h2>{TITLE}</h2><p>发布于 2022-03-30 23:23</p>{POST}{COMMENTS}</div>"
    assert read(page(article)).published_at == "2022-03-30T23:23:00+08:00"


def test_a_date_shown_after_the_post_is_the_posts_not_the_comments_below_it() -> None:
    article = f"<div><h2>{TITLE}</h2>{POST}<p>发布于 2022-03-30 23:23</p>{COMMENTS}</div>"
    assert read(page(article)).published_at == "2022-03-30T23:23:00+08:00"
    # A date after the post is refined by a more precise one that agrees with it.
    refined = '<p><time datetime="2022-03-30T23:23:14+08:00">23:23:14</time></p>'
    article = f"<div><h2>{TITLE}</h2>{POST}<p>发布于 2022-03-30</p>{refined}{COMMENTS}</div>"
    assert read(page(article)).published_at == PUBLISHED


def test_a_date_of_another_article_listed_before_the_post_is_not_the_posts() -> None:
    rail = (
        '<ul><li><a href="/emnews/2022/03/30/202203302200000001.html">另一条快讯</a> '
        '<time datetime="2022-03-30T22:00:05+08:00">22:00</time></li></ul>'
    )
    permalink = f'<p>发布于 <a href="{URL}">2022-03-30 23:23</a></p>'
    article = f"<div><h2>{TITLE}</h2>{permalink}{rail}{POST}</div>"
    item = read(page(article))
    assert (item.published_at, item.body_text) == ("2022-03-30T23:23:00+08:00", BODY)
