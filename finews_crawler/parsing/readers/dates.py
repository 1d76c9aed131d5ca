"""Dates as pages show them, read into the instant in the site's time zone (`+08:00`).

Machine-readable values (JSON-LD `datePublished`, `article:published_time`, `<time datetime>`)
and the date lines people read: `(GMT+8, Asia/Shanghai, CST) 2022-03-30 23:23:14`,
`2022年03月30日 23:23`, `March 30, 2022 11:23 PM`, `30 Mar 2022`... A date without an offset is
the site's local time (+08:00). Each value comes with its precision, so a reader can prefer the
one that says the most (the truth keeps seconds).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

from finews_crawler.site import SITE_TZ

DAY, MINUTE, SECOND = 1, 2, 3

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month_name>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"  # noqa: E501
_TIME = (
    r"(?:[ T]+|\s*,?\s*(?:at\s+)?)(?P<ampm_cn>上午|下午|晚上|凌晨)?\s*"
    r"(?P<hour>\d{1,2})\s*[:：时]\s*(?P<minute>\d{2})(?:\s*[:：分]\s*(?P<second>\d{2})\s*秒?)?"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?)(?![a-z]))?"
)
_DATE_FORMS = (
    # 2022-03-30 23:23:14, 2022/3/30, 2022.03.30T23:23
    rf"(?P<year>\d{{4}})[-/.](?P<month>\d{{1,2}})[-/.](?P<day>\d{{1,2}})(?!\d)(?:{_TIME})?",
    # 2022年03月30日 23:23
    rf"(?P<year>\d{{4}})\s*年\s*(?P<month>\d{{1,2}})\s*月\s*(?P<day>\d{{1,2}})\s*[日号]?(?:{_TIME})?",
    # March 30, 2022 11:23 PM
    rf"{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})(?:{_TIME})?",
    # 30 March 2022 23:23
    rf"(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(?P<year>\d{{4}})(?:{_TIME})?",
)
_DATE_RES = tuple(re.compile(form, re.IGNORECASE) for form in _DATE_FORMS)
#: An offset written next to a date: `GMT+8`, `UTC+08:00`, `+0800`, or a name of the zone.
_OFFSET_RE = re.compile(
    r"(?:\b(?:GMT|UTC)\s*(?P<named>[+-]\s*\d{1,2}(?::?\d{2})?)?(?![\w+-]))"
    r"|(?P<bare>(?<![\d:])[+-]\d{2}:?\d{2}\b)|(?P<zulu>(?<=\d)Z\b)"
    r"|(?P<china>\bCST\b|Asia/Shanghai|北京时间)",
    re.IGNORECASE,
)


_CLOCK_RE = re.compile(r"[T ]\d{1,2}:\d{2}(?P<second>:\d{2})?")
#: Words that say a date is not the publication's: an update, an edit, the time of printing or
#: of access (`更新于`, `最后修改：`, `Updated`, `打印时间：`, `Accessed on`, `... 更新`).
#: An English word starts a word (not "Credit"), and "edit" is not "Editor": a byline is not an
#: update.
_NOT_PUBLISHED_WORDS = (
    r"(?:更新|修改|修订|编辑于|打印|访问"
    r"|(?<![a-z])(?:update|modif|edit(?!or)|revis|print|access|retriev))"
)
_NOT_PUBLISHED_RE = re.compile(_NOT_PUBLISHED_WORDS, re.IGNORECASE)
#: Such a word as the label before a date (`更新于 2022-...`).
_NOT_PUBLISHED_LABEL_RE = re.compile(_NOT_PUBLISHED_WORDS + r"[^\d]{0,12}$", re.IGNORECASE)
#: Such a word right after a date (`2022-03-31 02:23 更新`).
_NOT_PUBLISHED_AFTER_RE = re.compile(r"^[^\d]{0,3}" + _NOT_PUBLISHED_WORDS, re.IGNORECASE)
#: Where a line of dates splits into the parts each label belongs to.
_DATE_PARTS_RE = re.compile(r"\s*[·|｜;；，]\s*|\s+/\s+|\s{2,}|\u3000+")
#: Digits of a Unix time in seconds and in milliseconds, and their divisor to seconds.
_EPOCH_DIGITS = {10: 1, 13: 1000}
_DIGIT_RE = re.compile(r"\d")
#: Characters before a date searched for its label.
_LABEL_CHARS = 16


class ShownDate(NamedTuple):
    instant: datetime  # aware, in +08:00
    precision: int  # DAY, MINUTE or SECOND

    def iso(self) -> str:
        return self.instant.isoformat()

    def agrees_with(self, other: ShownDate) -> bool:
        """As precise as `other` at least, and the same instant to `other`'s precision (a time
        of the day `other` shows, the second of its minute)."""
        return self.precision >= other.precision and _truncated(
            self, other.precision
        ) == _truncated(other)


def machine_date(value: object) -> ShownDate | None:
    """An ISO 8601 value (`2022-03-30T23:23:14+08:00`, `...Z`, no offset: +08:00)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return shown_date(text)
    clock = _CLOCK_RE.search(text)
    precision = DAY if clock is None else SECOND if clock.group("second") else MINUTE
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SITE_TZ)
    return ShownDate(parsed.astimezone(SITE_TZ), precision)


