"""The tags of HTML as the pages' own code reads it: one list of void elements, and one pattern
of a tag as the sanitiser (nh3) and latex2mathml write one (well-formed; no "<" or ">" in an
attribute value), for the passes that walk sanitised HTML (``text_blocks``, ``mathml``)."""
import re

# Elements that have no end tag (HTML's void elements, old ones included).
VOID_ELEMENTS = {"area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
                 "input", "keygen", "link", "meta", "param", "source", "track", "wbr"}
# A start or end tag: groups "/" of an end tag, the name, "/" of a self-closing tag.
TAG = re.compile(r"<(/?)([A-Za-z][^\s/<>]*)[^<>]*?(/?)>")


def depth_change(tag):
    """+1 for a start tag that an end tag will close, -1 for an end tag, 0 for a void or
    self-closing element (``tag``: a match of :data:`TAG`)."""
    closing, name, self_closing = tag.groups()
    if closing:
        return -1
    return 0 if self_closing or name.lower() in VOID_ELEMENTS else 1
