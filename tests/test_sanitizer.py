"""The allow-list sanitizer of `body_html` (nh3) against an XSS corpus.

Each payload is put into a paragraph of a real page of the site and read by the parser, as a
crawl would: its `body_html` must hold nothing that can run script, load a document or submit a
form. The checker itself is first shown to flag the payload as written, so no test passes on a
payload that never reached the sanitizer.
"""

from __future__ import annotations

import html
import re

import pytest
from lxml import etree
from lxml import html as lxml_html
from support.parser_cases import CASES, page_html, page_url

from finews_crawler.parsing.article import parse_article
from finews_crawler.parsing.html_text import sanitize_html

SEED = CASES["seed_shanghaifabu"]
#: Elements that run, embed, load or submit something.
ACTIVE_TAGS = frozenset(
    {
        "script", "style", "svg", "math", "iframe", "frame", "frameset", "object", "embed",
        "applet", "meta", "base", "link", "form", "input", "button", "textarea", "select",
        "noscript", "template", "isindex", "video", "audio", "source", "details", "body",
    }
)  # fmt: skip
ACTIVE_ATTRIBUTES = frozenset(
    {"style", "srcdoc", "formaction", "action", "http-equiv", "background", "xlink:href"}
)
URL_ATTRIBUTES = frozenset({"href", "src", "data", "poster", "cite", "lowsrc", "dynsrc"})
SAFE_SCHEMES = frozenset({"http", "https"})
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]+")

PAYLOADS = {
    "javascript_url": '<a href="javascript:alert(1)">x</a>',
    "javascript_mixed_case": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "javascript_decimal_entities": '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;'
    '&#112;&#116;&#58;alert(1)">x</a>',
    "javascript_hex_entities": '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;'
    '&#x70;&#x74;&#x3A;alert(1)">x</a>',
    "javascript_no_semicolon_entities": '<a href="&#0000106&#0000097&#0000118&#0000097'
    '&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
    "javascript_named_colon": '<a href="javascript&colon;alert(1)">x</a>',
    "javascript_tab_entity": '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "javascript_newline_entity": '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    "javascript_carriage_return_entity": '<a href="jav&#x0D;ascript:alert(1)">x</a>',
    "javascript_raw_tab": '<a href="jav\tascript:alert(1)">x</a>',
    "javascript_raw_newline": '<a href="java\nscript:alert(1)">x</a>',
    "javascript_leading_spaces": '<a href="  \t javascript:alert(1)">x</a>',
    "javascript_leading_control": '<a href="&#14; javascript:alert(1)">x</a>',
    "javascript_img_src": '<img src="javascript:alert(1)">',
    "javascript_table_background": '<table background="javascript:alert(1)"><tr><td>x</td></tr>'
    "</table>",
    "data_html_url": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "data_svg_image": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "data_entity_encoded": '<a href="&#100;ata:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">'
    "x</a>",
    "vbscript_url": '<a href="vbscript:msgbox(1)">x</a>',
    "vbscript_entity_colon": '<a href="VBScript&#58;msgbox(1)">x</a>',
    "script_tag": "<script>alert(1)</script>",
    "script_split_tag": "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "svg_script": "<svg><script>alert(1)</script></svg>",
    "svg_onload": "<svg onload=alert(1)>",
    "svg_style_mutation": "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "math_mglyph_style_mutation": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"
    "</style></mglyph></table></mtext></math>",
    "math_xlink_href": '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "noscript_attribute_mutation": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "form_math_mutation": "<form><math><mtext></form><form><mglyph><style></math>"
    "<img src onerror=alert(1)>",
    "comment_mutation": '<!--<img src="--><img src=x onerror=alert(1)//">',
    "meta_refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base_href": '<base href="javascript:alert(1)//">',
    "link_stylesheet": '<link rel="stylesheet" href="javascript:alert(1)">',
    "form_action": '<form action="javascript:alert(1)"><input type="submit"></form>',
    "button_formaction": '<button formaction="javascript:alert(1)">x</button>',
    "input_formaction": '<input type="image" formaction="javascript:alert(1)" src=x>',
    "isindex_action": "<isindex action=javascript:alert(1) type=image>",
    "embed_src": '<embed src="javascript:alert(1)">',
    "object_data": '<object data="javascript:alert(1)"></object>',
    "iframe_src": '<iframe src="javascript:alert(1)"></iframe>',
    "iframe_srcdoc": '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    "img_onerror": "<img src=x onerror=alert(1)>",
    "img_onerror_upper": "<img src=x ONERROR=alert(1)>",
    "img_onerror_mixed": "<img src=x OnErRoR=alert(1)>",
    "p_onmouseover": '<p onmouseover="alert(1)">x</p>',
    "a_onclick": '<a href="#" onclick="alert(1)">x</a>',
    "body_onload": "<body onload=alert(1)>",
    "details_ontoggle": "<details open ontoggle=alert(1)>x</details>",
    "video_source_onerror": "<video><source onerror=alert(1)></video>",
    "style_url_javascript": '<div style="background:url(javascript:alert(1))">x</div>',
    "style_expression": '<div style="width: expression(alert(1))">x</div>',
    "style_behavior": '<p style="behavior: url(x.htc)">x</p>',
    "style_import": '<style>@import "javascript:alert(1)";</style>',
}


