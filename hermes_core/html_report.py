"""Offline, light HTML pages of executed notebooks, with the maths rendered as MathML.

nbconvert's default ``lab`` template writes ~1,900 lines of identical scripts and styles into
every page and loads require.js and MathJax from a CDN, so offline every formula shows as raw
TeX. This module renders the body with nbconvert's ``classic``/``basic`` cell markup, wraps it
in a small page with one compact inline ``<style>``, and converts every ``$...$`` and
``$$...$$`` formula to MathML on the server with ``latex2mathml`` (pure Python), in markdown
cells and in the ``text/markdown`` outputs of code cells (``display(Markdown(...))``). The page
loads nothing from the network: images stay embedded as ``data:`` URIs, scripts are dropped.

How the maths is found: nbconvert's mistune parser (``MathBlockParser``/``MathInlineParser``)
already tokenises maths before any emphasis rule can see it, and code spans and fenced code
blocks are tokenised by position, so a ``$`` inside code is never read as maths. Two rules are
made stricter than nbconvert's (the ``pandoc`` rules): inline maths needs a non-space character
after the opening and before the closing ``$``, and a closing ``$`` followed by a digit does not
close (so "costs $5 and $10" stays text); a ``$$ ... $$`` display never spans a blank line.
Each formula is converted once and replaced by a placeholder token; the tokens are swapped for
the MathML after nbconvert's HTML post-processing, so neither ElementTree (heading anchors) nor
BeautifulSoup (image alt texts) rewrites the MathML.

A formula that latex2mathml cannot convert (a syntax error, an unbalanced brace, or a command it
does not know, which it would otherwise print as ``\\command`` text) is shown as its TeX in a
``<code class="tex">`` element and logged; rendering never fails because of one formula.

The output is byte-deterministic: the same executed notebook gives identical bytes (no dates, no
random ids; heading anchors derive from the heading text, cell anchors from the cell ids).
"""

from __future__ import annotations

import copy
import html as html_lib
import logging
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import nbformat
from bs4 import BeautifulSoup
from jinja2 import DictLoader, pass_context
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import (
    IPythonRenderer,
    MarkdownWithMath,
    MathBlockParser,
    MathInlineParser,
)
from nbformat import NotebookNode

logger = logging.getLogger(__name__)

