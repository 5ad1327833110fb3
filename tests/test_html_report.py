"""The light, offline HTML rendering of executed notebooks (``hermes_core.html_report``)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from hermes_core.html_report import (
    MathConversionError,
    MathSpan,
    external_resources,
    markdown_to_html,
    math_spans,
    notebook_summary,
    render_math,
    render_notebook_html,
    tex_to_mathml,
    write_index,
)

ROOT = Path(__file__).resolve().parents[1]

# a valid 1x1 PNG
PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

MARKDOWN_CELL = r"""# Tiny report: $x_i$ in a title

This page is a test of the renderer, e.g. of its maths. The second sentence is not in the summary.

Inline maths $\tilde v_{ui} + w_{j}$ and $a_1 * b_2 * c_3$ (underscores and stars that
markdown must not read as emphasis), the variable `$HOME` in a code span, and a price of
\$5, then display maths:
$$\hat V = \frac{1}{n}\sum_{i=1}^{n} w_i r_i$$
"""
MARKDOWN_FORMULAS = 4  # x_i (title), \tilde v_{ui} + w_{j}, a_1 * b_2 * c_3, the display
CODE_WITH_DOLLARS = 'label = "$x_i$ costs $5"\nprint(label)'


def build_notebook(path: Path, *, with_image: bool = True) -> Path:
    """An executed-looking notebook with every kind of output the renderer must handle."""
    frame = pd.DataFrame({"estimator": ["IPS", "DR"], "value": [0.125, 0.0625], "n": [1000, 2000]})
    cells = [new_markdown_cell(MARKDOWN_CELL)]
    if with_image:
        cells.append(new_code_cell("plt.show()", execution_count=1, outputs=[
            new_output("display_data", data={"image/png": PNG_BASE64, "text/plain": "<Figure>"})]))
    cells += [
        new_code_cell("frame", execution_count=2, outputs=[
            new_output("execute_result", data={"text/html": frame.to_html(), "text/plain": str(frame)},
                       execution_count=2)]),
        new_code_cell('display(Markdown("Conclusion: $x_i$ is a tie."))', execution_count=3, outputs=[
            new_output("display_data", data={"text/markdown": "Conclusion: $x_i$ is a tie.",
                                              "text/plain": "<IPython.core.display.Markdown object>"})]),
        new_code_cell(CODE_WITH_DOLLARS, execution_count=4, outputs=[
            new_output("stream", name="stdout", text="$x_i$ costs $5\n")]),
    ]
    notebook = new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"  # nbformat draws random ids; fixed ones keep the test's pages equal
    nbformat.write(notebook, path)
    return path


@pytest.fixture()
def page(tmp_path: Path) -> str:
    html = render_notebook_html(build_notebook(tmp_path / "tiny.ipynb"), tmp_path / "html" / "tiny.html")
    return html.read_text(encoding="utf-8")


def test_page_has_no_external_resource_and_no_script(page: str) -> None:
    assert external_resources(page) == []
    assert "<script" not in page
    assert "<link" not in page


def test_every_formula_is_mathml(page: str) -> None:
    # 4 in the markdown cell + 1 in the text/markdown output; none left as TeX or as a token
    assert page.count("<math ") == MARKDOWN_FORMULAS + 1
    assert page.count('display="block"') == 1
    assert 'class="tex"' not in page
    assert "HERMESMATH" not in page
    # the underscores and stars of the TeX stayed TeX: no <em> around a_1 * b_2
    assert "<em>" not in page
    assert "<msub><mi>a</mi><mn>1</mn></msub><mo>&#x0002A;</mo>" in page


def test_math_in_a_heading_keeps_plain_mathml_and_a_tex_anchor(page: str) -> None:
    heading = re.search(r"<h1[^>]*>.*?</h1>", page, flags=re.DOTALL)
    assert heading is not None
    assert 'id="Tiny-report:-x_i-in-a-title"' in heading[0]
    assert "<math " in heading[0] and "ns0:" not in page


def test_png_stays_embedded(page: str) -> None:
    assert f'src="data:image/png;base64,{PNG_BASE64}"' in page


def test_dollars_in_code_are_untouched(page: str) -> None:
    # a code cell's source, its stdout, and a markdown code span keep their dollars verbatim
    sources = [block for block in re.findall(r'<details class="source">.*?</details>', page, flags=re.DOTALL)
               if "label" in block]
    assert len(sources) == 1 and "<math" not in sources[0]
    assert '<span class="s2">"$x_i$ costs $5"</span>' in sources[0]
    stdout = page.split('output_stdout output_text">', 1)[1].split("</pre>", 1)[0]
    assert stdout == "\n<pre>$x_i$ costs $5\n"
    assert "<code>$HOME</code>" in page
    assert "price of\n$5, then" in page  # the escaped \$ is a plain dollar


def test_dataframe_table_numbers_are_right_aligned(page: str) -> None:
    assert '<td class="num">0.1250</td>' in page or '<td class="num">0.125</td>' in page
    assert '<td class="num">2000</td>' in page
    assert "<td>DR</td>" in page  # text stays left-aligned
    assert "td.num{text-align:right" in page


def test_code_is_collapsed_with_a_one_line_summary(page: str) -> None:
    assert '<details class="source"><summary>In [4]: label = "$x_i$ costs $5" (+1 lines)</summary>' in page


def test_rendering_is_byte_deterministic(tmp_path: Path) -> None:
    notebook = build_notebook(tmp_path / "tiny.ipynb")
    first = render_notebook_html(notebook, tmp_path / "a.html").read_bytes()
    second = render_notebook_html(notebook, tmp_path / "b.html").read_bytes()
    assert first == second


def test_page_is_far_smaller_than_the_lab_template(tmp_path: Path) -> None:
    from nbconvert import HTMLExporter

    notebook = build_notebook(tmp_path / "tiny.ipynb", with_image=False)
    light = render_notebook_html(notebook, tmp_path / "tiny.html").stat().st_size
    lab, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    # the old pages carry ~1,900 lines of styles and scripts (> 250 kB) whatever the notebook holds
    assert light < 60_000
    assert light * 4 < len(lab.encode("utf-8"))


def test_script_outputs_are_dropped_and_latex_outputs_become_mathml(tmp_path: Path) -> None:
    notebook = new_notebook(cells=[
        new_code_cell("widget", execution_count=1, outputs=[new_output("display_data", data={
            "application/javascript": "alert(1)", "text/plain": "a widget"})]),
        new_code_cell("Math", execution_count=2, outputs=[new_output("display_data", data={
            "text/latex": r"$\displaystyle \frac{a}{b}$", "text/plain": "a/b"})]),
    ])
    notebook.cells[0].id, notebook.cells[1].id = "js", "latex"
    path = tmp_path / "scripts.ipynb"
    nbformat.write(notebook, path)
    page = render_notebook_html(path, tmp_path / "scripts.html").read_text(encoding="utf-8")
    assert "<script" not in page and "alert(1)" not in page
    assert "a widget" in page  # the text/plain fallback of the dropped output
    assert page.count("<math ") == 1 and "<mfrac><mrow><mi>a</mi></mrow><mrow><mi>b</mi></mrow></mfrac>" in page


# ------------------------------------------------------------------------------------ maths


@pytest.mark.parametrize(("tex", "expected"), [
    (r"\tilde v_{ui}", "<mover><mi>v</mi><mo stretchy=\"false\">&#x0007E;</mo></mover>"),
    (r"\mathcal N(0, I_H)", "<mi>&#x1D4A9;</mi>"),  # MATHEMATICAL SCRIPT CAPITAL N, not mathvariant
    (r"\mathbb 1\{\text{same creator}\}", "<mn>&#x1D7D9;</mn>"),  # MATHEMATICAL DOUBLE-STRUCK DIGIT ONE
    (r"\mathbb{R}^{d_t + d_v}", "&#x0211D;"),
    (r"\operatorname{softmax}_{m \in \{v, t\}}", ">softmax<"),
    (r"\frac{(q W_q)(m_j K_m)^\top}{\sqrt{d_k}}", "<msqrt>"),
    (r"\sum_{j=1}^{B} \exp(s_{ij}/\tau)", "<msubsup><mo>&#x02211;</mo>"),
    (r"s(q, j) = \langle qP, Z_j(q)\rangle", "&#x027E8;"),
    (r"0.8\log(4 a_{u,d(i)})", "<mi>log</mi>"),
    (r"\min(w_i,\lambda)\, r_i", "<mspace width=\"0.167em\" />"),
    (r"t_i \in \Delta^{16}", "<msup><mi>&#x00394;</mi><mrow><mn>16</mn></mrow></msup>"),
    (r"m_u \sim \mathrm{Beta}(c,c)", "<mi mathvariant=\"normal\">B</mi>"),
    (r"\hat V", "<mover accent=\"true\"><mi>V</mi>"),
    (r"rel \ge 2, w_i \le \lambda", "&#x02265;"),
    (r"\lambda=\infty", "&#x0221E;"),
])
def test_notebook_tex_converts(tex: str, expected: str) -> None:
    mathml = tex_to_mathml(tex, display=False)
    assert mathml.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">')
    assert expected in mathml


@pytest.mark.parametrize(("tex", "reason"), [
    ("x^", "cannot convert"),  # latex2mathml raises
    (r"\frac{1", "unclosed"),  # latex2mathml would silently drop the missing argument
    (r"a}", "unbalanced"),
    (r"\notacommand x", r"does not know \notacommand"),  # latex2mathml would print it as text
    ("  ", "empty"),
])
def test_bad_tex_raises_in_strict_mode_and_falls_back_to_code(tex: str, reason: str) -> None:
    with pytest.raises(MathConversionError, match=re.escape(reason)):
        tex_to_mathml(tex, display=False)
    assert render_math(tex, display=False) == f'<code class="tex">${tex}$</code>'


def test_failed_formula_in_markdown_is_shown_as_tex_code() -> None:
    assert markdown_to_html(r"a $\frac{1$ b") == '<p>a <code class="tex">$\\frac{1$</code> b</p>\n'


@pytest.mark.parametrize(("markdown", "expected"), [
    ("costs $5 and $10 today", []),  # pandoc rule: a closing $ is not preceded by a space
    (r"a price of \$5 and $x$", [MathSpan("x", False)]),
    ("`$x$` and ```$y$```", []),  # code spans keep their dollars
    ("```\n$x$\n```", []),  # fenced code too
    ("    $x$ indented code", []),
    ("$x$5 is not closed by a dollar before a digit", []),
    ("$ x$ needs no space after the opening", []),
    (r"**bold $a*b$** then $$\sum_i x_i$$", [MathSpan("a*b", False), MathSpan(r"\sum_i x_i", True)]),
    ("$$a\n\nb$$ never spans a blank line", []),
])
def test_math_spans_respect_code_and_escapes(markdown: str, expected: list[MathSpan]) -> None:
    assert math_spans(markdown) == expected


def _dollars_outside_code(markdown: str) -> int:
    """Dollar signs of a markdown cell outside fences, code spans and escapes (independent of mistune)."""
    text = re.sub(r"(?ms)^ {0,3}(```|~~~).*?^ {0,3}\1", "", markdown)
    text = re.sub(r"(`+)(?s:.+?)\1", "", text)
    return text.replace(r"\$", "").count("$")


def test_every_formula_of_the_notebooks_converts_to_mathml() -> None:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks/*.ipynb found"
    failures, converted = [], 0
    for path in notebooks:
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "markdown":
                continue
            spans = math_spans(cell.source)
            # every dollar outside code belongs to a formula the renderer found: $x$ uses 2, $$x$$ 4
            dollars = sum(4 if span.display else 2 for span in spans)
            assert dollars == _dollars_outside_code(cell.source), f"{path.name} cell {index}: missed a formula"
            for span in spans:
                try:
                    tex_to_mathml(span.tex, display=span.display)
                    converted += 1
                except MathConversionError as error:
                    failures.append(f"{path.name} cell {index}: {error}")
    assert failures == []
    assert converted >= 50  # the three notebooks hold ~90 formulas; finding none would be a parser bug


# ---------------------------------------------------------------------------- summary, index


def test_notebook_summary_takes_the_title_and_the_first_sentence(tmp_path: Path) -> None:
    path = build_notebook(tmp_path / "tiny.ipynb")
    # "e.g." does not end the sentence; markup and $ are stripped
    assert notebook_summary(path) == ("Tiny report: x_i in a title",
                                      "This page is a test of the renderer, e.g. of its maths.")


def test_notebook_summary_reads_past_a_heading_only_cell_lists_and_code(tmp_path: Path) -> None:
    notebook = new_notebook(cells=[
        new_markdown_cell("# 07 · **Rank**"),
        new_markdown_cell("1. a list item\n   continued\n\n```\ncode\n\nmore code\n```\n\n"
                          "Ranks with `LightGBM` and [lambdarank](https://example.org). It is fast."),
    ])
    nbformat.write(notebook, tmp_path / "07_rank.ipynb")
    assert notebook_summary(tmp_path / "07_rank.ipynb") == ("07 · Rank", "Ranks with LightGBM and lambdarank.")


def test_write_index_links_pages_in_order(tmp_path: Path) -> None:
    pages = [("06_ope.html", "06 · OPE & gate", "Estimates <values>."), ("01_ingest.html", "01 · Ingest", "")]
    index = write_index(tmp_path / "html", pages)
    text = index.read_text(encoding="utf-8")
    assert index == tmp_path / "html" / "index.html"
    assert re.findall(r'<a href="([^"]+)">', text) == ["06_ope.html", "01_ingest.html"]
    assert "06 · OPE &amp; gate" in text and "Estimates &lt;values&gt;." in text
    assert external_resources(text) == [] and "<script" not in text
    assert write_index(tmp_path / "again", pages).read_bytes() == index.read_bytes()
    with pytest.raises(ValueError, match="not a plain file name"):
        write_index(tmp_path, [("../x.html", "x", "")])


# ------------------------------------------------------------------------- external resources

SNIPPET = """<!DOCTYPE html><html><head>
<script src="https://cdn.example.org/require.js"></script>
<script>var inline = "https://not-a-resource.example.org";</script>
<link rel="stylesheet" href="//fonts.example.org/font.css">
<link rel="preload" href="http://cdn.example.org/data.json" as="fetch">
<link rel="icon" href="https://example.org/favicon.ico">
<link rel="canonical" href="https://example.org/page">
<link rel="stylesheet" href="local.css">
<style>
@import "https://cdn.example.org/theme.css";
.logo { background: url('https://cdn.example.org/logo.png') }
.local { background: url(data:image/png;base64,AAAA) }
</style>
</head><body>
<a href="https://example.org/paper.pdf">a plain link is fine</a>
<img src="HTTPS://images.example.org/plot.png" alt="">
<img src="data:image/png;base64,AAAA" alt="">
<iframe src="https://example.org/embed"></iframe>
<video><source src="//media.example.org/clip.mp4"></video>
<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math>
</body></html>"""


def test_external_resources_finds_each_kind_and_ignores_links() -> None:
    assert external_resources(SNIPPET) == [
        "https://cdn.example.org/require.js",
        "//fonts.example.org/font.css",
        "http://cdn.example.org/data.json",
        "https://example.org/favicon.ico",
        "https://cdn.example.org/theme.css",
        "https://cdn.example.org/logo.png",
        "HTTPS://images.example.org/plot.png",
        "https://example.org/embed",
        "//media.example.org/clip.mp4",
    ]


def test_committed_html_reports_load_nothing_from_the_network() -> None:
    # fails on pages rendered by nbconvert's lab template (require.js and MathJax from a CDN)
    pages = sorted((ROOT / "reports" / "html").glob("*.html"))
    assert pages, "no reports/html/*.html found"
    offending = {page.name: external_resources(page.read_text(encoding="utf-8")) for page in pages}
    assert {name: urls for name, urls in offending.items() if urls} == {}
