"""Search that understands Chinese: articles whose title, digest or body text contain a term.

The result set is exact: every article whose title, digest or body text contains the query as
written, Latin letters A-Z in either case (`contains`); one- and two-character terms (降准, 股)
included, which word-based full-text engines miss in unsegmented Chinese. Ranking: articles with
the term in the title first, then the newest. Each hit carries a snippet around the first match
(body, else digest, else title) and where the term is in it.

How the index answers (migration `0004`):
- SQLite: the FTS5 table `article_search` (trigram tokenizer, case-folded) is kept current by
  triggers on `articles` (an update re-indexes an article only when its text changed: `0006`).
  A query of three characters or more is a phrase query. A shorter one is expanded through
  the index vocabulary (`article_search_vocab`) into every trigram that starts with it; each
  indexed column ends with two padding characters, so every occurrence starts a trigram. A
  query with letters is checked again with `instr(lower(...))` (SQLite's `lower` folds A-Z
  only), so the index only ever narrows the candidates. A short query with non-ASCII letters
  (whose folding the index does its own way) is answered by a scan.
- PostgreSQL: `ILIKE` served by the pg_trgm GIN indexes, then the exact check with `strpos` over
  A-Z folded text (`translate`), which does not depend on the database's locale.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, literal_column, or_, select, table, text
from sqlalchemy.orm import Session

from finews_crawler.site import format_published_at
from finews_crawler.store.models import Article

if TYPE_CHECKING:
    from finews_crawler.store.repository import DateLike, Repository

#: Tables, views, triggers and indexes of the search index (not in the ORM models; Alembic's
#: model comparison skips them).
SEARCH_OBJECT_RE = re.compile(r"^(article_search\w*|ix_articles_\w+_trgm)$")
FTS_TABLE = "article_search"
FTS_MATCH = "article_search MATCH :match"
VOCAB_TABLE = "article_search_vocab"
#: Shorter queries go through the vocabulary (the trigram index holds no shorter tokens).
TRIGRAM = 3
#: Characters of context each side of the match in a snippet.
SNIPPET_CONTEXT = 40
DEFAULT_LIMIT = 20
#: Up to this many candidates (by the index vocabulary, which counts an article once per trigram:
#: 2-3 times the real number) are ranked by sorting them; more, by walking down the date index
#: until the limit is reached (the newest come first, so it stops early).
SORT_AT_MOST = 10_000
#: Fields searched, in the order a snippet is taken from.
SNIPPET_FIELDS = ("body_text", "digest", "title")

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FOLD = str.maketrans(_UPPER, _UPPER.lower())
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic `include_name` hook: compare everything but the search index's own objects."""
    return not (name and SEARCH_OBJECT_RE.match(name))


def fold(value: str) -> str:
    """A-Z to a-z, nothing else: the only case the search ignores."""
    return value.translate(_FOLD)


def normalize_query(query: str) -> str:
    """The query as searched: surrounding whitespace removed; ValueError when nothing is left."""
    cleaned = query.strip()
    if not cleaned:
        raise ValueError("empty search query")
    if _CONTROL.search(cleaned):
        raise ValueError("a search query cannot contain control characters")
    return cleaned


def contains(query: str, value: str | None) -> bool:
    """Whether `value` contains `query` (A-Z in either case): the definition of a match."""
    return bool(value) and fold(query) in fold(value or "")


def _has_letters(query: str) -> bool:
    return any(char.lower() != char.upper() for char in query)


def _has_other_letters(query: str) -> bool:
    return any(not char.isascii() and char.lower() != char.upper() for char in query)


@dataclass(frozen=True)
class Snippet:
    field: str
    text: str
    #: [start, end) of each match in `text`.
    spans: tuple[tuple[int, int], ...]

    def marked(self, before: str = "[", after: str = "]") -> str:
        """The snippet with every match between `before` and `after`."""
        out, last = [], 0
        for start, end in self.spans:
            out += [self.text[last:start], before, self.text[start:end], after]
            last = end
        out.append(self.text[last:])
        return "".join(out)


def make_snippet(
    query: str, fields: dict[str, str | None], context: int = SNIPPET_CONTEXT
) -> Snippet:
    """The text around the first match (body, else digest, else title), on one line."""
    needle = fold(query)
    for name in SNIPPET_FIELDS:
        value = _WHITESPACE.sub(" ", fields.get(name) or "")
        position = fold(value).find(needle)
        if position < 0:
            continue
        start = max(0, position - context)
        end = min(len(value), position + len(query) + context)
        lead = "…" if start > 0 else ""
        window = lead + value[start:end] + ("…" if end < len(value) else "")
        folded = fold(window)
        spans, at = [], folded.find(needle, len(lead))
        while at >= 0:
            spans.append((at, at + len(needle)))
            at = folded.find(needle, at + len(needle))
        return Snippet(name, window, tuple(spans))
    return Snippet("title", fields.get("title") or "", ())


