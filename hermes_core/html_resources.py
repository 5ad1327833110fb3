"""Which network resources an HTML page would fetch (the check that reports stay offline).

:func:`external_resources` lists every ``http://``, ``https://`` or ``//`` URL that a browser
would load for a page (scripts, stylesheets, images, frames, media, CSS ``url()``/``@import``);
links a reader may follow (``<a href>``) and namespace URIs are not resources. The tests and the
pipeline check that every rendered report gives an empty list.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["external_resources"]

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
