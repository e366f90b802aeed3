"""The quality report (Great Expectations Data Docs) without the internet.

Great Expectations writes pages that load Bootstrap, jQuery, bootstrap-table, Font Awesome, Vega
and its logo from CDNs: offline the report is unstyled and its list of validations (drawn by
bootstrap-table) is empty, and every open tells those hosts that someone read it. The platform
ships copies of those files (`datadocs_assets/`, taken from their npm packages: VENDOR.md), and

* `localize(site)` copies them into the site (`static/vendor/`) and points every generated page at
  them; an external asset it does not know is neutralised (about:blank) and logged, so a newer
  Great Expectations never makes the report call out (tests/test_data_docs.py fails on it);
* `self_contained(site, page)` is one page with every style, script, font and image inlined,
  for the dashboard to show inside its signed-in page (dashboards/views/data_health.py): no path
  on the server and no unauthenticated URL. Its links to other pages of the report navigate the
  dashboard page (`?docs=<page>`), which shows that page if it is one of `pages(site)`.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent / "datadocs_assets"
VENDOR = "static/vendor"  # where localize puts the copies, relative to the site's root

# Every external asset the Great Expectations 1.x templates reference -> its shipped copy
# (the filter-control CSS of bootstrap-table 1.19.0 is served by 1.19.1's, the version of the
# table itself).
ASSETS: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.min.js",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed.min.js",
}
# Great Expectations' own images (its logo, with a tracking query) are in the site's static/images/.
GX_IMAGES = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"

# An asset reference: the src/href of a <script>, <link> or <img> (anchors are links, not assets).
_TAG = re.compile(r"<(script|link|img)\b[^>]*>", re.IGNORECASE)
_URL_ATTR = re.compile(r"""\b(src|href)\s*=\s*(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_SRI = re.compile(r"""\s(integrity|crossorigin)\s*=\s*(["']).*?\2""", re.IGNORECASE | re.DOTALL)
_EXTERNAL = re.compile(r"^(https?:)?//", re.IGNORECASE)


def external_assets(text: str) -> list[str]:
    """The http(s):// (or //host) addresses a page's scripts, stylesheets and images load from."""
    found = []
    for tag in _TAG.finditer(text):
        for attr in _URL_ATTR.finditer(tag.group(0)):
            if _EXTERNAL.match(attr.group(3).strip()):
                found.append(attr.group(3).strip())
    return found


def _local(url: str) -> str | None:
    """The shipped copy of an external asset (relative to the site's root), or None."""
    if url in ASSETS:
        return f"{VENDOR}/{ASSETS[url]}"
    if url.startswith(GX_IMAGES):
        return "static/images/" + url[len(GX_IMAGES):].split("?")[0]
    return None


def _rewrite_page(text: str, to_root: str) -> tuple[str, list[str]]:
    unknown: list[str] = []

    def tag(match: re.Match) -> str:
        source = match.group(0)

        def attr(m: re.Match) -> str:
            url = m.group(3).strip()
            if not _EXTERNAL.match(url):
                # Great Expectations counts one folder too few for its favicon on the pages of
                # suites with a dot in their name: the site's static/ is at `to_root`.
                if "static/" in url and not url.startswith(("data:", "about:")):
                    return f"{m.group(1)}={m.group(2)}{to_root}{url[url.index('static/'):]}{m.group(2)}"
                return m.group(0)
            local = _local(url)
            if local is None:
                unknown.append(url)
                local = "about:blank"
            else:
                local = to_root + local
            return f"{m.group(1)}={m.group(2)}{local}{m.group(2)}"

        rewritten = _URL_ATTR.sub(attr, source)
        # Subresource integrity with crossorigin makes a browser refuse a file:// script.
        return _SRI.sub("", rewritten) if rewritten != source else source

    return _TAG.sub(tag, text), unknown


def localize(site: Path) -> list[str]:
    """Make the Data Docs site under `site` load nothing from outside; returns what it could not
    map (already neutralised), which is also logged."""
    if not site.is_dir():
        return []
    target = site / VENDOR
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ASSETS_DIR, target, ignore=shutil.ignore_patterns("licenses", "*.md"))
    unknown: list[str] = []
    for page in sorted(site.rglob("*.html")):
        depth = len(page.relative_to(site).parts) - 1
        text = page.read_text(encoding="utf-8")
        rewritten, missing = _rewrite_page(text, "../" * depth)
        unknown += missing
        if rewritten != text:
            page.write_text(rewritten, encoding="utf-8")
    for url in sorted(set(unknown)):
        log.warning("Data Docs: no local copy of %s (blanked; add it to citysafety/mart/datadocs.py)", url)
    return sorted(set(unknown))


# --- the report inside the dashboard -----------------------------------------------------------


