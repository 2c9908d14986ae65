"""docxtpl's rendering, compiled once per template, for runs of hundreds of letters.

The straightforward loop (a new DocxTemplate per letter, render, save) re-reads the template,
re-patches and re-compiles its XML, and re-compresses every part of the package for each
letter: about 45 ms a letter. Here the template is prepared once — the very steps of
docxtpl (patch_xml, the paragraph marks, the post-render replacements, resolve_listing,
fix_tables, fix_docpr_ids) — and each letter only renders the parts that hold tags and
writes a zip whose other parts are copied as they are, still compressed. The document XML
is the one docxtpl produces (a test compares them for every shipped template).

Templates this path does not cover (tags in the document properties or footnotes) are
rendered the straightforward way by the caller.
"""
from __future__ import annotations

import copy
import re
import struct
import zipfile
import zlib
from pathlib import Path

from docxtpl import DocxTemplate
from lxml import etree

_RENDERED = re.compile(r"^word/(document|header\d*|footer\d*)\.xml$")
_TAG = re.compile(rb"\{\{|\{%|\{#")


class Unsupported(Exception):
    """This template needs the straightforward docxtpl path."""


class RawZip:
    """The members of a zip, kept compressed, to be written again without recompressing."""

    def __init__(self, path: Path):
        self.members = []  # (ZipInfo, raw compressed bytes)
        with open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
            for info in zf.infolist():
                fh.seek(info.header_offset)
                header = fh.read(30)
                name_len, extra_len = struct.unpack("<HH", header[26:30])
                fh.seek(info.header_offset + 30 + name_len + extra_len)
                self.members.append((info, fh.read(info.compress_size)))

    def write(self, dest: Path, replaced: dict) -> None:
        """The package with `replaced` (name -> bytes) deflated anew, the rest as it was."""
        out = bytearray()
        central = bytearray()
        for info, raw in self.members:
            name = info.filename.encode("utf-8")
            if info.filename in replaced:
                data = replaced[info.filename]
                crc, size = zlib.crc32(data), len(data)
                packer = zlib.compressobj(6, zlib.DEFLATED, -15)
                raw, method = packer.compress(data) + packer.flush(), zipfile.ZIP_DEFLATED
            else:
                crc, size, method = info.CRC, info.file_size, info.compress_type
            dostime = (info.date_time[3] << 11) | (info.date_time[4] << 5) | (info.date_time[5] // 2)
            dosdate = ((info.date_time[0] - 1980) << 9) | (info.date_time[1] << 5) | info.date_time[2]
            flags = 0x800 if not name.isascii() else 0
            offset = len(out)
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, dostime, dosdate,
                               crc, len(raw), size, len(name), 0) + name + raw
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method,
                                   dostime, dosdate, crc, len(raw), size, len(name), 0, 0, 0, 0,
                                   0, offset) + name
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(self.members), len(self.members),
                          len(central), len(out), 0)
        Path(dest).write_bytes(bytes(out + central + end))


class FastTemplate:
    """One letter template, prepared once; `write(context, dest, owner)` per letter."""

    def __init__(self, path: Path, env):
        self.path = Path(path)
        self.zip = RawZip(self.path)
        names = {info.filename: raw for info, raw in self.zip.members}
        with zipfile.ZipFile(self.path) as zf:
            for name in ("docProps/core.xml", "word/footnotes.xml"):
                if name in names and _TAG.search(zf.read(name)):
                    raise Unsupported(name)
            self.core = zf.read("docProps/core.xml") if "docProps/core.xml" in names else None
        self.tpl = DocxTemplate(str(self.path))
        self.tpl.render_init()
        self.env = env
        # the body, exactly as docxtpl prepares it
        self.body = env.from_string(_mark_paragraphs(self.tpl.patch_xml(self.tpl.get_xml())))
        # the document root without its body: each letter's body takes its place, as
        # docxtpl's map_tree does (lxml then drops the body's redundant declarations)
        self.root = copy.deepcopy(self.tpl.docx._element)
        for child in list(self.root.body):
            self.root.body.remove(child)
        # headers and footers holding tags
        self.parts = {}
        for uri in (self.tpl.HEADER_URI, self.tpl.FOOTER_URI):
            for _, part in self.tpl.get_headers_footers(uri):
                name = str(part.partname).lstrip("/")
                xml = self.tpl.get_part_xml(part)
                if "{" in xml:
                    self.parts[name] = (env.from_string(_mark_paragraphs(self.tpl.patch_xml(xml))),
                                        self.tpl.get_headers_footers_encoding(xml))

    def _finish(self, rendered: str) -> str:
        """docxtpl's steps after the Jinja render (render_xml_part)."""
        xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", rendered)
        xml = (xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%")
               .replace("%_}", "%}"))
        return self.tpl.resolve_listing(xml)

    def document_xml(self, context: dict) -> bytes:
        tree = self.tpl.fix_tables(self._finish(self.body.render(context)))
        self.tpl.fix_docpr_ids(tree)
        root = copy.copy(self.root)  # lxml: a deep copy
        root.replace(root.body, tree)
        return _serialised(root)

    def write(self, context: dict, dest: Path, owner: str = "") -> dict:
        """Write the letter; returns the parts rendered (name -> XML bytes)."""
        replaced = self.render(context, owner)
        self.zip.write(dest, replaced)
        return replaced

    def render(self, context: dict, owner: str = "") -> dict:
        """The parts of one letter that differ from the template (name -> bytes)."""
        replaced = {"word/document.xml": self.document_xml(context)}
        for name, (template, encoding) in self.parts.items():
            xml = self._finish(template.render(context)).encode(encoding)
            replaced[name] = _serialised(etree.fromstring(xml))  # as python-docx saves a part
        if owner and self.core is not None:
            replaced["docProps/core.xml"] = _with_identifier(self.core, owner)
        return replaced


