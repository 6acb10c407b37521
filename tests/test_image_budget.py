"""Does a page leave out the images that would cost the browser far more than their size, and
show every other? (autograder/pages/image_budget.py)"""
import base64
import io
import struct
import zlib

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from autograder.pages import html_safety, image_budget
from test_page_budget import feedback_page, formgrader_page, notebook

SVG = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def use_bomb(depth, fan=10):
    """An SVG whose every level repeats the one below ``fan`` times: fan ** depth rectangles."""
    levels = "".join(f'<g id="a{level}">' + f'<use xlink:href="#a{level - 1}"/>' * fan + "</g>"
                     for level in range(1, depth + 1))
    return (f'<svg {SVG} width="200" height="200"><defs><g id="a0"><rect width="1" height="1"/></g>{levels}'
            f'</defs><use xlink:href="#a{depth}"/></svg>')


def png(width, height):
    """A PNG of ``width`` x ``height`` pixels of one bit, all black (small, whatever its size)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    packer = zlib.compressobj(9)
    row = b"\x00" + bytes((width + 7) // 8)
    rows = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def matplotlib_figure(fmt):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 4))
    left.plot(np.arange(200), np.sin(np.arange(200) / 10), "o-")  # markers: one <use> each in SVG
    right.imshow(np.random.default_rng(0).random((64, 64)))        # a PNG inside the SVG
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt)
    plt.close(figure)
    return buffer.getvalue()


def test_a_matplotlib_figure_is_shown():
    assert image_budget.svg_problem(matplotlib_figure("svg")) == ""
    assert image_budget.raster_problem(matplotlib_figure("png")) == ""


@pytest.mark.parametrize("svg, why", [
    (use_bomb(6), "it draws more than 100,000 elements once each <use> is counted as what it repeats"),
    (use_bomb(17, fan=2), "it draws more than 100,000 elements"),
    (f"<svg {SVG}>" + "<g>" * 120_000 + "</g>" * 120_000 + "</svg>", "it draws more than 100,000 elements"),
    (f'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg {SVG}><text>&a;</text></svg>', "it declares XML entities"),
    (f'<svg {SVG}><use xlink:href="data:image/svg+xml;base64,AAAA#a"/></svg>',
     "a <use> in it refers to something outside it"),
    (f'<svg {SVG}><image xlink:href="data:image/svg+xml;base64,{b64(use_bomb(6))}"/></svg>',
     "an image inside it is not shown: it draws more than 100,000 elements"),
    (f'<svg {SVG}><image href="data:image/png;base64,{b64(png(20_000, 20_000))}"/></svg>',
     "an image inside it is not shown: it has far more than 25,000,000 pixels (a page shows images of at most "
     "25,000,000)"),
    ("<svg", "it is not well-formed XML"),
    ("<html><body/></html>", "it is not SVG"),
], ids=["use 10^6", "use 2^17", "nested 120,000", "entity", "outside", "inner svg", "inner png", "broken", "not svg"])
def test_an_svg_too_costly_to_draw_is_not_shown_and_says_why(svg, why):
    assert image_budget.svg_problem(svg).startswith(why)


def test_images_within_images_are_followed_only_so_deep():
    svg = f"<svg {SVG}><rect/></svg>"
    for _ in range(image_budget.MAX_DEPTH):
        svg = f'<svg {SVG}><image href="data:image/svg+xml;base64,{b64(svg)}"/></svg>'
    assert "nested more than 3 deep" in image_budget.svg_problem(svg)


def test_what_is_drawn_is_counted_with_every_use_and_a_cycle_counts_none_more():
    assert image_budget.svg_problem(use_bomb(3)) == ""  # a thousand rectangles
    ids_of = lambda root: {e.get("id"): e for e in root.iter() if e.get("id")}  # noqa: E731
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.fromstring(use_bomb(2, fan=3))
    # the svg, its defs: a0 (2), a1 (1 + 3 uses of 1 + 2), a2 (1 + 3 uses of 1 + 10); the last use (1 + 34)
    assert image_budget.expanded_size(root, ids_of(root)) == 1 + (1 + 2 + 10 + 34) + 35
    cyclic = ElementTree.fromstring(f'<svg {SVG}><g id="a"><use xlink:href="#a"/><use xlink:href="#b"/></g>'
                                    '<g id="b"><use xlink:href="#a"/></g></svg>')
    assert image_budget.expanded_size(cyclic, ids_of(cyclic)) < 20


@pytest.mark.parametrize("side, why", [
    (5_000, ""),
    (5_001, "it has 5,001 x 5,001 pixels (a page shows images of at most 25,000,000)"),
    (20_000, "it has far more than 25,000,000 pixels (a page shows images of at most 25,000,000)"),
])
def test_a_raster_image_of_too_many_pixels_is_not_shown(side, why):
    assert image_budget.raster_problem(png(side, side)) == why


def test_data_that_is_no_image_is_not_shown():
    assert image_budget.data_url_problem("data:image/png;base64," + b64(b"not an image")) == "its data is not an image"
    assert image_budget.data_url_problem("data:image/png;base64,@@@") == "it is not an image embedded as base64 data"


@pytest.mark.parametrize("make_page", [feedback_page, formgrader_page], ids=["feedback", "formgrader"])
def test_a_page_leaves_out_costly_images_and_shows_the_others(course_root, make_page):
    bomb, big, figure = b64(use_bomb(6)), b64(png(20_000, 20_000)), b64(matplotlib_figure("png"))
    cell = new_markdown_cell("![bomb](attachment:bomb.svg) ![fine](attachment:fine.png) "
                             f'<img src="data:image/svg+xml;base64,{bomb}" alt="in html">')
    cell.attachments = {"bomb.svg": {"image/svg+xml": bomb}, "fine.png": {"image/png": figure}}
    page = make_page(course_root, notebook(cell, new_code_cell("show()", outputs=[
        new_output("display_data", data={"image/svg+xml": use_bomb(6), "text/plain": "<SVG>"}),
        new_output("display_data", data={"image/png": big, "text/plain": "<Image>"}),
        new_output("display_data", data={"image/svg+xml": matplotlib_figure("svg").decode(), "text/plain": "<Figure>"}),
    ])))
    assert bomb not in page and big not in page
    assert figure in page and "data:image/svg+xml;base64," in page  # the figure's SVG, encoded by the template
    assert page.count("data:image/svg+xml;base64,") == 1
    assert ("(an SVG image is not shown: it draws more than 100,000 elements once each &lt;use&gt; is counted as "
            "what it repeats)") in page
    assert ("(an image is not shown: it has far more than 25,000,000 pixels (a page shows images of at most "
            "25,000,000))") in page


def test_student_html_keeps_its_image_only_when_it_may_be_shown():
    fine = f'<img src="data:image/png;base64,{b64(png(10, 10))}" alt="fine">'
    costly = f'<img src="data:image/png;base64,{b64(png(6_000, 6_000))}" alt="costly">'
    made = html_safety.sanitize(fine + costly)
    assert made.count("src=") == 1 and 'alt="costly"' in made and b64(png(10, 10)) in made


def test_a_page_of_many_images_each_within_its_limits_spends_the_pages_budget(course_root, monkeypatch):
    """Images a page shows spend its budget, each once however often the page sanitises or shows
    it; past the budget, a note replaces the image."""
    from autograder.pages import page_budget

    monkeypatch.setattr(page_budget, "PAGE_SVG_ELEMENTS", 15_000)  # two SVGs of 6,799 elements
    monkeypatch.setattr(page_budget, "PAGE_PIXELS", 250)            # two PNGs of 10 x 10
    svgs = [use_bomb(3).replace('width="200"', f'width="{200 + i}"') for i in range(3)]
    pngs = [b64(png(10, 10 + i)) for i in range(3)]
    cell = new_markdown_cell(" ".join(f'<img src="data:image/png;base64,{one}" alt="png {i}">'
                                      for i, one in enumerate(pngs[:2])))  # shown again: spent once
    outputs = [new_output("display_data", data={"image/svg+xml": svg, "text/plain": "<SVG>"}) for svg in svgs]
    outputs += [new_output("display_data", data={"image/png": one, "text/plain": "<PNG>"}) for one in pngs]
    page = feedback_page(course_root, notebook(cell, new_code_cell("show()", outputs=outputs)))
    assert [svg in page for svg in map(b64, svgs)] == [True, True, False]
    assert [page.count(one) for one in pngs] == [2, 2, 0]
    assert "(an SVG image is not shown: the page has drawn 15,000 elements of SVG images, all it draws)" in page
    assert "(an image is not shown: the page has shown 250 pixels of images, all it shows)" in page
    # A markdown cell's images spend of its page's budget too (the third: 120 pixels past 250)
    markdown = new_markdown_cell(" ".join(f'<img src="data:image/png;base64,{one}" alt="png {i}">'
                                          for i, one in enumerate(pngs)))
    page = feedback_page(course_root, notebook(markdown))
    assert [page.count(one) for one in pngs] == [1, 1, 0] and 'alt="png 2"' in page


def test_an_animation_counts_the_pixels_of_all_its_frames():
    from PIL import Image

    def gif(frames, side):
        images = [Image.new("P", (side, side), i % 2) for i in range(frames)]
        buffer = io.BytesIO()
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=0, loop=0)
        return buffer.getvalue()

    assert image_budget.raster_problem(gif(4, 2_500)) == ""  # 4 x 6,250,000 pixels
    assert image_budget.raster_problem(gif(5, 2_500)) == (
        "it has 5 frames of 2,500 x 2,500 pixels (a page shows images of at most 25,000,000 pixels, all their "
        "frames together)")


def noise_png(side):
    """A PNG of ``side`` x ``side`` pixels of noise: about 3 bytes a pixel, whatever it compresses."""
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(side).integers(0, 256, (side, side, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("make_page", [feedback_page, formgrader_page], ids=["feedback", "formgrader"])
@pytest.mark.parametrize("references", [
    "![](attachment:a.png)" * 2_000,
    "![][a]" * 2_000 + "\n\n[a]: attachment:a.png\n",
    "![][a]" * 2_000 + "\n\n[a]: data:image/png;base64,{data}\n",
], ids=["inline", "reference", "data_reference"])
def test_one_image_referenced_2000_times_is_embedded_once(course_root, make_page, references):
    """Each reference wrote the whole image into the page (a 97 kB PNG referenced 2,000 times: a
    page of 261 MB); the page holds it once, then a note for each repeat."""
    data = b64(noise_png(180))  # 130 kB of base64
    cell = new_markdown_cell("My figure:\n\n" + references.replace("{data}", data))
    cell.attachments = {"a.png": {"image/png": data}}
    page = make_page(course_root, notebook(cell))
    assert page.count(data) == 1
    assert page.count("<em>(the same image as above)</em>") == 1_999
    assert len(page) < len(data) + 600_000


def test_images_past_the_bytes_a_page_embeds_are_notes(course_root, monkeypatch):
    """Every image written into a page spends its bytes, each time, whatever shows it: outputs,
    attachments, student HTML; past the page's budget, a note replaces the image."""
    from autograder.pages import page_budget

    pngs = [b64(png(10, 10 + i)) for i in range(6)]  # about 100 characters each
    monkeypatch.setattr(page_budget, "PAGE_IMAGE_BYTES", 3 * len(f"data:image/png;base64,{pngs[0]}") + 10)
    cell = new_markdown_cell("![one](attachment:a.png) ![two](attachment:b.png) "
                             f'<img src="data:image/png;base64,{pngs[4]}" alt="in html">')
    cell.attachments = {"a.png": {"image/png": pngs[2]}, "b.png": {"image/png": pngs[3]}}
    outputs = [new_output("display_data", data={"image/png": one, "text/plain": "<PNG>"}) for one in pngs[:2]]
    page = feedback_page(course_root, notebook(new_code_cell("show()", outputs=outputs), cell))
    assert [page.count(one) for one in pngs] == [1, 1, 1, 0, 0, 0]  # outputs first, then the cell
    past = f"the page has embedded {page_budget.PAGE_IMAGE_BYTES:,} bytes of images, all it embeds"
    assert f"<em>(an image is not shown: {past} (each time one is shown))</em>" in page
    assert 'alt="in html"' in page
    # Within the budget, an image shown twice is embedded twice: an output and the same in HTML
    monkeypatch.setattr(page_budget, "PAGE_IMAGE_BYTES", 5_000_000)
    html = new_output("display_data", data={"text/html": f'<img src="data:image/png;base64,{pngs[0]}">'})
    page = feedback_page(course_root, notebook(new_code_cell("show()", outputs=[outputs[0], html])))
    assert page.count(pngs[0]) == 2