@dataclass(frozen=True)
class SearchHit:
    info_code: str | None
    title: str
    published_at: str | None
    url: str
    categories: list[str]
    media: str | None
    snippet: Snippet

    def record(self) -> dict[str, Any]:
        """The hit as one JSON object (`finews search --json`)."""
        record = {key: value for key, value in asdict(self).items() if key != "snippet"}
        record["snippet"] = self.snippet.text
        record["snippet_field"] = self.snippet.field
        record["highlights"] = [list(span) for span in self.snippet.spans]
        return record


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _sqlite_match(session: Session, query: str) -> tuple[str, int]:
    """The FTS5 MATCH expression whose hits include every match ("": nothing can match), and
    at most how many articles it matches (from the index vocabulary's document counts)."""
    term, documents = literal_column("term"), literal_column("doc")
    vocabulary = select(term, documents).select_from(table(VOCAB_TABLE))
    if len(query) >= TRIGRAM:
        trigrams = {fold(query[i : i + TRIGRAM]) for i in range(len(query) - TRIGRAM + 1)}
        counts = dict(session.execute(vocabulary.where(term.in_(trigrams))).all())
        return _quoted(query), min(counts.get(trigram, 0) for trigram in trigrams)
    prefix = fold(query)
    rows = session.execute(vocabulary.where(term >= prefix, term < prefix + "\U0010ffff")).all()
    return " OR ".join(_quoted(name) for name, _ in rows), sum(n for _, n in rows)


def _exact(dialect: str, query: str) -> ColumnElement[bool]:
    """SQL for `contains(query, title or digest or body_text)`."""
    needle = fold(query)
    if dialect == "sqlite":
        hits = [
            func.instr(func.lower(func.coalesce(column, "")), needle) > 0
            for column in (Article.title, Article.digest, Article.body_text)
        ]
    else:
        hits = [
            func.strpos(func.translate(func.coalesce(column, ""), _UPPER, _UPPER.lower()), needle)
            > 0
            for column in (Article.title, Article.digest, Article.body_text)
        ]
    return or_(*hits)


def _title_hit(dialect: str, query: str) -> ColumnElement[bool]:
    needle = fold(query)
    if dialect == "sqlite":
        return func.instr(func.lower(Article.title), needle) > 0
    return func.strpos(func.translate(Article.title, _UPPER, _UPPER.lower()), needle) > 0


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _sqlite_rowids(session: Session, query: str) -> tuple[Any, int] | None:
    """The index's candidates (a rowid subquery, None when nothing can match) and at most how
    many there are; None when the index cannot answer (a short query with other letters)."""
    if len(query) < TRIGRAM and _has_other_letters(query):
        return None
    match, at_most = _sqlite_match(session, query)
    if not match:
        return False, 0
    rowids = (
        select(literal_column("rowid"))
        .select_from(table(FTS_TABLE))
        .where(text(FTS_MATCH).bindparams(match=match))
    )
    return rowids, at_most


def _pg_candidates(query: str) -> ColumnElement[bool]:
    """A condition every match meets that the pg_trgm indexes serve."""
    pattern = _like_pattern(query)
    return or_(
        *(
            column.ilike(pattern, escape="\\")
            for column in (Article.title, Article.digest, Article.body_text)
        )
    )


def search(
    repository: Repository,
    query: str,
    *,
    category: str | None = None,
    since: DateLike = None,
    limit: int | None = DEFAULT_LIMIT,
) -> list[SearchHit]:
    """The best `limit` matches of `query` (None: all), in rank order.

    `category` and `since` filter as `finews export` does (`Repository.iter_articles`).
    """
    query = normalize_query(query)
    dialect = repository.dialect
    stmt = repository._article_query(since, None, category, None, None).order_by(None)
    with Session(repository.engine) as session:
        walk = False
        if dialect == "sqlite":
            found = _sqlite_rowids(session, query)
            if found is None:  # no index: the exact check scans the table
                stmt = stmt.where(_exact(dialect, query))
            else:
                rowids, at_most = found
                if rowids is False:
                    return []
                walk = limit is not None and at_most > SORT_AT_MOST
                # `+id` keeps SQLite from looking the candidates up by rowid, so that it walks
                # down the date index instead (and stops at the limit).
                key = literal_column("+articles.id") if walk else Article.id
                stmt = stmt.where(key.in_(rowids))
                if _has_letters(query):
                    stmt = stmt.where(_exact(dialect, query))
        else:
            stmt = stmt.where(_pg_candidates(query), _exact(dialect, query))
        title_hit = _title_hit(dialect, query)
        if walk:  # many candidates: down the date index, title hits first, until `limit`
            stmt = stmt.order_by(Article.published_at.desc(), Article.id.desc())
            articles = list(session.scalars(stmt.where(title_hit).limit(limit)))
            if len(articles) < limit:
                rest = stmt.where(~title_hit).limit(limit - len(articles))
                articles += session.scalars(rest)
        else:  # few candidates: sort them
            newest = (Article.published_at.desc().nulls_last(), Article.id.desc())
            stmt = stmt.order_by(title_hit.desc(), *newest)
            articles = list(session.scalars(stmt if limit is None else stmt.limit(limit)))
        return [_hit(query, article) for article in articles]


def _hit(query: str, article: Article) -> SearchHit:
    fields = {name: getattr(article, name) for name in SNIPPET_FIELDS}
    return SearchHit(
        info_code=article.info_code,
        title=article.title,
        published_at=format_published_at(article.published_at),
        url=article.url,
        categories=list(article.categories or []),
        media=article.media,
        snippet=make_snippet(query, fields),
    )


__all__: Sequence[str] = (
    "SearchHit",
    "Snippet",
    "contains",
    "fold",
    "include_name",
    "make_snippet",
    "normalize_query",
    "search",
)
