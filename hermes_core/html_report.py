"""Offline, light HTML pages of executed notebooks, with the maths rendered as MathML, and the
index page that links them.

nbconvert's default ``lab`` template writes ~1,900 lines of identical scripts and styles into
every page and loads require.js and MathJax from a CDN, so offline every formula shows as raw
TeX. This module renders the body with nbconvert's ``classic``/``basic`` cell markup, wraps it
in a small page with one compact inline ``<style>``, and converts every ``$...$`` and
``$$...$$`` formula to MathML on the server (:mod:`hermes_core.html_maths`), in markdown
cells and in the ``text/markdown`` outputs of code cells (``display(Markdown(...))``). The page
loads nothing from the network (:mod:`hermes_core.html_resources` checks it): images stay
embedded as ``data:`` URIs, scripts are dropped.

The output is byte-deterministic: the same executed notebook gives identical bytes (no dates, no
random ids; heading anchors derive from the heading text, cell anchors from the cell ids).

The maths and resource-check names are re-exported here, so
``from hermes_core.html_report import tex_to_mathml, external_resources`` keeps working.
"""

from __future__ import annotations

import copy
import html as html_lib
import re
from pathlib import Path
from typing import Any

import nbformat
from bs4 import BeautifulSoup
from jinja2 import DictLoader, pass_context
from nbconvert import HTMLExporter
from nbformat import NotebookNode

from hermes_core.html_maths import (
    MathConversionError,
    MathSpan,
    MathStore,
    markdown_parser,
    markdown_to_html,
    math_spans,
    render_math,
    tex_to_mathml,
)
from hermes_core.html_resources import external_resources

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
    """HTMLExporter with the ``basic`` markup, collapsed code, and MathML via a :class:`MathStore`."""

    def __init__(self, store: MathStore, **kwargs: Any) -> None:
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
        parser = markdown_parser(
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
    store = MathStore()
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