__all__ = [
    "MathConversionError",
    "MathSpan",
    "external_resources",
    "markdown_to_html",
    "math_spans",
    "notebook_summary",
    "render_math",
    "render_notebook_html",
    "tex_to_mathml",
    "write_index",
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
class _MathStore:
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
    """nbconvert's markdown renderer, writing maths as placeholder tokens of a :class:`_MathStore`."""

    def __init__(self, store: _MathStore, **kwargs: Any) -> None:
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


def _markdown_parser(store: _MathStore, **renderer_options: Any) -> MarkdownWithMath:
    renderer = _MathMLRenderer(store, escape=False, **renderer_options)
    return MarkdownWithMath(
        renderer=renderer, block=_StrictMathBlockParser(), inline=_StrictMathInlineParser(hard_wrap=False)
    )


def markdown_to_html(source: str) -> str:
    """Markdown (Jupyter flavour) to an HTML fragment with every formula as MathML."""
    store = _MathStore()
    return store.as_mathml(_markdown_parser(store).render(source))


def math_spans(source: str) -> list[MathSpan]:
    """Every formula the renderer finds in a markdown string, in order (code is skipped)."""
    store = _MathStore()
    _markdown_parser(store).render(source)
    return store.spans


# --------------------------------------------------------------------------------------------
# Notebook page

# Outputs whose HTML is a <script> (and, for widgets, a random uuid4 element id): dropped so
# that the page runs nothing and is deterministic; their text/plain fallback still shows.
_SCRIPT_MIME_TYPES = (
    "application/javascript",
    "text/javascript",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
)

_CELL_TEMPLATE = r"""
{%- extends 'classic/base.html.j2' -%}

{% block input %}
<details class="source"><summary>{{ cell | hermes_code_summary }}</summary>
{{ cell.source | highlight_code(metadata=cell.metadata) | clean_html }}
</details>
{%- endblock input %}

{% block data_latex scoped %}
<div class="output_latex output_subarea {{ extra_class }}">
{{ output.data['text/latex'] | hermes_latex_output }}
</div>
{%- endblock data_latex %}
"""

_NUMERIC_CELL = re.compile(
    r"[\s\d.,+\-−–±×%‰eE\[\]()/:≤≥<>~≈]*\d[\s\d.,+\-−–±×%‰eE\[\]()/:≤≥<>~≈]*"
    r"|[-−+]?(?:nan|NaN|inf|∞)|—|–|-|<NA>|NaT|None|",
)

_DISPLAY_DELIMITERS = re.compile(r"(?s)^\s*(?:\$\$(.*)\$\$|\\\[(.*)\\\]|\$(.*)\$)\s*$")

_CSS = """\
body{margin:0;background:#fff;color:#1f2328;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:62rem;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1,h2,h3,h4{line-height:1.25;margin:1.6em 0 .5em}
h1{font-size:1.75em;margin-top:.3em}
h2{font-size:1.35em;border-bottom:1px solid #d8dee4;padding-bottom:.2em}
h3{font-size:1.12em}
a{color:#0b5cad}
a.anchor-link{visibility:hidden;margin-left:.3em;text-decoration:none;color:#8c959f}
:is(h1,h2,h3,h4,h5,h6):hover>a.anchor-link{visibility:visible}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.87em}
code{background:#f3f4f6;padding:.05em .3em;border-radius:3px}
code.tex{color:#a40e26}
pre{margin:.3em 0;padding:.55em .8em;overflow-x:auto;background:#f6f8fa;border-radius:4px;line-height:1.4}
pre code{background:none;padding:0}
math{font-size:1.08em}
math[display=block]{margin:.6em 0;overflow-x:auto;overflow-y:hidden}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #d0d7de;padding:.25em .55em;text-align:left;vertical-align:top}
thead th{background:#f3f4f6}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
img{max-width:100%;height:auto}
.output_html,.output_markdown{overflow-x:auto}
.output_area{margin:.3em 0}
.output_text pre{font-size:.8em}
.output_stderr pre{background:#fff8e6}
.output_error pre{background:#ffebe9}
details.source{margin:1em 0 .2em;font-size:.85em;color:#57606a}
details.source>summary{cursor:pointer;font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.highlight .c,.highlight .c1,.highlight .cm{color:#6e7781;font-style:italic}
.highlight .k,.highlight .kn,.highlight .kc,.highlight .ow{color:#8250df}
.highlight .s,.highlight .s1,.highlight .s2,.highlight .sa,.highlight .sd,.highlight .si{color:#0a3069}
.highlight .m,.highlight .mi,.highlight .mf,.highlight .nb,.highlight .bp{color:#0550ae}
.highlight .nf,.highlight .nc,.highlight .nd{color:#953800}
.ansi-red-fg{color:#c62828}.ansi-green-fg{color:#2e7d32}.ansi-yellow-fg{color:#8d6e00}
.ansi-blue-fg{color:#1565c0}.ansi-cyan-fg{color:#00838f}.ansi-bold{font-weight:bold}
ul.reports{padding-left:1.2em}ul.reports li{margin:.7em 0}ul.reports p{margin:.15em 0;color:#444}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""


def _page(title: str, body: str) -> str:
    return _PAGE.format(title=html_lib.escape(title), css=_CSS, body=body.strip("\n"))


def _code_summary(cell: NotebookNode) -> str:
    """``In [n]: <first non-blank line>`` (escaped, at most 90 characters) for a code cell."""
    count = cell.get("execution_count")
    lines = [line.strip() for line in cell.get("source", "").splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if len(first) > 90:
        first = first[:89] + "…"
    more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return html_lib.escape(f"In [{count if count is not None else ' '}]: {first}{more}")


class _LightHTMLExporter(HTMLExporter):
    """HTMLExporter with the ``basic`` markup, collapsed code, and MathML via a :class:`_MathStore`."""

    def __init__(self, store: _MathStore, **kwargs: Any) -> None:
        super().__init__(
            template_name="basic",
            template_file="hermes_light.html.j2",
            extra_loaders=[DictLoader({"hermes_light.html.j2": _CELL_TEMPLATE})],
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
            **kwargs,
        )
        self.store = store

    @pass_context
    def markdown2html(self, context: Any, source: str) -> str:
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        parser = _markdown_parser(
            self.store,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=path,
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
        )
        return parser.render(source)

    def latex_output(self, latex: str) -> str:
        """A ``text/latex`` output (e.g. ``display(Math(...))``) as display MathML."""
        match = _DISPLAY_DELIMITERS.match(latex)
        tex = next((group for group in match.groups() if group is not None), latex) if match else latex
        return self.store.add(tex.replace(r"\displaystyle", ""), display=True)

    def default_filters(self):  # type: ignore[no-untyped-def]
        yield from super().default_filters()
        yield ("markdown2html", self.markdown2html)
        yield ("hermes_code_summary", _code_summary)
        yield ("hermes_latex_output", self.latex_output)


def _without_scripts(notebook: NotebookNode) -> NotebookNode:
    """A copy of ``notebook`` without script-only output data and without widget state."""
    notebook = copy.deepcopy(notebook)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data:
                for mime_type in _SCRIPT_MIME_TYPES:
                    data.pop(mime_type, None)
    return notebook


def _mark_numeric_cells(body: str) -> str:
    """Add ``class="num"`` to every table cell whose text is a number (right-aligned by CSS)."""
    soup = BeautifulSoup(body, features="html.parser")
    for cell in soup.find_all("td"):
        if _NUMERIC_CELL.fullmatch(cell.get_text().strip()) and not cell.find(["img", "table"]):
            cell["class"] = [*cell.get("class", []), "num"]
    return str(soup)


def _read_notebook(path: Path) -> NotebookNode:
    if not Path(path).is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    return nbformat.read(path, as_version=4)


def render_notebook_html(executed: Path, html: Path) -> Path:
    """Write ``html``: a self-contained, light, deterministic page of the notebook ``executed``.

    The page is the ``basic`` cell markup with code collapsed into ``<details>``, maths as
    MathML, numeric table cells right-aligned, images as ``data:`` URIs, one inline
    ``<style>`` and no script. Returns ``html``.
    """
    executed, html = Path(executed), Path(html)
    notebook = _read_notebook(executed)
    title, _ = _summary_of(notebook, fallback_title=executed.stem)
    store = _MathStore()
    exporter = _LightHTMLExporter(store)
    resources = {"metadata": {"path": str(executed.parent.resolve()), "name": executed.stem}}
    body, _ = exporter.from_notebook_node(_without_scripts(notebook), resources=resources)
    page = _page(title, store.as_mathml(_mark_numeric_cells(body)))
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_bytes(page.encode("utf-8"))
    return html


# --------------------------------------------------------------------------------------------
# Summary and index

_HEADING = re.compile(r"^ {0,3}# +(?P<title>.+?)(?: +#+)?\s*$")
_BLOCK_START = re.compile(r"^ {0,3}(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|>|\||<|\$\$)")
_FENCE = re.compile(r"^ {0,3}(?:```|~~~)")
# a sentence ends at . ! ? followed by a space and a capital, digit or opening mark,
# unless the word before the period is a common abbreviation
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"“‘'])")
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "cf.", "vs.", "etc.", "Fig.", "Sec.", "Eq.", "approx.", "resp.")


def _strip_markdown(text: str) -> str:
    """Plain text of one markdown paragraph: no emphasis, code, link or maths markup."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)  # images -> alt text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links -> their text
    text = re.sub(r"`+([^`]*)`+", r"\1", text)
    text = re.sub(r"\$\$?([^$]+)\$\$?", r"\1", text)  # maths -> its TeX
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])", r"\2", text)
    text = re.sub(r"~~(.+?)~~", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!$])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _first_sentence(paragraph: str) -> str:
    for match in _SENTENCE_END.finditer(paragraph):
        if paragraph[:match.start()].endswith(_ABBREVIATIONS):
            continue
        return paragraph[:match.start()].strip()
    return paragraph.strip()


