"""Parsing the XML WeCom posts to us, safely.

The callback body comes from the network before anything about it is verified, and the
decrypted message is only as trustworthy as our key. Python's own parsers expand internal
entities (a "billion laughs" body of a few KB becomes gigabytes) and, depending on the expat
build, tolerate DTDs. ``defusedxml`` is the maintained wrapper that refuses DTDs, entity
declarations and external references outright; WeCom's messages never contain any, so refusing
them costs nothing. The size is checked before parsing starts.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_tree
from defusedxml import DefusedXmlException

from bot.transports.wecom.errors import BodyTooLarge, MalformedCallback

# Every callback WeCom sends is a few hundred bytes; the largest (a change event with a member
# list) stays far below this.
MAX_XML_BYTES = 64 * 1024


def parse(data: bytes | str, *, max_bytes: int = MAX_XML_BYTES) -> Element:
    """The root ``<xml>`` element of ``data``; :class:`BodyTooLarge` or
    :class:`MalformedCallback` when it is not a plain, DTD-free XML document of that shape."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise BodyTooLarge(f"XML of {len(raw)} bytes (at most {max_bytes})")
    try:
        root = safe_tree.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise MalformedCallback(f"XML refused: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise MalformedCallback(f"XML does not parse: {exc}") from exc
    if root.tag != "xml":
        raise MalformedCallback(f"root element <{root.tag}>, expected <xml>")
    return root


def fields(root: Element) -> dict[str, str]:
    """The text of each child element without children of its own (CDATA or not), by tag."""
    return {child.tag: child.text or "" for child in root if len(child) == 0}


def items(root: Element, tag: str) -> tuple[str, ...]:
    """The texts of ``<tag><Item>…</Item>…</tag>`` (e.g. ``MemChangeList``), in order."""
    parent = root.find(tag)
    if parent is None:
        return ()
    return tuple((item.text or "").strip() for item in parent.findall("Item") if (item.text or "").strip())


def cdata(value: str) -> str:
    """``value`` as a CDATA section; a ``]]>`` inside is split across two sections."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
