"""What an image a student embeds may cost the browser that shows its page.

A page shows a student's images as ``<img src="data:...">``: outputs (``image/png``,
``image/jpeg``, ``image/svg+xml``), markdown attachments, and ``<img>`` in student HTML. No
script runs in them, but drawing them is the browser's work, and some cost far more than their
size. Timed in Chromium here:

- an SVG image whose ``<use>`` elements each repeat a group of ten others, six levels deep
  (1,674 bytes, a million rectangles once expanded), did not come within 120 s (five levels:
  5.9 s): every level multiplies the work;
- a PNG of 20,000 x 20,000 pixels in one bit (49 kB) took about a second and 3 GB of the
  browser's memory to decode for each view of it (40,000 x 40,000: not drawn at all);
- an animated GIF of 20 frames of 5,000 x 5,000 pixels (392 kB) kept 0.9 of a core busy for as
  long as its page was open.

So a page shows an SVG image only where it draws at most :data:`MAX_SVG_ELEMENTS` elements with
every ``<use>`` counted as what it repeats (:func:`svg_problem`), declares no XML entity, and uses
nothing outside itself, and the images inside it pass these checks too (:data:`MAX_DEPTH` deep);
and a raster image only of at most :data:`MAX_PIXELS` pixels, all its frames together, as its
header states
(:func:`raster_problem`, Pillow's reading of the header alone). Each image spends of its page's
budget (``page_budget.PAGE_SVG_ELEMENTS`` and ``PAGE_PIXELS``): a page of many images, each
within its own limits, is bounded too; and each time an image is written into its page, its
bytes spend of ``page_budget.PAGE_IMAGE_BYTES`` (:func:`embeds`), so a page that refers to one
image many times is bounded as well. Other SVG features timed were
cheap: nested patterns, blur and turbulence filters, a 100,000 x 100,000 size, 100,000
rectangles (0.1 to 1.4 s). A figure matplotlib draws is far inside both.
"""
import base64
import binascii
import io
import re
import warnings
import xml.etree.ElementTree as ElementTree

from . import page_budget

MAX_SVG_ELEMENTS = 100_000  # 100,000 rectangles: 1.4 s
MAX_PIXELS = 25_000_000  # 5,000 x 5,000; a matplotlib figure of 10 x 8 inches at 300 dpi has 7,200,000
MAX_DEPTH = 3  # images within images
_XLINK = "{http://www.w3.org/1999/xlink}href"
_DATA = re.compile(r"data:(image/[A-Za-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]*)", re.IGNORECASE)


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _href(element):
    return (element.get(_XLINK) or element.get("href") or "").strip()


