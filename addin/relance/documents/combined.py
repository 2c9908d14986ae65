"""Every letter of a run in one .docx, ready to print in one go (mail-merge style).

Each letter becomes its own section, starting on a new page, with its own page settings,
header and footer (the footer carries the company's legal mentions), and page numbers that
restart at 1. docxcompose appends the letters' bodies (styles, numbering, images); it keeps
only the first document's section properties and drops the appended letters' header and
footer references, so this module closes each letter's section itself and re-links the
appended letter's header and footer parts (identical parts, the usual case, are shared).

Letters are loaded, appended and dropped one at a time: the whole set is never held in memory
at once, only the growing combined document.
"""
from __future__ import annotations

import gc
import hashlib
import io
import os
import tempfile
from copy import deepcopy
from pathlib import Path

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.parts.hdrftr import FooterPart, HeaderPart
from docxcompose.composer import Composer

from ..model import RelanceError
from ..oserrors import describe_os_error

_REF_TAGS = (qn("w:headerReference"), qn("w:footerReference"))
_R_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def combine_letters(paths: list[Path], dest: Path, *, progress=None, owner: str = "") -> None:
    """Write `dest`: the letters at `paths`, in that order, each starting on a new page.

    Written to a temporary file beside `dest`, then renamed: `dest` is either the previous
    file or the complete new one, never half written. `progress(done, total)` is called after
    each letter (about a tenth of a second a letter). Raises RelanceError when a letter cannot
    be read or `dest` cannot be written."""
    paths = [Path(p) for p in paths]
    dest = Path(dest)
    if not paths:
        raise ValueError("combine_letters: aucune lettre à assembler")
    master = _open(paths[0])
    composer = Composer(master)
    parts = _SharedParts(composer)
    body = master.element.body
    if progress:
        progress(1, len(paths))
    for done, path in enumerate(paths[1:], start=2):
        letter = _open(path)
        _close_section(body)
        # A template with several sections has section breaks inside the letter: note their
        # header and footer references before docxcompose strips them.
        inner = letter.element.body.xpath("./w:p/w:pPr/w:sectPr")
        start, before = composer.append_index(), len(body)
        composer.append(letter)
        added = body[start:start + len(body) - before]
        copies = [s for el in added if el.tag == qn("w:p") for s in el.xpath("./w:pPr/w:sectPr")]
        # The letter's last section: its own properties replace those of the letter before.
        last = deepcopy(letter.element.body.get_or_add_sectPr())
        body.replace(body.sectPr, last)
        originals = [*inner, letter.element.body.sectPr]
        for i, (original, copy) in enumerate(zip(originals, [*copies, last])):
            parts.link(original, copy, letter.part, letter_start=i == 0)
        # The letter's first section starts on a new page (the default type: no w:type), with
        # page numbers from 1.
        first = copies[0] if copies else last
        for el in first.findall(qn("w:type")):
            first.remove(el)
        _restart_page_numbers(first)
        # Only the combined document stays in memory: a loaded letter is a web of objects that
        # point at each other, which only the cycle collector frees.
        del letter, inner, added, copies, first, last, originals
        gc.collect()
        if progress:
            progress(done, len(paths))
    if owner:
        master.core_properties.identifier = owner
    save_atomically(dest, master.save, "le fichier à imprimer")


def _open(path: Path):
    try:
        return Document(str(path))
    except Exception as err:  # missing, not a .docx, corrupt
        raise RelanceError(f"Le fichier à imprimer n'a pas pu être assemblé : la lettre "
                           f"« {path.name} » est illisible ({err}).") from None


def _close_section(body) -> None:
    """End the section that holds the letter appended last, keeping its properties (page
    size, margins, header, footer): the body's final sectPr is copied into its last paragraph
    (a new empty one after a table)."""
    sentinel = body.sectPr
    last = sentinel.getprevious()
    if last is None or last.tag != qn("w:p") or last.xpath("./w:pPr/w:sectPr"):
        last = body.add_p()
    last.set_sectPr(sentinel.clone())


# sectPr children that come after w:pgNumType (ECMA-376 CT_SectPr sequence).
_AFTER_PGNUM = tuple(qn(t) for t in (
    "w:cols", "w:formProt", "w:vAlign", "w:noEndnote", "w:titlePg", "w:textDirection",
    "w:bidi", "w:rtlGutter", "w:docGrid", "w:printerSettings", "w:sectPrChange"))


def _restart_page_numbers(sectPr) -> None:
    """Each letter numbers its pages from 1 (a footer's « page 1 / 2 » stays right)."""
    pg = sectPr.find(qn("w:pgNumType"))
    if pg is None:
        pg = sectPr.makeelement(qn("w:pgNumType"), {})
        successor = next(sectPr.iterchildren(*_AFTER_PGNUM), None)
        if successor is not None:
            successor.addprevious(pg)
        else:
            sectPr.append(pg)
    pg.set(qn("w:start"), "1")


