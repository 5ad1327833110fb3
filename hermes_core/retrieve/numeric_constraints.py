"""Year and price constraints read from the numbers of a query: years, decades, amounts and ranges.

The text is scanned for *atoms*: a decade ("the 90s", "1990s", "the early 2000s", "the
eighties"), an amount with a currency ("$20", "20 dollars", "€15", "15 eur"), or a bare number.
A bare whole number of four digits inside ``year_bounds`` is year-like. Atoms become constraints
through the words around them:

==============================================  ========================================
phrasing                                        constraint
==============================================  ========================================
"from 1990 to 2000", "between 1990 and 2000",   year 1990..2000 (a decade contributes its
"1990-2000", "from the 80s to the 90s"          first year at the low end, its last at the high)
"between $10 and $30", "$10-30", "10 to 30      price 10..30 (a currency on either end, or
euros", "between 10 and 30"                     "between"/"from" before two plain numbers)
"after 2010", "newer than 2010", "post-2010"    year 2011.. (strictly after)
"since 2010", "2010 or later", "2010 onwards"   year 2010..
"before 1985", "older than 1985", "pre-1985"    year ..1984 (strictly before)
"until 1990", "through 1990", "up to 1990"      year ..1990
"in 1999", "from 1999", "1999" (bare)           year 1999..1999
"the 90s", "1990s", "the late 90s"              year 1990..1999, 1997..1999
"under $20", "less than 20 dollars", "up to     price ..20 (inclusive, as the world's
$20", "$20 or less", "under 2000"               ``price_max``)
"over 50 euros", "at least $50", "from $50"     price 50..
==============================================  ========================================

Price cues win over the year reading of a plain four-digit number ("under 2000" is a price),
except "up to"/"until", which read a year-like number as a year. A bare amount without a cue
("a $20 gift"), a bare number that is not year-like ("top 10") and a plain number that counts
something else ("under 90 minutes", "rated above 4") are no constraint. Two-digit
decades pivot at 30: "the 20s" is 2020-2029, "the 30s" 1930-1939.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Field = Literal["year", "price"]
Bounds = tuple[float | None, float | None]

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CURRENCY_WORD = r"dollars?|bucks|euros?|pounds?|usd|eur|gbp"
_DECADE_WORDS = ("twenties", "thirties", "forties", "fifties", "sixties", "seventies", "eighties", "nineties")
_ATOM = re.compile(
    r"(?P<decade>(?:\b(?P<part>early|mid|late)[\s-]*)?'?(?<!\d)(?P<century>1[89]|20)?(?P<digit>\d)0'?s\b)"
    rf"|(?P<decade_word>(?:\b(?P<word_part>early|mid|late)[\s-]*)?\b(?P<word>{'|'.join(_DECADE_WORDS)})\b)"
    rf"|(?P<amount>(?P<pre>[$€£]|\b(?:usd|eur|gbp)\s?)?(?<![\w.,])(?P<number>{_NUMBER})"
    rf"(?![.,]?\d)(?!(?!{_CURRENCY_WORD})[a-z])(?P<post>\s?(?:[$€£]|(?:{_CURRENCY_WORD})\b))?)"
)
_RANGE_LINK = re.compile(r"\s*(?:-|to|and|until|till|through|thru)\s*(?:the\s+)?")
_RANGE_OPENER = re.compile(r"\b(?:from|between)\s+(?:the\s+)?$")

# (rule, the cue words just before the atom, the atom types it reads); the first rule that matches wins
_PREFIX_RULES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("year_until", r"until|till|through|up to|up until|no later than", frozenset({"year", "decade"})),
    ("year_after", r"after|later than|newer than|post", frozenset({"year", "decade"})),
    ("year_since", r"since|starting (?:in|from)|as of", frozenset({"year", "decade"})),
    ("year_before", r"before|earlier than|older than|prior to|pre", frozenset({"year", "decade"})),
    ("year_exact", r"in|from|of|during", frozenset({"year", "decade"})),
    ("price_max", r"under|below|less than|cheaper than|lower than|at most|no more than|not more than"
                  r"|max(?:imum)?|up to|within|<=?", frozenset({"amount", "number", "year"})),
    ("price_min", r"over|above|more than|at least|min(?:imum)?|starting at|>=?",
     frozenset({"amount", "number", "year"})),
    ("price_min", r"from", frozenset({"amount"})),
)
_SUFFIX_RULES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("year_since", r"(?:or|and) (?:later|newer)|onwards?|\+", frozenset({"year", "decade"})),
    ("year_until", r"(?:or|and) (?:earlier|older)", frozenset({"year", "decade"})),
    ("price_max", r"(?:or|and) (?:less|under|below|cheaper|lower)", frozenset({"amount", "number", "year"})),
    ("price_min", r"(?:or|and) (?:more|over|above|up)|\+", frozenset({"amount", "number", "year"})),
)
# more specific cues come first ("no later than" before "later than", "no more than" before "more than")
_PREFIX_PATTERNS = tuple(
    (rule, re.compile(rf"(?<![\w<>])(?:{words})(?:\s+the)?[\s-]*$"), types) for rule, words, types in _PREFIX_RULES
)
# a suffix followed by a number belongs to the next atom ("1990 and under $20" is not "1990 and under")
_SUFFIX_PATTERNS = tuple(
    (rule, re.compile(rf"\s*(?:{words})(?![\w])(?!\s*[$€£]?\d)"), types) for rule, words, types in _SUFFIX_RULES
)

# a plain number under a price cue that counts something else ("over 100 pages", "rated above 4")
_OTHER_UNIT = re.compile(
    r"\s*(?:stars?|minutes?|mins?|hours?|hrs?|pages?|years?|yrs?|days?|weeks?|months?|episodes?|seasons?"
    r"|songs?|tracks?|percent|%|points?|gb|tb|mb|kg|km|cm|mm|inch(?:es)?|ratings?|reviews?|people|players?)(?![\w])"
)
_OTHER_MEASURE = re.compile(r"\b(?:rating|rated|score|scored|stars?|length|runtime|duration)\s*$")


@dataclass(frozen=True)
class _Atom:
    kind: str  # "decade", "amount" (a number with a currency), "year" (year-like bare number), "number"
    low: float  # first year of a decade, else the number
    high: float  # last year of a decade, else the number
    start: int
    end: int


@dataclass(frozen=True)
class NumericMention:
    """One year or price constraint found in a (normalised) text.

    ``start``/``end`` span its atoms and cue words; ``cued`` says a cue word or a range opener
    introduces it, which ends a topic clause ("movies about robots *from 1990*").
    """

    field: Field
    low: float | None
    high: float | None
    start: int
    end: int
    cued: bool


def _decade(century: str | None, digit: str, part: str | None) -> tuple[float, float]:
    if century is None:
        first = (2000 if int(digit) < 3 else 1900) + 10 * int(digit)
    else:
        first = 100 * int(century) + 10 * int(digit)
    offset = {"early": (0, 3), "mid": (4, 6), "late": (7, 9), None: (0, 9)}[part]
    return float(first + offset[0]), float(first + offset[1])


def _atoms(text: str, year_bounds: tuple[int, int]) -> list[_Atom]:
    atoms: list[_Atom] = []
    for match in _ATOM.finditer(text):
        if match["decade"]:
            low, high = _decade(match["century"], match["digit"], match["part"])
            atoms.append(_Atom("decade", low, high, match.start(), match.end()))
        elif match["decade_word"]:
            low, high = _decade("19", str(2 + _DECADE_WORDS.index(match["word"])), match["word_part"])
            atoms.append(_Atom("decade", low, high, match.start(), match.end()))
        else:
            digits = match["number"]
            value = float(digits.replace(",", ""))
            if match["pre"] or match["post"]:
                kind = "amount"
            elif len(digits) == 4 and digits.isdigit() and year_bounds[0] <= value <= year_bounds[1]:
                kind = "year"
            else:
                kind = "number"
            atoms.append(_Atom(kind, value, value, match.start(), match.end()))
    return atoms


def _range(first: _Atom, second: _Atom, text: str) -> NumericMention | None:
    link = _RANGE_LINK.fullmatch(text[first.end:second.start])
    opener = _RANGE_OPENER.search(text[max(0, first.start - 16):first.start])
    if link is None or (link.group().strip() == "and" and (opener is None or "between" not in opener.group())):
        return None
    start = first.start - (len(opener.group()) if opener else 0)
    kinds = {first.kind, second.kind}
    if "amount" in kinds or (kinds == {"number"} and opener is not None and not _counts_other(text, start, second)):
        field: Field = "price"
    elif kinds <= {"year", "decade"}:
        field = "year"
    else:
        return None
    low, high = min(first.low, second.low), max(first.high, second.high)
    return NumericMention(field, low, high, start, second.end, opener is not None)


def _counts_other(text: str, start: int, atom: _Atom) -> bool:
    """A plain number from ``start`` to ``atom`` measures something other than money."""
    return bool(_OTHER_UNIT.match(text, atom.end) or _OTHER_MEASURE.search(text[max(0, start - 20):start]))


def _single(atom: _Atom, text: str) -> NumericMention | None:
    after = text[atom.end:atom.end + 20]
    for rule, pattern, types in _SUFFIX_PATTERNS:
        found = pattern.match(after)
        if found and atom.kind in types:
            if rule.startswith("price") and atom.kind != "amount" and _counts_other(text, atom.start, atom):
                return None
            return _bounded(rule, atom, atom.start, atom.end + found.end(), cued=True)
    before = text[max(0, atom.start - 25):atom.start]
    for rule, pattern, types in _PREFIX_PATTERNS:
        found = pattern.search(before)
        if found and atom.kind in types:
            start = atom.start - len(found.group())
            if rule.startswith("price") and atom.kind != "amount" and _counts_other(text, start, atom):
                return None
            return _bounded(rule, atom, start, atom.end, cued=True)
    if atom.kind in ("year", "decade"):
        return NumericMention("year", atom.low, atom.high, atom.start, atom.end, cued=False)
    return None


def _bounded(rule: str, atom: _Atom, start: int, end: int, cued: bool) -> NumericMention:
    bounds: dict[str, tuple[Field, float | None, float | None]] = {
        "year_after": ("year", atom.high + 1, None),
        "year_since": ("year", atom.low, None),
        "year_before": ("year", None, atom.low - 1),
        "year_until": ("year", None, atom.high),
        "year_exact": ("year", atom.low, atom.high),
        "price_max": ("price", None, atom.high),
        "price_min": ("price", atom.low, None),
    }
    field, low, high = bounds[rule]
    return NumericMention(field, low, high, start, end, cued)


def find_numeric_mentions(text: str, year_bounds: tuple[int, int] = (1870, 2100)) -> list[NumericMention]:
    """Every year and price constraint of ``text`` (already lower-cased), in text order.

    ``year_bounds`` (inclusive) decides which bare four-digit numbers read as years.
    """
    atoms = _atoms(text, year_bounds)
    mentions: list[NumericMention] = []
    index = 0
    while index < len(atoms):
        pair = _range(atoms[index], atoms[index + 1], text) if index + 1 < len(atoms) else None
        if pair is not None:
            mentions.append(pair)
            index += 2
            continue
        single = _single(atoms[index], text)
        if single is not None:
            mentions.append(single)
        index += 1
    return mentions


def merge_bounds(bounds: list[Bounds]) -> Bounds | None:
    """One range from several mentions of a field, ``None`` when there are none.

    Mentions that are all closed ranges are alternatives ("the 80s and 90s", "1995 or 1996") and
    merge into the range that covers them; otherwise each mention narrows the others ("after 1990
    and before 2000" is 1991..1999). Contradictory mentions ("before 1980 and after 2000") keep
    the first, the one a reader meets first.
    """
    if not bounds:
        return None
    if all(low is not None and high is not None for low, high in bounds):
        return min(low for low, _ in bounds if low is not None), max(high for _, high in bounds if high is not None)
    lows = [low for low, _ in bounds if low is not None]
    highs = [high for _, high in bounds if high is not None]
    low, high = (max(lows) if lows else None), (min(highs) if highs else None)
    if low is not None and high is not None and low > high:
        return bounds[0]
    return low, high
