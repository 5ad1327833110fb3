"""TeX to MathML, and markdown (Jupyter flavour) with every formula rendered as MathML.

Every ``$...$`` and ``$$...$$`` formula is converted to MathML on the server with
``latex2mathml`` (pure Python), so a page shows its maths offline, without MathJax;
:mod:`hermes_core.html_report` uses this for markdown cells and for the ``text/markdown``
outputs of code cells (``display(Markdown(...))``).

How the maths is found: nbconvert's mistune parser (``MathBlockParser``/``MathInlineParser``)
already tokenises maths before any emphasis rule can see it, and code spans and fenced code
blocks are tokenised by position, so a ``$`` inside code is never read as maths. Two rules are
made stricter than nbconvert's (the ``pandoc`` rules): inline maths needs a non-space character
after the opening and before the closing ``$``, and a closing ``$`` followed by a digit does not
close (so "costs $5 and $10" stays text); a ``$$ ... $$`` display never spans a blank line.
Each formula is converted once and replaced by a placeholder token (:class:`MathStore`); the
tokens are swapped for the MathML after nbconvert's HTML post-processing, so neither
ElementTree (heading anchors) nor BeautifulSoup (image alt texts) rewrites the MathML.

A formula that latex2mathml cannot convert (a syntax error, an unbalanced brace, or a command it
does not know, which it would otherwise print as ``\\command`` text) is shown as its TeX in a
``<code class="tex">`` element and logged; rendering never fails because of one formula.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, ClassVar

from latex2mathml.converter import convert as latex_to_mathml
from nbconvert.filters.markdown_mistune import (
    IPythonRenderer,
    MarkdownWithMath,
    MathBlockParser,
    MathInlineParser,
)

logger = logging.getLogger(__name__)

__all__ = [
    "MathConversionError",
    "MathSpan",
    "MathStore",
    "markdown_parser",
    "markdown_to_html",
    "math_spans",
    "render_math",
    "tex_to_mathml",
]


# --------------------------------------------------------------------------------------------
# TeX -> MathML


class MathConversionError(ValueError):
    """A TeX formula that latex2mathml cannot turn into MathML."""


# latex2mathml prints a command it does not know as literal text (``<mi>\foo</mi>``)
_UNKNOWN_COMMAND = re.compile(r"\\[A-Za-z]+")
_MATHVARIANT_LETTER = re.compile(
    r'<(?P<tag>mi|mn) mathvariant="(?P<variant>double-struck|script|fraktur|bold)">'
    r"(?P<char>[A-Za-z0-9])</(?P=tag)>"
)
# Unicode names of the Mathematical Alphanumeric Symbols; the first name that exists wins
# (the blocks have holes filled by older Letterlike Symbols: ℝ, ℋ, ℭ ...).
_VARIANT_NAMES: dict[str, tuple[str, ...]] = {
    "double-struck": ("MATHEMATICAL DOUBLE-STRUCK {kind} {char}", "DOUBLE-STRUCK {kind} {char}"),
    "script": ("MATHEMATICAL SCRIPT {kind} {char}", "SCRIPT {kind} {char}"),
    "fraktur": ("MATHEMATICAL FRAKTUR {kind} {char}", "BLACK-LETTER {kind} {char}"),
    "bold": ("MATHEMATICAL BOLD {kind} {char}",),
}


def _variant_character(variant: str, char: str) -> str | None:
    """The Unicode mathematical letter or digit for ``char`` in ``variant``, if one exists."""
    if char.isdigit():
        kind, name = "DIGIT", unicodedata.name(char).split()[-1]  # "DIGIT ONE" -> "ONE"
    else:
        kind, name = ("CAPITAL" if char.isupper() else "SMALL"), char.upper()
    for pattern in _VARIANT_NAMES[variant]:
        try:
            return unicodedata.lookup(pattern.format(kind=kind, char=name))
        except KeyError:
            continue
    return None


def _spell_out_mathvariants(mathml: str) -> str:
    """Replace ``mathvariant="double-struck"`` (etc.) single letters by Unicode letters.

    MathML Core, which Chromium implements, ignores ``mathvariant`` other than ``normal``, so
    ``\\mathbb 1`` and ``\\mathcal N`` would show as a plain 1 and N; the Unicode characters
    𝟙 and 𝒩 render everywhere.
    """

    def replace(match: re.Match[str]) -> str:
        character = _variant_character(match["variant"], match["char"])
        if character is None:
            return match[0]
        return f"<{match['tag']}>&#x{ord(character):05X};</{match['tag']}>"

    return _MATHVARIANT_LETTER.sub(replace, mathml)


def _check_braces(tex: str) -> None:
    """Raise if ``{``/``}`` do not balance (escaped ``\\{``, ``\\}`` are literal braces).

    latex2mathml silently drops a missing argument (``\\frac{1`` becomes a one-child
    ``<mfrac>``), so an unbalanced formula is refused before conversion.
    """
    depth = 0
    for match in re.finditer(r"\\.|[{}]", tex, flags=re.DOTALL):
        token = match[0]
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth < 0:
                raise MathConversionError(f"unbalanced '}}' at character {match.start()} of {tex!r}")
    if depth:
        raise MathConversionError(f"{depth} unclosed '{{' in {tex!r}")


def tex_to_mathml(tex: str, *, display: bool) -> str:
    """Convert one TeX formula (without its ``$`` delimiters) to a ``<math>`` element.

    ``display=True`` gives ``<math display="block">`` (``$$...$$``), otherwise inline.
    Raises :class:`MathConversionError` when latex2mathml fails, when braces do not balance,
    or when the result still contains a ``\\command`` latex2mathml did not know.
    """
    source = tex.strip()
    if not source:
        raise MathConversionError("empty formula")
    _check_braces(source)
    try:
        mathml = latex_to_mathml(source, display="block" if display else "inline")
    except Exception as error:  # latex2mathml raises many unrelated types (IndexError, its own)
        raise MathConversionError(f"latex2mathml cannot convert {source!r}: {type(error).__name__} {error}") from error
    unknown = _UNKNOWN_COMMAND.findall(mathml)
    if unknown:
        raise MathConversionError(f"latex2mathml does not know {', '.join(sorted(set(unknown)))} in {source!r}")
    return _spell_out_mathvariants(mathml)


def _delimited(tex: str, display: bool) -> str:
    return f"$${tex}$$" if display else f"${tex}$"


def render_math(tex: str, *, display: bool) -> str:
    """MathML for ``tex``, or its TeX (with delimiters) in ``<code class="tex">``; never raises."""
    try:
        return tex_to_mathml(tex, display=display)
    except MathConversionError as error:
        logger.warning("formula left as TeX: %s", error)
        return f'<code class="tex">{html_lib.escape(_delimited(tex, display))}</code>'


# --------------------------------------------------------------------------------------------
# Markdown with maths


@dataclass(frozen=True)
class MathSpan:
    """One formula found in markdown: its TeX (without delimiters) and whether it is display."""

    tex: str
    display: bool


@dataclass
class MathStore:
    """Formulas rendered so far, each standing in the HTML as a placeholder token until the end."""

    rendered: list[str] = field(default_factory=list)  # MathML or the <code class="tex"> fallback
    spans: list[MathSpan] = field(default_factory=list)

    TOKEN: ClassVar[re.Pattern[str]] = re.compile(r"HERMESMATH(\d{6})X")

    def add(self, tex: str, display: bool) -> str:
        self.spans.append(MathSpan(tex, display))
        self.rendered.append(render_math(tex, display=display))
        return f"HERMESMATH{len(self.rendered) - 1:06d}X"

    def as_mathml(self, text: str) -> str:
        return self.TOKEN.sub(lambda m: self._lookup(m, self.rendered), text)

    def as_tex(self, text: str) -> str:
        """The text with each token replaced by its TeX (for attributes and anchor ids)."""
        return self.TOKEN.sub(lambda m: self._lookup(m, [span.tex for span in self.spans]), text)

    @staticmethod
    def _lookup(match: re.Match[str], values: list[str]) -> str:
        index = int(match[1])  # a token-like string the store did not issue is left as it is
        return values[index] if index < len(values) else match[0]


class _StrictMathInlineParser(MathInlineParser):
    """nbconvert's inline maths parser with pandoc's rules for ``$...$``.

    The opening ``$`` must be followed and the closing ``$`` preceded by a non-space
    character, the closing ``$`` must not be followed by a digit, and the body holds no
    backtick (so a code span that starts inside ``$...$`` stays code). ``\\$`` is a literal
    dollar outside maths and an escaped one inside.
    """

    INLINE_MATH_TEX = r"(?<![$\\])\$(?![\s$])(?P<math_inline_tex>(?:\\.|[^$`\\])+?)(?<!\s)\$(?!\d)"
    SPECIFICATION: ClassVar[dict[str, str]] = {
        **MathInlineParser.SPECIFICATION,
        "inline_math_tex": f"(?s:{INLINE_MATH_TEX})",
    }


class _StrictMathBlockParser(MathBlockParser):
    """nbconvert's block parser, but a ``$$ ... $$`` display never spans a blank line.

    TeX itself forbids a paragraph break inside maths; without this rule a stray ``$$`` could
    swallow the blocks (fenced code included) up to the next ``$$`` further down.
    """

    MULTILINE_MATH = (
        r"(?s:(?<!\\)[$]{2}(?:(?!\n[ \t]*\n).)*?(?<!\\)[$]{2}"
        r"|\\\\\[.*?\\\\\]"
        r"|\\begin\{(?P<math_env_name>[a-z]*\*?)\}.*?\\end\{(?P=math_env_name)\})"
    )
    SPECIFICATION: ClassVar[dict[str, str]] = {
        **MathBlockParser.SPECIFICATION,
        "multiline_math": MULTILINE_MATH,
    }


class _MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, writing maths as placeholder tokens of a :class:`MathStore`."""

    def __init__(self, store: MathStore, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store

    def block_math(self, body: str) -> str:
        return self.store.add(body, display=True)

    def inline_math(self, body: str) -> str:
        return self.store.add(body, display=False)

    def latex_environment(self, name: str, body: str) -> str:
        return self.store.add(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)

    def multiline_math(self, text: str) -> str:  # mistune 2 only
        return text

    def heading(self, text: str, level: int, **attrs: Any) -> str:
        # nbconvert's add_anchor re-parses the heading with ElementTree, which would prefix the
        # MathML namespace (ns0:math); the anchor id is built here from the heading's plain text.
        plain = html_lib.unescape(re.sub(r"<[^>]*>", "", self.store.as_tex(text))).strip()
        # nbconvert's id rule (filters.strings._convert_header_id): spaces to "-", URL-quoted
        anchor = html_lib.escape(urllib.parse.quote(plain.replace(" ", "-"), safe="?/:@!$&'()*+,;="), quote=True)
        link = "" if self.exclude_anchor_links else (
            f'<a class="anchor-link" href="#{anchor}">{self.anchor_link_text}</a>'
        )
        return f'<h{level} id="{anchor}">{text}{link}</h{level}>\n'

    def image(self, text: str, url: str, title: str | None = None) -> str:
        return super().image(self.store.as_tex(text), url, title)


def markdown_parser(store: MathStore, **renderer_options: Any) -> MarkdownWithMath:
    """nbconvert's markdown parser with the strict maths rules, rendering each formula into
    ``store`` (``renderer_options`` go to nbconvert's ``IPythonRenderer``)."""
    renderer = _MathMLRenderer(store, escape=False, **renderer_options)
    return MarkdownWithMath(
        renderer=renderer, block=_StrictMathBlockParser(), inline=_StrictMathInlineParser(hard_wrap=False)
    )


def markdown_to_html(source: str) -> str:
    """Markdown (Jupyter flavour) to an HTML fragment with every formula as MathML."""
    store = MathStore()
    return store.as_mathml(markdown_parser(store).render(source))


def math_spans(source: str) -> list[MathSpan]:
    """Every formula the renderer finds in a markdown string, in order (code is skipped)."""
    store = MathStore()
    markdown_parser(store).render(source)
    return store.spans