class _SharedParts:
    """Header and footer parts of the combined document, found by content, so a footer all
    letters share (one template) is stored once."""

    def __init__(self, composer: Composer):
        self.composer = composer
        self.part = composer.doc.part
        self.rids, self.blanks, self.seen = {}, {}, set()
        for ref in composer.doc.element.body.xpath(".//w:sectPr/w:headerReference|"
                                                   ".//w:sectPr/w:footerReference"):
            self.seen.add(_kind(ref))
            rid = ref.get(qn("r:id"))
            rel = self.part.rels.get(rid)
            if rel is not None and not rel.is_external:
                self.rids.setdefault(_content_key(rel), rid)

    def link(self, src_sectPr, dst_sectPr, src_part, letter_start: bool) -> None:
        """Give `dst_sectPr` (in the combined document) the header and footer references of
        `src_sectPr` (in a letter), copying the parts when new.

        A section without a header (or footer) shows the previous section's: the first
        section of a letter that has none gets a blank one when an earlier letter had one."""
        for ref in dst_sectPr.iterchildren(*_REF_TAGS):
            dst_sectPr.remove(ref)
        refs = {}
        for ref in src_sectPr.iterchildren(*_REF_TAGS):
            rel = src_part.rels.get(ref.get(qn("r:id")))
            if rel is None or rel.is_external:
                continue
            key = _content_key(rel)
            if key not in self.rids:
                self.rids[key] = self.part.relate_to(self._copy(rel), rel.reltype)
            new = deepcopy(ref)
            new.set(qn("r:id"), self.rids[key])
            refs[_kind(new)] = new
        if letter_start:
            for tag, type_ in self.seen - set(refs):
                new = dst_sectPr.makeelement(tag, {qn("w:type"): type_})
                new.set(qn("r:id"), self._blank(tag))
                refs[(tag, type_)] = new
        self.seen.update(refs)
        for new in sorted(refs.values(), key=_kind, reverse=True):  # they come first in a sectPr
            dst_sectPr.insert(0, new)

    def _blank(self, tag) -> str:
        if tag not in self.blanks:
            footer = tag == qn("w:footerReference")
            part = (FooterPart if footer else HeaderPart).new(self.part.package)
            self.blanks[tag] = self.part.relate_to(part, RT.FOOTER if footer else RT.HEADER)
        return self.blanks[tag]

    def _copy(self, rel):
        """A new header or footer part in the combined document, a copy of `rel`'s target,
        with the parts it refers to (a logo, a link…)."""
        src = rel.target_part
        if rel.reltype == RT.FOOTER:
            cls, template = FooterPart, "/word/footer%d.xml"
        else:
            cls, template = HeaderPart, "/word/header%d.xml"
        package = self.part.package
        new = cls(package.next_partname(template), src.content_type, parse_xml(src.blob), package)
        done = {}
        for el in new.element.iter():
            for attr, rid in list(el.attrib.items()):
                if attr.startswith(_R_NS) and rid in src.rels:
                    if rid not in done:
                        done[rid] = self._relate(src, new, src.rels[rid])
                    el.set(attr, done[rid])
        return new

    def _relate(self, src, new, rel) -> str:
        if rel.is_external:
            return new.relate_to(rel.target_ref, rel.reltype, is_external=True)
        if rel.reltype == RT.IMAGE:
            try:  # stored once however many letters show it
                image = new.package.get_or_add_image_part(io.BytesIO(rel.target_part.blob))
                return new.relate_to(image, RT.IMAGE)
            except Exception:  # a format python-docx does not read (EMF…): copied as is
                pass
        return self.composer.add_relationship(src, new, rel).rId


def _kind(ref) -> tuple:
    """(header or footer, default/first/even)."""
    return ref.tag, ref.get(qn("w:type"), "default")


def _content_key(rel) -> tuple:
    part = rel.target_part
    inner = tuple(sorted(
        (rid, r.reltype, r.target_ref if r.is_external else _digest(r.target_part.blob))
        for rid, r in part.rels.items()))
    return rel.reltype, _digest(part.blob), inner


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def save_atomically(dest: Path, save, what: str) -> None:
    """`save(temp_path)` writes the file; it then replaces `dest` in one rename, so `dest` is
    the previous file or the complete new one, never half written. `what` names the file in
    the French error message (« le fichier à imprimer »)."""
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".~relance-", suffix=dest.suffix, dir=dest.parent)
        os.close(fd)
    except OSError as err:
        raise RelanceError(f"Impossible d'écrire {what} {dest} ({describe_os_error(err)}).") from None
    try:
        save(temp)
        if os.name == "posix":  # mkstemp's file is private; give the usual permissions
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(temp, 0o666 & ~mask)
        os.replace(temp, dest)
    except OSError as err:
        Path(temp).unlink(missing_ok=True)
        raise RelanceError(f"Impossible d'écrire {what} {dest} ({describe_os_error(err)} ; "
                           f"est-il ouvert dans un autre programme ?).") from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
