"""A submitted notebook made safe to show as HTML: the preprocessor ``SafeView``.

A student's notebook is untrusted, and two pages show it: the student's feedback
(``nbgrader generate_feedback``) and formgrader, where an instructor grades it in a
logged-in Jupyter session (a script there could drive the instructor's server).
nbconvert's templates pass a notebook's HTML through as it is, so SafeView rewrites the
notebook first, the same way for both pages (nbgrader_config.py), to contain only what
is safe to show:

- Images become data URLs, and only from the folder of the notebook being shown (the
  student's own submission, ``resources["metadata"]["path"]``; paths resolved with
  realpath, so that neither ``..`` nor a symlink leads out of it), from the course's
  ``images/`` folder (a course figure, linked as the course's notebooks link it from
  release/<assignment>/: ``../../images/<name>.svg``), from the cell's attachments, or an
  inline data URL; only png, jpeg, gif and svg, at most ``max_image_bytes``. Any other
  image (another folder, an absolute path, file:, http:) is replaced by a visible note
  "[image not shown: ...]".
- Markdown cells are rendered by nbconvert's own markdown renderer (math kept for
  MathJax), sanitised with nh3 (Ammonia: the tags markdown makes; no script, style,
  iframe, object, embed, form or input, no event handler, no style attribute but a table
  column's text-align, only the class names that nbconvert and Pygments write (formgrader's
  scripts act on class names); links only http, https, mailto, relative or #fragment; ids
  prefixed ``user-content-`` with the fragments that point to them, so that a student's
  heading cannot take over an id of the page), and put back as
  one line of HTML inside ``<div class="nde-safe">``, which markdown passes through as
  it is. The cell stays a markdown cell (formgrader's grading UI keys on it); its
  attachments are dropped once embedded. Raw cells are shown as their text. The grader's
  comments (GetGrades puts them in the cell's metadata) are sanitised the same way.
- Outputs keep text/plain, png/jpeg/gif whose data is strict base64, text/html and
  text/markdown sanitised as above, text/latex (escaped by the templates, typeset by
  MathJax with its Safe extension), and svg only as an ``<img>`` (where scripts do not
  run); JavaScript, widgets and any other type are dropped (their text/plain stays).
  Output metadata keeps only numeric width/height, alt and unconfined: the templates
  write width and height unquoted into the tag. Stream and error text is escaped by
  nbconvert's ansi2html.
- Metadata: the notebook's widget state is dropped (it makes nbconvert load widget
  JavaScript from a CDN); cell tags (CSS class names in the templates) and grade ids
  keep only safe characters; execution counts are numbers.

SafeView reads nothing of nbgrader's resources (formgrader passes others than
generate_feedback) and is idempotent: a page rendered twice is the same page.
"""
from __future__ import annotations

import base64
import binascii
import html
import os
import re
from urllib.parse import unquote, urlsplit

import nbformat
import nh3
from bs4 import BeautifulSoup
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from pygments.token import STANDARD_TYPES
from traitlets import Bool, Int, Unicode

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".svg": "image/svg+xml"}
_ATTACHMENT_ORDER = ("image/svg+xml", "image/png", "image/jpeg", "image/gif")  # nbconvert's preference
_RASTER = ("image/png", "image/jpeg", "image/gif")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_DATA_URL = re.compile(r"data:(image/(?:png|jpeg|gif|svg\+xml));base64,(.*)", re.S)
_SAFE_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_NUMBER = re.compile(r"\d{1,5}%?")
_PRE_NEWLINE = re.compile(r"(<pre(?: [^<>]*)?>)\n")

ID_PREFIX = "user-content-"
WRAPPER = ('<div class="nde-safe">', "</div>")

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
    "var",
}
_CELL = {"align", "colspan", "rowspan", "style"}  # style: text-align only (markdown's table columns)
ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"}, "abbr": {"title"},
    "th": _CELL, "td": _CELL, "col": {"span"}, "colgroup": {"span"}, "ol": {"start"}, "details": {"open"},
    "table": {"border"}, **{f"h{n}": {"id"} for n in range(1, 7)},
}
CLASSES = {  # what nbconvert's markdown renderer, Pygments and pandas write, and SafeView's own
    "a": {"anchor-link"}, "div": {"highlight", "nde-safe"}, "li": {"task-list-item"}, "table": {"dataframe"},
    "span": {c for c in STANDARD_TYPES.values() if c} | {"nde-refused"},
}