def active_constructs(fragment: str) -> list[str]:
    """Everything in `fragment` that can run script, load a document or submit a form."""
    found = []
    # After sanitizing, text is escaped: a literal `<tag` can only be a real tag.
    for tag in ACTIVE_TAGS:
        if re.search(rf"<\s*{tag}\b", fragment, re.IGNORECASE):
            found.append(f"<{tag}>")
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag.lower() in ACTIVE_TAGS:
            found.append(f"<{element.tag}>")
        for name, value in element.attrib.items():
            lowered = name.lower()
            if lowered.startswith("on") or lowered in ACTIVE_ATTRIBUTES:
                found.append(f"{element.tag}@{name}")
            elif lowered in URL_ATTRIBUTES:
                url = _IGNORED_IN_URLS.sub("", html.unescape(value)).lower()
                scheme = _SCHEME_RE.match(url)
                if scheme and scheme.group(1) not in SAFE_SCHEMES:
                    found.append(f"{element.tag}@{name}={value!r}")
    return found


def page_with(payload: str) -> str:
    """The seed page with the payload in a paragraph of its article (the section's copy)."""
    before, media, after = page_html(SEED).rpartition('<p class="em_media">')
    return f"{before}<p>正文开始{payload}正文继续</p>\n{media}{after}"


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_payload_is_neutralized_in_body_html(name: str) -> None:
    payload = PAYLOADS[name]
    assert active_constructs(payload), "the checker sees the payload as written"
    item = parse_article(page_with(payload), page_url(SEED))
    assert item is not None and "正文开始" in item.body_text
    assert active_constructs(item.body_html) == [], item.body_html[-400:]
    assert active_constructs(sanitize_html(payload)) == []


def test_stock_markup_and_links_survive() -> None:
    kept = (
        '<p><span id="stock_0.300959"><a href="http://quote.eastmoney.com/unify/r/0.300959" '
        'class="keytip" data-code="0,300959">线上线下</a></span>'
        '<span class="em_stock_key_common" data-code="1,600160">巨化股份</span>'
        '<a href="/category/shanghaifabu.html">相对</a>'
        '<img src="https://dfscdn.dfcfw.com/download/x.jpg" alt="Image" width="552"></p>'
    )
    assert sanitize_html(kept) == kept


def test_style_and_unknown_attributes_are_dropped_but_text_stays() -> None:
    cleaned = sanitize_html('<p style="color:red" web="1"><font color="red">红</font>字</p>')
    assert cleaned == "<p>红字</p>"


def test_every_mirror_body_is_free_of_active_constructs(site_dir) -> None:
    for page in site_dir.rglob("*.html"):
        url = "http://127.0.0.1:8000/" + str(page.relative_to(site_dir))
        item = parse_article(page.read_text(encoding="utf-8"), url)
        if item is not None:
            assert active_constructs(item.body_html) == [], page
            etree.fromstring(f"<div>{item.body_html}</div>", etree.HTMLParser())