def epoch_date(value: str) -> ShownDate | None:
    """A Unix time in seconds (10 digits) or milliseconds (13 digits), as `data-time` holds."""
    value = value.strip()
    if not value.isdigit() or len(value) not in _EPOCH_DIGITS:
        return None
    seconds = int(value) / _EPOCH_DIGITS[len(value)]
    return ShownDate(datetime.fromtimestamp(seconds, SITE_TZ).replace(microsecond=0), SECOND)


def attribute_date(value: str | None) -> ShownDate | None:
    """A date an attribute holds (`title`, `data-time`...): Unix time, ISO 8601 or a date line."""
    if not value or _DIGIT_RE.search(value) is None:
        return None
    epoch = epoch_date(value)
    if epoch is not None:
        return epoch
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        return published_date(value)
    return machine_date(value)


def shown_date(text: str) -> ShownDate | None:
    """The first date a line of text shows, with the offset the line names (else +08:00)."""
    for date_re in _DATE_RES:
        match = date_re.search(text)
        if match is not None:
            return _from_match(match, text)
    return None


def is_not_published_label(text: str) -> bool:
    """True when `text` ends in a label such as `更新于` / `Updated` / `打印时间：` (in its last
    part: `更新于 X · 发布于 ` ends in a published label)."""
    label = _DATE_PARTS_RE.split(text[-_LABEL_CHARS:])[-1]
    return _NOT_PUBLISHED_LABEL_RE.search(label) is not None


def published_date(text: str) -> ShownDate | None:
    """The first date of a line that its label does not call an update, an edit or a time of
    printing (`更新于 2022-03-31 02:23 · 发布于 2022-03-30 23:23` -> the second; so is it in
    `2022-03-31 02:23 更新 | 2022-03-30 23:23 发布`). A label belongs to the part of the line
    its date is in (parts split at `·`, `|`, ` / `, `；`, `，` and wide spaces)."""
    for part in _DATE_PARTS_RE.split(text):
        if not part:
            continue
        matches = _dates_in(part)
        if not matches:
            continue
        if _NOT_PUBLISHED_RE.search(part) is None:
            return _from_match(matches[0], text)
        for at, match in enumerate(matches):
            if is_not_published_label(part[: match.start()]):
                continue
            last = at == len(matches) - 1
            if last and _NOT_PUBLISHED_AFTER_RE.match(part[match.end() :]):
                continue
            return _from_match(match, text)
    return None


def _dates_in(text: str) -> list[re.Match[str]]:
    """Every date of a text in order, each read once (the first form that reads it)."""
    found: list[re.Match[str]] = []
    matches = sorted(
        (match.start(), index, match)
        for index, date_re in enumerate(_DATE_RES)
        for match in date_re.finditer(text)
    )
    for _, _, match in matches:
        if not found or match.start() >= found[-1].end():
            found.append(match)
    return found


def _from_match(match: re.Match[str], text: str) -> ShownDate | None:
    parts = match.groupdict()
    month = _MONTHS[parts["month_name"].lower()] if parts.get("month_name") else int(parts["month"])
    hour, minute, second = (int(parts[key] or 0) for key in ("hour", "minute", "second"))
    hour = _twelve_hour(hour, parts.get("ampm"), parts.get("ampm_cn"))
    precision = DAY if parts["hour"] is None else SECOND if parts["second"] else MINUTE
    try:
        shown = datetime(int(parts["year"]), month, int(parts["day"]), hour, minute, second)
    except ValueError:
        return None
    return ShownDate(shown.replace(tzinfo=_offset_in(text)).astimezone(SITE_TZ), precision)


def _truncated(date: ShownDate, precision: int | None = None) -> datetime:
    """The instant cut to `precision` (the date's own by default)."""
    precision = date.precision if precision is None else min(precision, date.precision)
    if precision == DAY:
        return date.instant.replace(hour=0, minute=0, second=0, microsecond=0)
    if precision == MINUTE:
        return date.instant.replace(second=0, microsecond=0)
    return date.instant.replace(microsecond=0)


def _twelve_hour(hour: int, ampm: str | None, ampm_cn: str | None) -> int:
    afternoon = (ampm or "").lower().startswith("p") or ampm_cn in ("下午", "晚上")
    morning = (ampm or "").lower().startswith("a") or ampm_cn in ("上午", "凌晨")
    if afternoon and hour < 12:
        return hour + 12
    if morning and hour == 12:
        return 0
    return hour


def _offset_in(text: str) -> timezone:
    match = _OFFSET_RE.search(text)
    if match is None or match.group("china"):
        return SITE_TZ
    raw = (match.group("named") or match.group("bare") or "").replace(" ", "")
    if not raw:
        return UTC  # `GMT` / `UTC` alone
    sign = -1 if raw[0] == "-" else 1
    digits = raw[1:].replace(":", "")
    hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