def _mark_paragraphs(xml: str) -> str:
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


def _serialised(element) -> bytes:
    """python-docx's serialize_part_xml."""
    return etree.tostring(element, encoding="UTF-8", standalone=True)


def _with_identifier(core: bytes, owner: str) -> bytes:
    from xml.sax.saxutils import escape
    value = f"<dc:identifier>{escape(owner)}</dc:identifier>".encode("utf-8")
    if b"<dc:identifier" in core:
        return re.sub(rb"<dc:identifier\s*/>|<dc:identifier>.*?</dc:identifier>", value, core,
                      flags=re.S)
    return core.replace(b"</cp:coreProperties>", value + b"</cp:coreProperties>")


# --- every letter in one print file, streamed ------------------------------------------------

_KEEP = ("word/document.xml", "docProps/core.xml")


def combine_same_template(paths: list, dest: Path, owner: str = "") -> bool:
    """The print file of letters made from one template (all their other parts identical):
    their bodies one after the other, each letter closing its own section (a new page, its
    footer, page numbers from 1), streamed so that one letter at a time is in memory.
    Returns False, writing nothing, when the letters do not share their other parts."""
    if not paths:
        return False
    signature = None
    for path in paths:
        with zipfile.ZipFile(path) as zf:
            parts = tuple((i.filename, i.CRC) for i in zf.infolist() if i.filename not in _KEEP)
        if signature is None:
            signature = parts
        elif parts != signature:
            return False
    with zipfile.ZipFile(paths[0]) as first, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in first.infolist():
            if info.filename == "docProps/core.xml" and owner:
                out.writestr(info, _with_identifier(first.read(info.filename), owner))
                continue
            if info.filename != "word/document.xml":
                out.writestr(info, first.read(info.filename))
                continue
            with out.open(zipfile.ZipInfo("word/document.xml", info.date_time), "w") as stream:
                for i, path in enumerate(paths):
                    with zipfile.ZipFile(path) as zf:
                        xml = zf.read("word/document.xml").decode("utf-8")
                    head, body, tail = _split_body(xml)
                    if i == 0:
                        stream.write(head.encode("utf-8"))
                    content, sect = _split_section(body)
                    sect = _restart_numbering(sect)
                    stream.write(content.encode("utf-8"))
                    if i < len(paths) - 1:
                        stream.write(f"<w:p><w:pPr>{sect}</w:pPr></w:p>".encode("utf-8"))
                    else:
                        stream.write((sect + tail).encode("utf-8"))
    return True


def _split_body(xml: str):
    start = re.search(r"<w:body(?: [^>]*)?>", xml)
    end = xml.rindex("</w:body>")
    return xml[:start.end()], xml[start.end():end], xml[end:]


def _split_section(body: str):
    """(the letter's content, its final w:sectPr)."""
    at = body.rfind("<w:sectPr")
    if at < 0:
        return body, "<w:sectPr/>"
    return body[:at], body[at:]


_AFTER_PGNUM = ("<w:cols", "<w:formProt", "<w:vAlign", "<w:noEndnote", "<w:titlePg",
                "<w:textDirection", "<w:bidi", "<w:rtlGutter", "<w:docGrid",
                "<w:printerSettings", "<w:sectPrChange")


def _restart_numbering(sect: str) -> str:
    if sect.endswith("/>") and "</w:sectPr>" not in sect:
        sect = sect[:-2] + "></w:sectPr>"
    if "<w:pgNumType" in sect:
        return re.sub(r"<w:pgNumType(?![^>]*w:start)", '<w:pgNumType w:start="1"', sect, count=1)
    cut = min([sect.find(tag) for tag in _AFTER_PGNUM if tag in sect] or [sect.rindex("</w:sectPr>")])
    return sect[:cut] + '<w:pgNumType w:start="1"/>' + sect[cut:]