def _first_paragraph(lines: list[str]) -> str | None:
    """The first plain paragraph: whole lists, quotes, tables, fences and HTML blocks are skipped."""
    paragraph: list[str] = []
    skipping = in_fence = False
    for line in lines:
        if _FENCE.match(line):
            if paragraph:
                break
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if not line.strip():
            if paragraph:
                break
            skipping = False
            continue
        if skipping:
            continue
        if _BLOCK_START.match(line) or line.startswith(("    ", "\t")):
            if paragraph:
                break
            skipping = True  # up to the next blank line, with the block's continuation lines
            continue
        paragraph.append(line.strip())
    return " ".join(paragraph) if paragraph else None


def _summary_of(notebook: NotebookNode, *, fallback_title: str) -> tuple[str, str]:
    markdown_cells = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
    if not markdown_cells:
        return fallback_title, ""
    lines = markdown_cells[0].source.splitlines()
    title, after = fallback_title, lines
    for index, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading:
            title, after = _strip_markdown(heading["title"]), lines[index + 1:]
            break
    paragraph = _first_paragraph(after)
    if paragraph is None and len(markdown_cells) > 1:  # the first cell holds only the heading
        paragraph = _first_paragraph(markdown_cells[1].source.splitlines())
    return title, _first_sentence(_strip_markdown(paragraph)) if paragraph else ""


