"""Reading a produced .docx back as text, the way a reader sees it (body, tables, footer)."""
from __future__ import annotations

import re

import docx


def _norm(text: str) -> str:
    text = text.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ")
    return re.sub(r"[ \t]+", " ", text)


def docx_text(path) -> str:
    document = docx.Document(str(path))
    parts = []

    def walk(block):
        for element in block.iter_inner_content() if hasattr(block, "iter_inner_content") else []:
            if isinstance(element, docx.text.paragraph.Paragraph):
                parts.append(element.text)
            else:  # a table
                for row in element.rows:
                    cells = []
                    for cell in row.cells:
                        cells.append(" ".join(p.text for p in cell.paragraphs))
                    parts.append(" | ".join(cells))

    walk(document)
    for section in document.sections:
        for p in section.footer.paragraphs:
            parts.append(p.text)
        for p in section.header.paragraphs:
            parts.append(p.text)
    return _norm("\n".join(parts))