def _text(value) -> str:
    """A MIME bundle's or a source's text (nbformat allows a list of lines)."""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else str(value)


def _base64(value, limit: int) -> str | None:
    """``value`` as strict base64 without line breaks, or None when it is not, or decodes
    to more than ``limit`` bytes (the templates write it into a src attribute as it is)."""
    if not isinstance(value, (str, list)):
        return None
    data = re.sub(r"[\r\n]", "", _text(value))
    if not _B64.fullmatch(data) or len(data) * 3 // 4 > limit:
        return None
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data


def _href(value: str) -> str | None:
    """A link kept: http(s), mailto, a relative path, or a fragment (prefixed like the ids)."""
    bare = re.sub(r"[\x00-\x20\x7f]", "", value)  # what a browser ignores in a scheme
    if bare.startswith("#"):
        return value if bare.startswith("#" + ID_PREFIX) else "#" + ID_PREFIX + value.strip()[1:]
    try:
        scheme = urlsplit(bare).scheme.lower()
    except ValueError:
        return None
    return value if scheme in ("", "http", "https", "mailto") else None


class _Renderer(IPythonRenderer):
    """nbconvert's markdown renderer, leaving image sources as written: SafeView embeds them."""

    def _embed_image_or_attachment(self, src: str) -> str:
        return src


def render_markdown(source: str) -> str:
    """Markdown to HTML as nbconvert's templates render it (math left for MathJax)."""
    try:
        return MarkdownWithMath(renderer=_Renderer(escape=False)).render(source)
    except Exception:  # a renderer failure shows the text, never the raw markup
        return f"<pre>{html.escape(source)}</pre>"