def notebook_summary(notebook: Path) -> tuple[str, str]:
    """``(title, one-line summary)`` of a notebook, for the index page.

    The title is the first ``# `` heading of the first markdown cell (markup stripped; the
    file's stem when there is none); the summary is the first sentence of the first paragraph
    after that heading (in the next markdown cell if the first holds only the heading),
    markdown stripped, or ``""`` when there is no paragraph.
    """
    notebook = Path(notebook)
    return _summary_of(_read_notebook(notebook), fallback_title=notebook.stem)


def write_index(html_dir: Path, pages: list[tuple[str, str, str]]) -> Path:
    """Write ``html_dir/index.html`` linking each ``(file name, title, summary)`` in order."""
    html_dir = Path(html_dir)
    items = []
    for file_name, title, summary in pages:
        if "/" in file_name or "\\" in file_name or not file_name:
            raise ValueError(f"index page entry {file_name!r} ({title!r}) is not a plain file name in {html_dir}")
        link = f'<a href="{html_lib.escape(file_name, quote=True)}">{html_lib.escape(title)}</a>'
        text = f"\n<p>{html_lib.escape(summary)}</p>" if summary else ""
        items.append(f"<li>{link}{text}</li>")
    body = "<h1>Hermes reports</h1>\n<ul class=\"reports\">\n" + "\n".join(items) + "\n</ul>"
    index = html_dir / "index.html"
    html_dir.mkdir(parents=True, exist_ok=True)
    index.write_bytes(_page("Hermes reports", body).encode("utf-8"))
    return index


# --------------------------------------------------------------------------------------------
# External resources

_EXTERNAL_URL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(?P<quote>['"]?)(?P<url>.*?)(?P=quote)\s*\)|@import\s+(?P<q2>['"])(?P<import>.*?)(?P=q2)""",
                      re.IGNORECASE | re.DOTALL)
# the attributes through which a tag makes the browser fetch something
_RESOURCE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),  # SVG
}
_FETCHING_LINK_RELS = frozenset({"stylesheet", "preload", "modulepreload", "prefetch", "icon", "apple-touch-icon", "manifest"})


class _ResourceCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def _add(self, value: str | None) -> None:
        if value and _EXTERNAL_URL.match(value):
            self.urls.append(value.strip())

    def _add_css(self, css: str) -> None:
        for match in _CSS_URL.finditer(css):
            self._add(match["url"] if match["url"] is not None else match["import"])

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "link":
            rels = set((attributes.get("rel") or "").lower().split())
            if rels & _FETCHING_LINK_RELS:
                self._add(attributes.get("href"))
        for name in _RESOURCE_ATTRIBUTES.get(tag, ()):
            value = attributes.get(name)
            if name == "srcset" and value:
                for candidate in value.split(","):
                    self._add(candidate.strip().split(" ")[0])
            else:
                self._add(value)
        if attributes.get("style"):
            self._add_css(attributes["style"] or "")
        if tag == "style":
            self._in_style = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "style":
            self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._add_css(data)


def external_resources(html_text: str) -> list[str]:
    """Every network URL (``http://``, ``https://``, ``//``) the page would fetch, in order.

    Counted: ``<script src>``, ``<link href>`` with a fetching ``rel`` (stylesheet, preload,
    modulepreload, prefetch, icon, apple-touch-icon, manifest), ``src``/``srcset``/``poster``/
    ``data`` of img, iframe, source, video, audio, track, embed, object, input and SVG image,
    and CSS ``url(...)``/``@import`` in ``<style>`` elements and ``style`` attributes. Plain
    ``<a href>`` links and namespace URIs (``xmlns``) are not resources. Each use is listed
    (a URL used twice appears twice).
    """
    collector = _ResourceCollector()
    collector.feed(html_text)
    collector.close()
    return collector.urls