@dataclass(frozen=True)
class DocsPage:
    path: str  # relative to the site's root, with /
    suite: str | None  # None: the index
    run_time: str | None  # the folder name Great Expectations gives the run (UTC)


INDEX = "index.html"


def pages(site: Path) -> list[DocsPage]:
    """The index, then every validation result page, newest run first."""
    if not (site / INDEX).is_file():
        return []
    found = []
    validations = site / "validations"
    for page in validations.rglob("*.html") if validations.is_dir() else []:
        rel = page.relative_to(validations).parts
        # validations/<suite, a folder per dot>/<run name>/<run time>/<batch>.html
        suite = ".".join(rel[:-3]) if len(rel) >= 4 else None
        run_time = rel[-2] if len(rel) >= 4 else None
        found.append(DocsPage(page.relative_to(site).as_posix(), suite, run_time))
    found.sort(key=lambda p: (p.run_time or "", p.suite or "", p.path), reverse=True)
    return [DocsPage(INDEX, None, None), *found]


def _data_uri(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or {
        ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}.get(path.suffix, "application/octet-stream")
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(css_path: Path, root: Path) -> str:
    text = css_path.read_text(encoding="utf-8")

    def url(m: re.Match) -> str:
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#")) or _EXTERNAL.match(ref):
            return m.group(0)
        target = (css_path.parent / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file() or not target.is_relative_to(root):
            return "url()"  # a font the copy does not ship (the .ttf beside each .woff2)
        return f"url({_data_uri(target)})"

    text = re.sub(r"""url\(\s*(["']?)([^)"']*)\1\s*\)""", url, text)
    return re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", text)


def _script_text(path: Path) -> str:
    text = re.sub(r"//# sourceMappingURL=\S+", "", path.read_text(encoding="utf-8"))
    return text.replace("</script", "<\\/script")


# Clicks on links to other pages of the report (and on the index's rows) open them in the
# dashboard page: ?docs=<page relative to the site's root>, checked there against `pages`. The
# report is in a sandboxed iframe without top navigation, but of the app's origin: the link that
# navigates is made in the app's own document, never inside the frame (which would load the app
# in it).
_NAVIGATE = """<script>
(function () {
  var here = %s;
  function target(href) {
    if (!href || /^([a-z]+:|\\/\\/|#)/i.test(href)) return null;
    var path = new URL(href, "http://report/" + here).pathname.replace(/^\\//, "");
    var url = new URL(window.parent.location.href);
    url.searchParams.set("docs", path);
    return url.toString();
  }
  document.addEventListener("click", function (e) {
    var row = e.target.closest(".clickable-row[data-href]");
    var link = e.target.closest("a[href]");
    var url = target(row ? row.getAttribute("data-href") : (link ? link.getAttribute("href") : null));
    if (!url) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    var a = window.parent.document.createElement("a");
    a.href = url;
    window.parent.document.body.appendChild(a);
    a.click();
  }, true);
})();
</script>"""


def self_contained(site: Path, page: str) -> str:
    """Page `page` of the site (one of `pages(site)`, after `localize`) with its local styles,
    scripts, fonts and images inlined: one document that needs no file and no network."""
    root = site.resolve()
    path = (root / page).resolve()
    if not path.is_relative_to(root) or path.suffix != ".html" or not path.is_file():
        raise FileNotFoundError(page)
    text = path.read_text(encoding="utf-8")

    draws_charts = "vegaEmbed(" in text

    def local(ref: str) -> Path | None:
        if not ref or _EXTERNAL.match(ref) or ref.startswith(("data:", "about:", "#")):
            return None
        target = (path.parent / ref.split("?")[0]).resolve()
        return target if target.is_file() and target.is_relative_to(root) else None

    def tag(match: re.Match) -> str:
        source, name = match.group(0), match.group(1).lower()
        attrs = {m.group(1).lower(): m.group(3).strip() for m in _URL_ATTR.finditer(source)}
        if name == "link":
            target = local(attrs.get("href", ""))
            if target is None or target.suffix != ".css":
                return "" if "icon" in source.lower() else source  # the favicon: no tab of its own
            return f"<style>{_inline_css(target, root)}</style>"
        if name == "img":
            target = local(attrs.get("src", ""))
            return source if target is None else source.replace(attrs["src"], _data_uri(target), 1)
        target = local(attrs.get("src", ""))
        if target is None:
            return source
        if target.name.startswith("vega") and not draws_charts:
            return "<script>"  # 0.8 MB the page never runs: it embeds no chart
        return "<script>" + _script_text(target)  # the page's own </script> closes it

    # Before inlining: the inlined scripts hold "</head>" in their strings (vega-embed).
    navigate = _NAVIGATE % json.dumps(page).replace("</", "<\\/")
    text = text.replace("</head>", navigate + "</head>", 1) if "</head>" in text else navigate + text
    return _TAG.sub(tag, text)