class SafeView(Preprocessor):
    """Make an untrusted notebook safe to render as HTML (see the module's docstring)."""

    enabled = Bool(True, help="On unless switched off: nbgrader registers it without enabling it.").tag(config=True)
    max_image_bytes = Int(5 * 2**20, help="The largest image embedded, in bytes.").tag(config=True)
    images_dir = Unicode(
        "", help="The course's figures, which any notebook may show (default: images/ in nbgrader's course root).",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        path = (resources or {}).get("metadata", {}).get("path") or ""
        self._folder = os.path.realpath(path) if path else None  # none known: no file is shown
        self._images = os.path.realpath(self.images_dir or self._course_images())
        nb.metadata.pop("widgets", None)
        nb.cells = [self._cell(cell) for cell in nb.cells]
        return nb, resources

    def _course_images(self) -> str:
        from nbgrader.coursedir import CourseDirectory

        return os.path.join(CourseDirectory(parent=self).root, "images")

    # Cells

    def _cell(self, cell):
        meta = cell.setdefault("metadata", nbformat.NotebookNode())
        if "tags" in meta:
            tags = meta.tags if isinstance(meta.tags, list) else []
            meta.tags = [t for t in tags if isinstance(t, str) and _SAFE_NAME.fullmatch(t)]
        grading = meta.get("nbgrader")
        if isinstance(grading, dict):
            if "grade_id" in grading:
                grading["grade_id"] = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(grading["grade_id"]))[:128]
            if isinstance(grading.get("comment"), str):  # the grader's comment, rendered as markdown
                grading["comment"] = self._markdown(grading["comment"])
        elif grading is not None:
            del meta["nbgrader"]
        if cell.get("cell_type") == "markdown":
            attachments = cell.pop("attachments", None)
            cell.source = self._markdown(_text(cell.get("source", "")), attachments)
        elif cell.get("cell_type") == "code":
            cell.source = _text(cell.get("source", ""))
            if not isinstance(cell.get("execution_count"), int) or isinstance(cell.execution_count, bool):
                cell.execution_count = None
            outputs = [self._output(o) for o in cell.get("outputs", []) if isinstance(o, dict)]
            cell.outputs = [o for o in outputs if o is not None]
        else:  # a raw or unknown cell: its text, as Jupyter shows it
            meta.pop("raw_mimetype", None)
            cell = nbformat.v4.new_markdown_cell(
                self._wrap(f"<pre>{html.escape(_text(cell.get('source', '')), quote=False)}</pre>"),
                metadata=meta, **({"id": cell.id} if isinstance(cell.get("id"), str) else {}),
            )
        return cell

    def _markdown(self, source: str, attachments=None) -> str:
        return self._wrap(self.clean(render_markdown(source), attachments))

    @staticmethod
    def _wrap(safe: str) -> str:
        """One line of HTML, which markdown passes through unchanged (an HTML block ends at a
        blank line); a line break, in text or in an attribute, reads the same as ``&#10;``."""
        return WRAPPER[0] + safe.replace("\n", "&#10;") + WRAPPER[1]

    # Outputs

    def _output(self, output):
        kind = output.get("output_type")
        if kind == "stream":
            name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
            return nbformat.v4.new_output("stream", name=name, text=_text(output.get("text", "")))
        if kind == "error":
            traceback = output.get("traceback") if isinstance(output.get("traceback"), list) else []
            return nbformat.v4.new_output("error", ename=_text(output.get("ename", "")),
                                          evalue=_text(output.get("evalue", "")),
                                          traceback=[_text(line) for line in traceback])
        if kind not in ("execute_result", "display_data"):
            return None
        data = output.get("data") if isinstance(output.get("data"), dict) else {}
        kept = self._bundle(data)
        metadata = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
        new = nbformat.v4.new_output(kind, data=kept, metadata=self._output_metadata(metadata, kept))
        if kind == "execute_result":
            count = output.get("execution_count")
            new.execution_count = count if isinstance(count, int) and not isinstance(count, bool) else None
        return new

    def _bundle(self, data: dict) -> dict:
        kept = {}
        for mime, value in data.items():
            if mime in ("text/plain", "text/latex"):
                kept[mime] = _text(value)
            elif mime in _RASTER:
                valid = _base64(value, self.max_image_bytes)
                if valid is not None:
                    kept[mime] = valid
            elif mime == "text/html":
                kept[mime] = self.clean(_text(value))
            elif mime == "text/markdown":
                kept[mime] = self._markdown(_text(value))
        svg = _text(data.get("image/svg+xml", "")).encode("utf-8")
        if svg and len(svg) <= self.max_image_bytes and "text/html" not in kept and "text/markdown" not in kept:
            encoded = base64.b64encode(svg).decode("ascii")  # an image, never markup: its scripts do not run
            kept["text/html"] = self.clean(f'<img src="data:image/svg+xml;base64,{encoded}">')
        if data and not kept:
            kept["text/plain"] = f"[output not shown: {', '.join(sorted(map(str, data)))}]"
        return kept

    @staticmethod
    def _output_metadata(metadata: dict, kept: dict) -> dict:
        """Only what the image templates read, of the right type."""
        safe = {}
        for mime in _RASTER:
            given = metadata.get(mime)
            if mime not in kept or not isinstance(given, dict):
                continue
            entry = {k: v for k, v in given.items()
                     if (k in ("width", "height") and isinstance(v, (int, float)) and not isinstance(v, bool))
                     or (k == "unconfined" and isinstance(v, bool)) or (k == "alt" and isinstance(v, str))}
            if entry:
                safe[mime] = entry
        return safe

    # HTML

    def clean(self, markup: str, attachments=None) -> str:
        """``markup`` sanitised, its images embedded or replaced by a note.

        Two passes of nh3: the first resolves each image (the note needs the reason, which
        nh3's later checks would drop), then the notes are put in, on nh3's well-formed
        output; the second pass, with only data URLs of images allowed, is the one that
        decides what the page gets."""
        refused: dict[str, str] = {}

        def resolve(tag, attr, value):
            if tag == "img" and attr == "src":
                try:
                    url, why = self._image(value, attachments)
                except (OSError, ValueError):  # a name no file can have (a NUL, too long)
                    url, why = None, "not a file of the submission"
                if url:
                    return url
                token = f"#nde-refused-{len(refused)}"
                shown = "" if value.strip().startswith("data:") else f"{value.strip()[:80]}: "
                refused[token] = f"[image not shown: {shown}{why}]"
                return token
            return _attribute(tag, attr, value)

        first = nh3.clean(markup, attribute_filter=resolve,
                          url_schemes={"http", "https", "mailto", "data", "file", "ftp", "attachment"}, **_NH3)
        soup = BeautifulSoup(first, "html.parser")
        for img in soup.find_all("img"):
            src = img.get("src", "")
            if not src.startswith("data:"):
                note = soup.new_tag("span", attrs={"class": "nde-refused"})
                note.string = refused.get(src, "[image not shown: an address that is not allowed]")
                img.replace_with(note)
        top = [node for node in soup.contents if not (isinstance(node, str) and not node.strip())]
        if len(top) == 1 and getattr(top[0], "name", None) == "div" and top[0].get("class") == ["nde-safe"]:
            body = top[0].decode_contents()  # SafeView's own wrapper, from an earlier pass: not nested again
        else:
            body = str(soup)
        final = nh3.clean(body, attribute_filter=_attribute, url_schemes={"http", "https", "mailto", "data"}, **_NH3)
        return _PRE_NEWLINE.sub("\\1\n\n", final)  # a <pre>'s first line break is eaten by each parse

    def _image(self, src: str, attachments) -> tuple[str | None, str]:
        """(data URL, "") for an image that may be shown, else (None, why not)."""
        src = src.strip()
        if src.startswith("data:"):
            match = _DATA_URL.fullmatch(src)
            data = _base64(match.group(2), self.max_image_bytes) if match else None
            return (f"data:{match.group(1)};base64,{data}", "") if data else (None, "not a valid embedded image")
        if src.startswith("attachment:"):
            name = unquote(src[len("attachment:"):])
            bundle = attachments.get(name) if isinstance(attachments, dict) else None
            if not isinstance(bundle, dict):
                return None, "no such attachment"
            for mime in _ATTACHMENT_ORDER:
                data = _base64(bundle.get(mime), self.max_image_bytes)
                if data:
                    return f"data:{mime};base64,{data}", ""
            return None, "the attachment is not a png, jpeg, gif or svg image in valid base64"
        try:
            parts = urlsplit(src)
        except ValueError:
            return None, "not a file of the submission"
        if parts.scheme or parts.netloc:
            return None, "only files of the submission are shown, not other addresses"
        path = unquote(parts.path)
        if not path:
            return None, "no file named"
        if os.path.isabs(path):
            return None, "an absolute path"
        if self._folder is None:
            return None, "the notebook's folder is not known"
        full = os.path.realpath(os.path.join(self._folder, path))
        if not full.startswith(self._folder + os.sep):
            # a course figure: linked from release/<assignment>/, two folders below the course root
            figure = os.path.realpath(os.path.join(os.path.dirname(self._images), "_", "_", path))
            if os.path.dirname(figure) != self._images:  # said before whether it exists: no probing
                return None, "outside the submission folder"
            full = figure
        mime = IMAGE_TYPES.get(os.path.splitext(full)[1].lower())
        if mime is None:
            return None, "not a png, jpeg, gif or svg file"
        if not os.path.isfile(full):
            return None, "no such file"
        if os.path.getsize(full) > self.max_image_bytes:
            return None, f"larger than {self.max_image_bytes // 2**20} MB"
        with open(full, "rb") as f:
            return f"data:{mime};base64,{base64.b64encode(f.read()).decode('ascii')}", ""


def _attribute(tag: str, attr: str, value: str) -> str | None:
    """nh3's attribute filter: what each allowed attribute may hold."""
    if tag == "img" and attr == "src":  # only the data URLs that SafeView wrote or checked
        match = _DATA_URL.fullmatch(value)
        return value if match and _B64.fullmatch(match.group(2)) else None
    if attr == "href":
        return _href(value)
    if attr in ("width", "height", "colspan", "rowspan", "span", "start", "border"):
        return value if _NUMBER.fullmatch(value.strip()) else None
    if attr == "style":  # nh3 has kept only text-align
        return value if re.fullmatch(r"text-align:\s*(left|right|center|justify)", value.strip()) else None
    if attr == "align":
        return value if value.strip().lower() in ("left", "right", "center", "justify") else None
    return value


_NH3 = dict(tags=TAGS, clean_content_tags={"script", "style"}, attributes=ATTRIBUTES, allowed_classes=CLASSES,
            filter_style_properties={"text-align"}, id_prefix=ID_PREFIX,
            strip_comments=True)