def data_url_problem(url, depth=0, budget=None):
    """Why the image at ``url`` (a ``data:image/...;base64,`` URL) is not shown, or ""."""
    if depth == 0 and not _affords(budget, url):  # before anything is read
        return embedded_past()
    found = _DATA.fullmatch(url.strip())
    if found is None:
        return "it is not an image embedded as base64 data"
    try:
        data = base64.b64decode("".join(found.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        return "its data is not base64"
    why = image_problem(found.group(1).lower(), data, depth, budget)
    if why or depth:  # an image inside an SVG image is embedded with it
        return why
    return embeds(budget, url)


def embedded_past():
    return (f"the page has embedded {page_budget.PAGE_IMAGE_BYTES:,} bytes of images, all it embeds (each "
            "time one is shown)")


def _affords(budget, url):
    return budget is None or budget.paid.get(url, 0) > 0 or len(url) <= budget.image_bytes


def embeds(budget, url, size=None):
    """"" where ``budget`` (a page's, or None) has the bytes left to write the image ``url`` (its
    data: URL, or any key with its ``size``) into its page once more, which it then spends, else
    why not. An image spent already for the check that comes next (``budget.paid``: the markdown
    renderer's, which the sanitiser checks again) is not spent twice."""
    if budget is None:
        return ""
    if budget.paid.get(url, 0) > 0:
        budget.paid[url] -= 1
        return ""
    size = len(url) if size is None else size
    if size > budget.image_bytes:
        return embedded_past()
    budget.image_bytes -= size
    return ""


def image_problem(mime, data, depth=0, budget=None):
    """Why an image of type ``mime`` made of ``data`` (bytes) is not shown, or ""; it spends of
    ``budget`` (its page's :class:`~autograder.pages.page_budget.PageBudget`), where given."""
    if mime == "image/svg+xml":
        return svg_problem(data, depth, budget)
    return raster_problem(data, budget)


def raster_problem(data, budget=None):
    """Why a PNG, JPEG, GIF or WebP image made of ``data`` (bytes) is not shown, or "": too many
    pixels (as its header states; nothing is decoded), or no header an image reader knows."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                (width, height), frames = image.size, getattr(image, "n_frames", 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return "its data is not an image"
    except Image.DecompressionBombError:  # Pillow's own limit (179 million pixels) says no more
        return f"it has far more than {MAX_PIXELS:,} pixels (a page shows images of at most {MAX_PIXELS:,})"
    if frames > 1 and width * height * frames > MAX_PIXELS:  # an animation: every frame is drawn, again and again
        return (f"it has {frames:,} frames of {width:,} x {height:,} pixels (a page shows images of at most "
                f"{MAX_PIXELS:,} pixels, all their frames together)")
    if width * height > MAX_PIXELS:
        return f"it has {width:,} x {height:,} pixels (a page shows images of at most {MAX_PIXELS:,})"
    return _spend(budget, data, "pixels", width * height * frames,
                  f"the page has shown {page_budget.PAGE_PIXELS:,} pixels of images, all it shows")


def svg_problem(data, depth=0, budget=None):
    """Why an SVG image made of ``data`` (bytes or text) is not shown, or "" (see the module's doc)."""
    if depth >= MAX_DEPTH:
        return f"it holds images nested more than {MAX_DEPTH} deep"
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if "<!ENTITY" in text:
        return "it declares XML entities"
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return "it is not well-formed XML"
    if _local(root.tag) != "svg":
        return "it is not SVG"
    ids = {}
    for element in root.iter():
        name = element.get("id")
        if name is not None:
            ids.setdefault(name, element)
    for element in root.iter():
        kind = _local(element.tag)
        if kind == "use" and not _href(element).startswith("#"):
            return "a <use> in it refers to something outside it"
        if kind in ("image", "feImage") and _href(element) and not _href(element).startswith("#"):
            inner = data_url_problem(_href(element), depth + 1, budget)
            if inner:
                return f"an image inside it is not shown: {inner}"
    drawn = expanded_size(root, ids)
    if drawn > MAX_SVG_ELEMENTS:
        return (f"it draws more than {MAX_SVG_ELEMENTS:,} elements once each <use> is counted as what it "
                "repeats")
    return _spend(budget, data, "svg_elements", drawn,
                  f"the page has drawn {page_budget.PAGE_SVG_ELEMENTS:,} elements of SVG images, all it draws")


def _spend(page, data, what, cost, past):
    """"" where ``page`` (a page's budget, or None) has ``cost`` left of its ``what`` (which it
    then spends, once for each image however often it is seen), else ``past``."""
    if page is None:
        return ""
    key = (what, hash(data))
    if key in page.images:
        return ""
    if cost > getattr(page, what):
        return past
    setattr(page, what, getattr(page, what) - cost)
    page.images.add(key)
    return ""


def expanded_size(root, ids):
    """Elements under ``root`` (itself included), each ``<use>`` counted with what it repeats
    (``ids``: its targets by id), without recursion (an SVG may nest deep); a ``<use>`` that
    would repeat itself counts as none more (browsers draw nothing for it)."""
    size, state = {}, {}  # state: 1 while its parts are counted, 2 once counted
    stack = [(root, False)]
    while stack:
        element, parts_counted = stack.pop()
        target = ids.get(_href(element)[1:]) if _local(element.tag) == "use" else None
        if parts_counted:
            total = 1 + sum(size.get(child, 0) for child in element)
            if target is not None:
                total += size.get(target, 0)  # 0 where target is still being counted: a cycle
            size[element], state[element] = min(total, MAX_SVG_ELEMENTS + 1), 2
            continue
        if element in state:
            continue
        state[element] = 1
        stack.append((element, True))
        for part in [*element, *([target] if target is not None else [])]:
            if part not in state:
                stack.append((part, False))
    return size[root]
