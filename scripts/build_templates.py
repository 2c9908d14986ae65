"""Build the shipped Word templates of the second reminder letter.

    python scripts/build_templates.py            # (re)writes 2e_relance.docx and 2e_relance_en.docx
    python scripts/build_templates.py --check    # builds, then renders sample letters and checks them
    python scripts/build_templates.py --check --no-build   # checks the .docx files as they are

The templates are ordinary Word documents holding docxtpl / Jinja2 tags; the variables they
may use are listed in VARIABLES.md (the contract with the code). Rules kept here:
- every tag is written in ONE run (Word never sees it split), with straight quotes;
- ``{%p ... %}`` tags sit alone in their paragraph and ``{%tr ... %}`` tags alone in their
  table row: docxtpl replaces that whole paragraph / row by the tag;
- no empty "spacer" paragraphs: spacing is paragraph formatting, so a condition that is false
  never leaves a blank line behind.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

HERE = Path(__file__).resolve().parents[1] / "templates"
FR_PATH = HERE / "2e_relance.docx"
EN_PATH = HERE / "2e_relance_en.docx"

FONT = "Calibri"
SIZE = Pt(10.5)
ACCENT = RGBColor(0x1F, 0x38, 0x64)  # dark blue: company name, table header text
GREY = RGBColor(0x59, 0x59, 0x59)
HEADER_FILL = "DCE3EE"
TOTAL_FILL = "F2F2F2"
BORDER_COLOR = "A6A6A6"

PAGE_W, LEFT, RIGHT = Mm(210), Mm(22), Mm(20)
TEXT_W = PAGE_W - LEFT - RIGHT  # 168 mm
ADDRESS_INDENT = Mm(86)  # client block starts ~108 mm from the page edge: DL window envelope
NBSP = "\u00a0"


# ----------------------------------------------------------------------------- helpers
def _runs(paragraph, parts):
    """Add runs. A part is a str or (str, {"bold": True, "size": Pt, "color": RGB, ...}).
    Each part becomes exactly one run, so a tag written inside a part is never split."""
    for part in parts:
        text, fmt = (part, {}) if isinstance(part, str) else part
        run = paragraph.add_run(text)
        if fmt.get("bold"):
            run.bold = True
        if fmt.get("italic"):
            run.italic = True
        if "size" in fmt:
            run.font.size = fmt["size"]
        if "color" in fmt:
            run.font.color.rgb = fmt["color"]
    return paragraph


def para(container, *parts, align=None, indent=None, before=None, after=None,
         keep=False, style=None, first_line=None):
    p = container.add_paragraph(style=style) if style else container.add_paragraph()
    pf = p.paragraph_format
    if align is not None:
        p.alignment = align
    if indent is not None:
        pf.left_indent = indent
    if first_line is not None:
        pf.first_line_indent = first_line
    if before is not None:
        pf.space_before = before
    if after is not None:
        pf.space_after = after
    if keep:
        pf.keep_with_next = True
    return _runs(p, parts)


def tag(container, text):
    """A paragraph holding only a ``{%p ... %}`` tag (removed by docxtpl when rendering)."""
    p = container.add_paragraph()
    p.paragraph_format.space_before = Pt(0)
    p.paragraph_format.space_after = Pt(0)
    p.add_run(text)
    return p


def bullet(container, *parts, after=Pt(2)):
    """A hanging-indent bullet paragraph (a plain en dash, no numbering part needed)."""
    p = para(container, "–\t", *parts, indent=Mm(9), first_line=-Mm(5), after=after)
    p.paragraph_format.tab_stops.add_tab_stop(Mm(9))
    return p


def _set_cell_fill(cell, fill):
    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc_pr.append(shd)


def _set_table_borders(table, color=BORDER_COLOR, size=4, inside=True):
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    edges = ["top", "left", "bottom", "right"] + (["insideH", "insideV"] if inside else [])
    for edge in ["top", "left", "bottom", "right", "insideH", "insideV"]:
        el = OxmlElement(f"w:{edge}")
        if edge in edges:
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), str(size))
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), color)
        else:
            el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _set_widths(table, widths):
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
    for col, w in zip(table.columns, widths):
        col.width = w
    for row in table.rows:
        for cell, w in zip(row.cells, widths):
            cell.width = w


def _repeat_header(row):
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    tr_pr.append(el)


def _cant_split(row):
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))


def cell_text(cell, *parts, align=None, size=Pt(9.5)):
    p = cell.paragraphs[0]
    p.paragraph_format.space_before = Pt(1)
    p.paragraph_format.space_after = Pt(1)
    if align is not None:
        p.alignment = align
    sized = []
    for part in parts:
        text, fmt = (part, {}) if isinstance(part, str) else part
        sized.append((text, {"size": size, **fmt}))
    _runs(p, sized)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    return p


def row_tag(table, text):
    """A table row holding only a ``{%tr ... %}`` tag (docxtpl replaces the whole row)."""
    row = table.add_row()
    cell_text(row.cells[0], text)
    return row


def new_document(title, language):
    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = PAGE_W, Mm(297)
    sec.left_margin, sec.right_margin = LEFT, RIGHT
    sec.top_margin, sec.bottom_margin = Mm(15), Mm(18)
    sec.header_distance, sec.footer_distance = Mm(8), Mm(8)

    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = SIZE
    rpr = normal.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        rfonts.set(qn(attr), FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), language)
    rpr.append(lang)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.08
    normal.paragraph_format.widow_control = True

    cp = doc.core_properties
    cp.title = title
    cp.author = "Relance"
    cp.last_modified_by = "Relance"
    cp.subject = ""
    cp.comments = ""
    cp.keywords = ""
    cp.category = ""
    cp.language = language
    cp.revision = 1
    return doc


def letterhead(doc, phone_label):
    """Company block at the top left, in a borderless table whose minimum height puts the
    client's address where the window of a DL envelope is, whatever the number of lines."""
    table = doc.add_table(rows=1, cols=1)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    _set_widths(table, [Mm(100)])
    row = table.rows[0]
    row.height = Mm(36)
    row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    cell = row.cells[0]
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
    first = cell.paragraphs[0]
    _runs(first, [("{{ company.name }}", {"bold": True, "size": Pt(15), "color": ACCENT})])
    first.paragraph_format.space_after = Pt(3)
    small = {"size": Pt(9.5), "color": GREY}
    tag(cell, "{%p for line in company.address_lines %}")
    para(cell, ("{{ line }}", small), after=Pt(0))
    tag(cell, "{%p endfor %}")
    para(cell, ("{{ company.postcode }} {{ company.city }}", small), after=Pt(0))
    tag(cell, "{%p if company.phone or company.email %}")
    para(cell, ("{% if company.phone %}" + phone_label + " {{ company.phone }}{% endif %}"
                "{% if company.phone and company.email %}  ·  {% endif %}"
                "{% if company.email %}{{ company.email }}{% endif %}", small), after=Pt(0))
    tag(cell, "{%p endif %}")
    return table


def address_block(doc):
    para(doc, ("{{ client.name }}", {"bold": True}), indent=ADDRESS_INDENT, after=Pt(0))
    tag(doc, "{%p if client.attention %}")
    para(doc, "{{ client.attention }}", indent=ADDRESS_INDENT, after=Pt(0))
    tag(doc, "{%p endif %}")
    tag(doc, "{%p for line in client.address_lines %}")
    para(doc, "{{ line }}", indent=ADDRESS_INDENT, after=Pt(0))
    tag(doc, "{%p endfor %}")


def invoice_table(doc, labels):
    """labels: dict with header texts and row captions."""
    widths = [Mm(w) for w in (27, 23, 23, 26, 24, 26, 19)]  # = 168 mm
    right = WD_ALIGN_PARAGRAPH.RIGHT
    center = WD_ALIGN_PARAGRAPH.CENTER
    aligns = [None, center, center, right, right, right, center]

    table = doc.add_table(rows=1, cols=7)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _set_table_borders(table)

    head = table.rows[0]
    _repeat_header(head)
    _cant_split(head)
    for cell, text, al in zip(head.cells, labels["headers"], aligns):
        cell_text(cell, (text, {"bold": True, "color": ACCENT}), align=al, size=Pt(9))
        _set_cell_fill(cell, HEADER_FILL)

    row_tag(table, "{%tr for f in invoices %}")
    row = table.add_row()
    _cant_split(row)
    fields = ["{{ f.number }}", "{{ f.invoice_date }}", "{{ f.due_date }}", "{{ f.amount }}",
              "{{ f.paid }}", "{{ f.balance }}", "{{ f.days_late }}"]
    for cell, text, al in zip(row.cells, fields, aligns):
        cell_text(cell, text, align=al)
    row_tag(table, "{%tr endfor %}")

    # With credit notes: subtotal of the invoices, then one row per credit note.
    row_tag(table, "{%tr if credit_notes %}")
    row = table.add_row()
    _cant_split(row)
    cell_text(row.cells[0], labels["subtotal"])
    cell_text(row.cells[5], "{{ invoices_total }}", align=right)
    row_tag(table, "{%tr for a in credit_notes %}")
    row = table.add_row()
    _cant_split(row)
    cell_text(row.cells[0], labels["credit_note"])
    cell_text(row.cells[5], "{{ a.amount }}", align=right)
    row_tag(table, "{%tr endfor %}")
    row_tag(table, "{%tr endif %}")

    row = table.add_row()
    _cant_split(row)
    cell_text(row.cells[0], (labels["total"], {"bold": True}), size=Pt(10))
    cell_text(row.cells[5], ("{{ total }}", {"bold": True}), align=right, size=Pt(10))
    for cell in row.cells:
        _set_cell_fill(cell, TOTAL_FILL)

    _set_widths(table, widths)
    # Empty cells: same spacing and paragraph-mark size as the filled ones (even row heights).
    for r in table.rows:
        for cell in r.cells:
            for p in cell.paragraphs:
                if not p.runs:
                    p.paragraph_format.space_before = Pt(1)
                    p.paragraph_format.space_after = Pt(1)
                    mark = OxmlElement("w:rPr")
                    sz = OxmlElement("w:sz")
                    sz.set(qn("w:val"), "19")
                    mark.append(sz)
                    p._p.get_or_add_pPr().append(mark)
    # Caption cells span the first five columns (merged after the widths are set).
    for r in table.rows:
        first = r.cells[0].text
        if first.startswith("{%tr") or r is head:
            continue
        if first in (labels["subtotal"], labels["credit_note"], labels["total"]):
            merged = r.cells[0].merge(r.cells[4])
            # merge() keeps the paragraphs of every merged cell: drop the empty ones
            for p in merged.paragraphs[1:]:
                if not p.text:
                    p._p.getparent().remove(p._p)
    return table


def footer(doc):
    p = doc.sections[0].footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_after = Pt(0)
    _runs(p, [("{{ company.name }}{% if company.legal_mentions %}  ·  "
               "{{ company.legal_mentions }}{% endif %}", {"size": Pt(8), "color": GREY})])
    # a thin rule above the footer line
    p_pr = p._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for k, v in (("w:val", "single"), ("w:sz", "4"), ("w:space", "4"), ("w:color", BORDER_COLOR)):
        top.set(qn(k), v)
    bdr.append(top)
    p_pr.append(bdr)


# ----------------------------------------------------------------------------- French
def save_stable(doc, path) -> None:
    """Save with fixed zip timestamps and core dates, so rebuilding gives the same bytes."""
    import io
    import zipfile
    from datetime import datetime
    props = doc.core_properties
    props.created = props.modified = datetime(2026, 1, 1)
    props.last_modified_by = props.author = "Relance"
    props.revision = 1
    buf = io.BytesIO()
    doc.save(buf)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(fixed, src.read(info.filename))


def build_fr(path=FR_PATH):
    nb = NBSP
    doc = new_document("Deuxième lettre de relance", "fr-FR")
    letterhead(doc, "Tél." + nb + ":")
    address_block(doc)

    para(doc, "{{ place }}, le {{ date }}", indent=ADDRESS_INDENT, before=Pt(20), after=Pt(16))
    tag(doc, "{%p if client.code %}")
    para(doc, "Réf. client" + nb + ": {{ client.code }}", after=Pt(2))
    tag(doc, "{%p endif %}")
    para(doc, ("Objet" + nb + ": ", {"bold": True}), ("{{ subject }}", {"bold": True}),
         before=Pt(2), after=Pt(14))

    para(doc, "{{ salutation }},", after=Pt(8))
    para(doc,
         "{% if ' et ' in first_reminder_dates %}Par nos courriers des {{ first_reminder_dates }}"
         "{% else %}Par notre courrier du {{ first_reminder_dates }}{% endif %}"
         ", nous vous avons rappelé que "
         "{% if invoices|length > 1 %}les factures ci-dessous étaient arrivées"
         "{% else %}la facture ci-dessous était arrivée{% endif %}"
         " à échéance. {% if ' et ' in first_reminder_dates %}Ces relances sont restées"
         "{% else %}Cette relance est restée{% endif %} sans réponse et, sauf erreur ou omission de "
         "notre part, "
         "{% if invoices|length > 1 %}ces factures demeurent impayées"
         "{% else %}cette facture demeure impayée{% endif %} à ce jour" + nb + ":",
         align=WD_ALIGN_PARAGRAPH.JUSTIFY, keep=True)

    invoice_table(doc, {
        "headers": ["N° facture", "Date facture", "Échéance", "Montant TTC", "Déjà réglé",
                    "Reste dû", "Jours de retard"],
        "subtotal": "Total des factures",
        "credit_note": "Avoir n° {{ a.number }} du {{ a.invoice_date }}, à déduire",
        "total": "Montant total restant dû",
    })

    tag(doc, "{%p if credit_notes %}")
    para(doc, "Ce montant tient compte "
              "{% if credit_notes|length > 1 %}des avoirs émis{% else %}de l’avoir émis{% endif %}"
              " en votre faveur, soit {{ credit_notes_total }}.",
         before=Pt(6), after=Pt(0))
    tag(doc, "{%p endif %}")

    tag(doc, "{%p if other_invoices %}")
    para(doc, "Pour information, "
              "{% if other_invoices|length > 1 %}les factures suivantes, non comprises dans ce "
              "montant, sont également échues et font{% else %}la facture suivante, non comprise "
              "dans ce montant, est également échue et fait{% endif %}"
              " l’objet d’un suivi distinct" + nb + ":",
         before=Pt(8), after=Pt(2), keep=True)
    tag(doc, "{%p for o in other_invoices %}")
    bullet(doc, "facture n° {{ o.number }}, échue le {{ o.due_date }}, reste dû {{ o.balance }}"
                " ({{ o.stage }})", after=Pt(0))
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endif %}")

    para(doc, "Nous vous demandons en conséquence de bien vouloir nous régler la somme de ",
         ("{{ total }}", {"bold": True}), " ", ("au plus tard le {{ deadline }}", {"bold": True}),
         ", soit dans un délai de {{ payment_delay }} jours.",
         align=WD_ALIGN_PARAGRAPH.JUSTIFY, before=Pt(10))

    para(doc, "Vous pouvez effectuer ce règlement" + nb + ":", after=Pt(2), keep=True)
    tag(doc, "{%p if payment.transfer %}")
    bullet(doc, ("par virement bancaire", {"bold": True}),
           " – IBAN" + nb + ": {{ payment.iban }}"
           "{% if payment.bic %} – BIC" + nb + ": {{ payment.bic }}{% endif %}"
           ", en indiquant {% if invoices|length > 1 %}les numéros des factures réglées"
           "{% else %}le numéro de la facture réglée{% endif %} en référence")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if payment.cheque %}")
    bullet(doc, ("par chèque", {"bold": True}),
           " à l’ordre de «" + nb + "{{ payment.cheque_payee }}" + nb + "», adressé à {{ company.name }}, "
           "{{ company.address_lines|join(', ') }}, {{ company.postcode }} {{ company.city }}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if payment.card %}")
    bullet(doc, ("par carte bancaire", {"bold": True}),
           ", en ligne, à l’adresse {{ payment.link }}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if payment.cash %}")
    bullet(doc, ("en espèces", {"bold": True}),
           ", à nos bureaux ({{ company.address_lines|join(', ') }}, {{ company.postcode }} "
           "{{ company.city }}), contre reçu")
    tag(doc, "{%p endif %}")

    para(doc, "Si vous rencontrez des difficultés de trésorerie, nous vous invitons à nous "
              "contacter sans attendre{% if company.phone %} au {{ company.phone }}{% endif %}"
              "{% if company.email %}{% if company.phone %} ou{% endif %} par courriel à "
              "{{ company.email }}{% endif %}" + nb + ": nous sommes disposés à convenir avec "
              "vous d’un échéancier de paiement.",
         align=WD_ALIGN_PARAGRAPH.JUSTIFY, before=Pt(8))

    # What follows non-payment, by kind of client.
    j = WD_ALIGN_PARAGRAPH.JUSTIFY
    tag(doc, "{%p if clientele == 'business' %}")
    para(doc, "Nous vous rappelons qu’en application de l’article L441-10 du Code de commerce, "
              "tout retard de paiement entraîne de plein droit, sans qu’un rappel soit "
              "nécessaire" + nb + ":", align=j, after=Pt(2), keep=True)
    tag(doc, "{%p if penalty_rate %}")
    bullet(doc, "des pénalités de retard au taux annuel de {{ penalty_rate }}, soit "
                "{{ penalties_total }} à ce jour" + nb + ";")
    tag(doc, "{%p else %}")
    bullet(doc, "des pénalités de retard égales au taux d’intérêt appliqué par la Banque "
                "centrale européenne à son opération de refinancement la plus récente, majoré "
                "de 10 points de pourcentage, sauf disposition contraire de nos conditions "
                "générales de vente" + nb + ";")
    tag(doc, "{%p endif %}")
    bullet(doc, "une indemnité forfaitaire pour frais de recouvrement de {{ indemnity }} par "
                "facture payée en retard (articles L441-10 et D441-5 du Code de commerce), "
                "soit {{ indemnity_total }}.")
    para(doc, "Ces sommes sont dues en sus du montant réclamé ci-dessus, qui ne les inclut pas.",
         align=j, before=Pt(4))
    tag(doc, "{%p elif clientele == 'public' %}")
    para(doc, "Nous vous rappelons qu’en application de l’article L2192-13 du Code de la "
              "commande publique, le dépassement du délai de paiement fait courir de plein "
              "droit" + nb + ":", align=j, after=Pt(2), keep=True)
    tag(doc, "{%p if penalty_rate %}")
    bullet(doc, "des intérêts moratoires au taux annuel de {{ penalty_rate }}, soit "
                "{{ penalties_total }} à ce jour" + nb + ";")
    tag(doc, "{%p else %}")
    bullet(doc, "des intérêts moratoires au taux d’intérêt appliqué par la Banque centrale "
                "européenne à ses opérations principales de refinancement les plus récentes, "
                "majoré de 8 points de pourcentage (article R2192-31 du même code)" + nb + ";")
    tag(doc, "{%p endif %}")
    bullet(doc, "une indemnité forfaitaire pour frais de recouvrement de {{ indemnity }} par "
                "facture (article D2192-35 du même code), soit {{ indemnity_total }}.")
    para(doc, "Ces sommes sont dues en sus du montant réclamé ci-dessus, qui ne les inclut pas.",
         align=j, before=Pt(4))
    tag(doc, "{%p else %}")
    para(doc, "Nous vous rappelons qu’à défaut de paiement, les sommes dues porteront intérêts "
              "au taux légal à compter de la mise en demeure qui vous sera adressée (article "
              "1231-6 du Code civil).", align=j)
    tag(doc, "{%p endif %}")

    # a public buyer's goods cannot be seized: the way is a référé-provision before the
    # competent judge (administrative court, CJA R541-1, for an administrative contract;
    # the civil or commercial court otherwise), not a collection agency
    para(doc, "À défaut de règlement ou de prise de contact de votre part au plus tard le "
              "{{ deadline }}, nous vous adresserons une mise en demeure de payer, puis "
              "{% if clientele == 'public' %}nous saisirons le juge des référés d’une demande "
              "de provision du montant de notre créance{% else %}nous confierons le "
              "recouvrement de notre créance à une société de recouvrement ou engagerons une "
              "procédure judiciaire{% endif %}. Nous souhaitons vivement ne pas en arriver là.",
         align=j, before=Pt(4))
    para(doc, "Si votre règlement a croisé ce courrier, nous vous prions de ne pas en tenir "
              "compte. Si vous contestez tout ou partie de ces sommes, merci de nous en faire "
              "part sans délai afin que nous examinions votre réclamation.", align=j)
    para(doc, "Nous vous prions d’agréer, {{ salutation }}, l’expression de nos salutations "
              "distinguées.", align=j, keep=True, after=Pt(18))
    signature(doc)
    footer(doc)
    save_stable(doc, path)
    return path


def signature(doc):
    tag(doc, "{%p if company.signatory %}")
    para(doc, ("{{ company.signatory }}", {"bold": True}), indent=ADDRESS_INDENT, after=Pt(0),
         keep=True)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if company.signatory_title %}")
    para(doc, "{{ company.signatory_title }}", indent=ADDRESS_INDENT, after=Pt(0), keep=True)
    tag(doc, "{%p endif %}")
    para(doc, "{{ company.name }}", indent=ADDRESS_INDENT, after=Pt(0))


# ----------------------------------------------------------------------------- English
def build_en(path=EN_PATH):
    doc = new_document("Second payment reminder", "en-GB")
    letterhead(doc, "Tel.")
    address_block(doc)

    para(doc, "{{ place }}, {{ date }}", indent=ADDRESS_INDENT, before=Pt(20), after=Pt(16))
    tag(doc, "{%p if client.code %}")
    para(doc, "Customer ref.: {{ client.code }}", after=Pt(2))
    tag(doc, "{%p endif %}")
    para(doc, ("Re: ", {"bold": True}), ("{{ subject }}", {"bold": True}),
         before=Pt(2), after=Pt(14))

    para(doc, "{{ salutation }},", after=Pt(8))
    j = WD_ALIGN_PARAGRAPH.JUSTIFY
    para(doc,
         "We wrote to you on {{ first_reminder_dates }} about the "
         "{% if invoices|length > 1 %}invoices{% else %}invoice{% endif %} listed below. "
         "We have received neither payment nor a reply and, according to our records, the "
         "following {% if invoices|length > 1 %}amounts are{% else %}amount is{% endif %}"
         " still outstanding:", align=j, keep=True)

    invoice_table(doc, {
        "headers": ["Invoice no.", "Invoice date", "Due date", "Amount incl. VAT",
                    "Already paid", "Balance due", "Days overdue"],
        "subtotal": "Total of the invoices",
        "credit_note": "Less credit note {{ a.number }} of {{ a.invoice_date }}",
        "total": "Total amount due",
    })

    tag(doc, "{%p if credit_notes %}")
    para(doc, "This amount takes into account the "
              "{% if credit_notes|length > 1 %}credit notes{% else %}credit note{% endif %}"
              " issued in your favour ({{ credit_notes_total }}).", before=Pt(6), after=Pt(0))
    tag(doc, "{%p endif %}")

    tag(doc, "{%p if other_invoices %}")
    para(doc, "For your information, the following "
              "{% if other_invoices|length > 1 %}invoices are{% else %}invoice is{% endif %}"
              " also overdue; {% if other_invoices|length > 1 %}they are{% else %}it is"
              "{% endif %} not included in the amount above and will be followed up "
              "separately:", before=Pt(8), after=Pt(2), keep=True)
    tag(doc, "{%p for o in other_invoices %}")
    bullet(doc, "invoice {{ o.number }}, due on {{ o.due_date }}, balance {{ o.balance }}"
                " ({{ o.stage }})", after=Pt(0))
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endif %}")

    para(doc, "We must therefore ask you to pay ", ("{{ total }}", {"bold": True}), " ",
         ("by {{ deadline }} at the latest", {"bold": True}),
         ", that is within {{ payment_delay }} days.", align=j, before=Pt(10))

    para(doc, "You can pay:", after=Pt(2), keep=True)
    tag(doc, "{%p if payment.transfer %}")
    bullet(doc, ("by bank transfer", {"bold": True}),
           " – IBAN: {{ payment.iban }}{% if payment.bic %} – BIC: {{ payment.bic }}{% endif %}"
           ", quoting the invoice "
           "{% if invoices|length > 1 %}numbers{% else %}number{% endif %}"
           " as the payment reference")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if payment.cheque %}")
    bullet(doc, ("by cheque", {"bold": True}),
           " payable to {{ payment.cheque_payee }}, sent to {{ company.name }}, "
           "{{ company.address_lines|join(', ') }}, {{ company.postcode }} {{ company.city }}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if payment.card %}")
    bullet(doc, ("by card", {"bold": True}), ", online at {{ payment.link }}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if payment.cash %}")
    bullet(doc, ("in cash", {"bold": True}),
           " at our offices ({{ company.address_lines|join(', ') }}, {{ company.postcode }} "
           "{{ company.city }}), against a receipt")
    tag(doc, "{%p endif %}")

    para(doc, "If you are experiencing cash-flow difficulties, please get in touch with us "
              "without delay{% if company.phone %} on {{ company.phone }}{% endif %}"
              "{% if company.email %}{% if company.phone %} or{% endif %} by e-mail at "
              "{{ company.email }}{% endif %}: we are willing to agree a payment plan with you.",
         align=j, before=Pt(8))

    tag(doc, "{%p if clientele == 'business' %}")
    para(doc, "Please note that under Article L441-10 of the French Commercial Code (Code de "
              "commerce), any late payment automatically gives rise, without any further "
              "reminder being required, to:", align=j, after=Pt(2), keep=True)
    tag(doc, "{%p if penalty_rate %}")
    bullet(doc, "late-payment penalties at the annual rate of {{ penalty_rate }}, amounting to "
                "{{ penalties_total }} to date;")
    tag(doc, "{%p else %}")
    bullet(doc, "late-payment penalties at the rate applied by the European Central Bank to its "
                "most recent refinancing operation plus 10 percentage points, unless our terms "
                "and conditions of sale provide otherwise;")
    tag(doc, "{%p endif %}")
    bullet(doc, "a fixed indemnity for recovery costs of {{ indemnity }} per invoice paid late "
                "(Articles L441-10 and D441-5 of the French Commercial Code), i.e. "
                "{{ indemnity_total }}.")
    para(doc, "These sums are payable in addition to the amount claimed above, which does not "
              "include them.", align=j, before=Pt(4))
    tag(doc, "{%p elif clientele == 'public' %}")
    para(doc, "Please note that under Article L2192-13 of the French Public Procurement Code "
              "(Code de la commande publique), late payment automatically gives rise to:",
         align=j, after=Pt(2), keep=True)
    tag(doc, "{%p if penalty_rate %}")
    bullet(doc, "default interest at the annual rate of {{ penalty_rate }}, amounting to "
                "{{ penalties_total }} to date;")
    tag(doc, "{%p else %}")
    bullet(doc, "default interest at the rate applied by the European Central Bank to its most "
                "recent main refinancing operations plus 8 percentage points (Article R2192-31 "
                "of that Code);")
    tag(doc, "{%p endif %}")
    bullet(doc, "a fixed indemnity for recovery costs of {{ indemnity }} per invoice (Article "
                "D2192-35 of that Code), i.e. {{ indemnity_total }}.")
    para(doc, "These sums are payable in addition to the amount claimed above, which does not "
              "include them.", align=j, before=Pt(4))
    tag(doc, "{%p else %}")
    para(doc, "Please note that if payment is not made, the sums due will bear interest at the "
              "statutory rate from the date of a formal notice to pay (Article 1231-6 of the "
              "French Civil Code).", align=j)
    tag(doc, "{%p endif %}")

    para(doc, "If we have not received your payment or heard from you by {{ deadline }}, we "
              "will send you a formal notice to pay (mise en demeure) and then "
              "{% if clientele == 'public' %}apply to the court for an interim payment order "
              "(référé-provision) for the sum due{% else %}pass the matter to a debt collection agency or take legal "
              "action{% endif %}. We would much prefer not to have to take these steps.",
         align=j, before=Pt(4))
    para(doc, "If your payment has crossed with this letter, please disregard it. If you "
              "dispute all or part of these amounts, please let us know straight away so that "
              "we can look into it.", align=j)
    tag(doc, "{%p if client.contact %}")
    para(doc, "Yours sincerely,", keep=True, after=Pt(18))
    tag(doc, "{%p else %}")
    para(doc, "Yours faithfully,", keep=True, after=Pt(18))
    tag(doc, "{%p endif %}")
    signature(doc)
    footer(doc)
    save_stable(doc, path)
    return path


def build():
    return [build_fr(), build_en()]


# ----------------------------------------------------------------------------- check
def sample_context(clientele="business", lang="fr", minimal=False):
    """Every variable of VARIABLES.md, filled as the code fills them (preformatted strings)."""
    ctx = {
        "company": {
            "name": "Atelier Lumière",
            "legal_form": "SARL",
            "capital": "10 000 €",
            "address_lines": ["12 rue des Tanneurs", "Bâtiment B"],
            "postcode": "69002",
            "city": "Lyon",
            "siren": "812 345 678",
            "rcs": "Lyon",
            "vat": "FR12812345678",
            "legal_mentions": "SARL au capital de 10 000 € · RCS Lyon 812 345 678 · "
                              "TVA FR12812345678",
            "phone": "04 78 12 34 56",
            "email": "compta@atelier-lumiere.fr",
            "signatory": "Claire Martin",
            "signatory_title": "Gérante",
        },
        "client": {
            "name": "Dupont & Fils <Nord>",
            "code": "C0042",
            "contact": "M. Jean Dupont",
            "attention": "À l’attention de M. Jean Dupont" if lang != "en" else
                         "For the attention of M. Jean Dupont",
            "address_lines": ["Service comptabilité fournisseurs", "45 avenue de la République",
                              "ZI des Prés", "59000 Lille", "FRANCE"],
            "email": "compta@dupont-fils.fr",
            "phone": "03 20 00 00 00",
        },
        "lang": lang,
        "salutation": ("Dear Mr Dupont" if lang == "en" else "Monsieur"),
        "place": "Lyon",
        "date": "3 décembre 2026" if lang == "fr" else "3 December 2026",
        "subject": ("Deuxième relance – factures impayées" if lang == "fr"
                    else "Second reminder – unpaid invoices"),
        "first_reminder_dates": ("12 octobre 2026 et 3 novembre 2026" if lang == "fr"
                                 else "12 October 2026 and 3 November 2026"),
        "invoices": [
            {"number": "000123", "invoice_date": "15/08/2026", "due_date": "14/09/2026",
             "amount": "1 200,00 €", "paid": "200,00 €", "balance": "1 000,00 €",
             "days_late": 80, "penalty": "26,30 €"},
            {"number": "000131", "invoice_date": "01/09/2026", "due_date": "01/10/2026",
             "amount": "2 400,00 €", "paid": "0,00 €", "balance": "2 400,00 €",
             "days_late": 63, "penalty": "49,71 €"},
            {"number": "000140", "invoice_date": "20/09/2026", "due_date": "20/10/2026",
             "amount": "12 345,67 €", "paid": "0,00 €", "balance": "12 345,67 €",
             "days_late": 44, "penalty": "178,59 €"},
        ],
        "invoice_count": 3,
        "invoices_total": "15 745,67 €",
        "credit_notes": [
            {"number": "AV-0007", "invoice_date": "30/09/2026", "amount": "-150,00 €"},
        ],
        "credit_notes_total": "-150,00 €",
        "total": "15 595,67 €",
        "other_invoices": [
            {"number": "000152", "due_date": "15/11/2026", "balance": "840,00 €",
             "stage": "1ère relance envoyée"},
            {"number": "000158", "due_date": "25/11/2026", "balance": "96,00 €",
             "stage": "Échue, 1ère relance à envoyer"},
        ],
        "deadline": "11 décembre 2026" if lang == "fr" else "11 December 2026",
        "payment_delay": 8,
        "formal_notice_delay": 15,
        "payment": {
            "transfer": True, "iban": "FR76 3000 4000 0100 0123 4567 890",
            "bic": "BNPAFRPPXXX",
            "cheque": True, "cheque_payee": "Atelier Lumière",
            "card": True, "link": "https://pay.example.fr/atelier-lumiere/C0042",
            "cash": True,
        },
        "clientele": clientele,
        "penalty_rate": "12,00 %",
        "penalties_total": "254,60 €",
        "indemnity": "40,00 €",
        "indemnity_total": "120,00 €",
    }
    if minimal:  # empty optional parts: the letter must still read cleanly
        ctx["client"].update(code="", contact="", attention="",
                             address_lines=["2 place du Marché", "13001 Marseille"])
        ctx["salutation"] = "Dear Sir or Madam" if lang == "en" else "Madame, Monsieur"
        ctx["invoices"] = ctx["invoices"][:1]
        ctx["invoice_count"] = 1
        ctx["invoices_total"] = ctx["total"] = "1 000,00 €"
        ctx["credit_notes"], ctx["credit_notes_total"] = [], ""
        ctx["other_invoices"] = []
        ctx["first_reminder_dates"] = "12 octobre 2026" if lang == "fr" else "12 October 2026"
        ctx["penalty_rate"] = ctx["penalties_total"] = ""
        ctx["indemnity_total"] = "40,00 €"
        ctx["payment"].update(cheque=False, cheque_payee="", card=False, link="", cash=False,
                              bic="")
        ctx["company"].update(phone="", signatory_title="")
    return ctx


def _all_text(document):
    """Every paragraph text of a python-docx Document: body, tables (nested), headers, footers."""
    out = []

    def walk(block):
        for p in block.paragraphs:
            out.append(p.text)
        for t in block.tables:
            for row in t.rows:
                for cell in row.cells:
                    walk(cell)

    walk(document)
    for s in document.sections:
        for part in (s.header, s.footer):
            walk(part)
    return out


def render(template, ctx, out):
    from docxtpl import DocxTemplate
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
    tpl = DocxTemplate(str(template))
    tpl.render(ctx, jinja_env=env, autoescape=True)
    tpl.save(str(out))
    return out


def check(out_dir=None):
    """The sample letters rendered into `out_dir` (a new temporary folder by default: two
    users of one machine do not share it) and checked."""
    out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="relance-check-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for lang, template in (("fr", FR_PATH), ("en", EN_PATH)):
        for clientele in ("business", "public", "consumer"):
            for minimal in (False, True):
                ctx = sample_context(clientele, lang, minimal)
                name = f"{lang}_{clientele}{'_minimal' if minimal else ''}.docx"
                out = render(template, ctx, out_dir / name)
                texts = _all_text(Document(str(out)))
                full = "\n".join(texts)
                for marker in ("{{", "}}", "{%", "%}", "{#", "#}"):
                    assert marker not in full, f"{name}: leftover {marker!r}"
                assert "Dupont & Fils <Nord>" in full, f"{name}: client name not rendered exactly"
                assert "&amp;" not in full and "&lt;" not in full, f"{name}: double escaping"
                assert ctx["total"] in full and ctx["deadline"] in full, name
                # no blank paragraph left in the body by a false condition
                body = [p.text for p in Document(str(out)).paragraphs]
                assert all(t.strip() for t in body), f"{name}: empty paragraph in the body"
                legal = {"business": "L441-10", "public": "L2192-13", "consumer": "1231-6"}
                assert legal[clientele] in full, f"{name}: legal reference missing"
                if clientele == "consumer":
                    assert "forfaitaire" not in full and "fixed indemnity" not in full, name
                else:
                    assert ctx["indemnity_total"] in full, name
                    if ctx["penalty_rate"]:
                        assert ctx["penalties_total"] in full, name
                    else:
                        assert "10 points" in full or "8 points" in full or "percentage points" in full, name
                for inv in ctx["invoices"]:
                    assert inv["number"] in full, name
                # singular or plural as the number of invoices claimed (minimal: one)
                several = len(ctx["invoices"]) > 1
                wording = {
                    "fr": ("cette facture demeure impayée", "le numéro de la facture réglée")
                    if not several else ("ces factures demeurent impayées",
                                         "les numéros des factures réglées"),
                    "en": ("amount is still outstanding", "quoting the invoice number as")
                    if not several else ("amounts are still outstanding",
                                         "quoting the invoice numbers as"),
                }[lang]
                for words in wording:
                    assert words in full, f"{name}: {words!r} missing"
                for a in ctx["credit_notes"]:
                    assert a["number"] in full, name
                for o in ctx["other_invoices"]:
                    assert o["number"] in full, name
                assert ("Dupont" in full) and (ctx["client"]["address_lines"][0] in full)
                if not ctx["client"]["contact"]:
                    assert "attention" not in full, name
                agency, court = (("société de recouvrement", "juge des référés")
                                 if lang == "fr" else ("debt collection agency", "référé"))
                if clientele == "public":  # the court, never an agency, for a public buyer
                    assert court in full and agency not in full, name
                else:
                    assert agency in full and court not in full, name
                    if lang == "fr":  # an agency's fees are never claimed (CPCE L111-8)
                        assert "frais" not in full.split(agency)[-1], name
                assert "D2192-35" in full if clientele == "public" else True, name
                results.append(out)
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="render sample letters (fr/en × 3 clienteles × full/minimal) and check them")
    ap.add_argument("--no-build", action="store_true", help="do not rewrite the templates")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder of the sample letters written by --check (default: a new "
                         "temporary folder)")
    args = ap.parse_args(argv)
    if not args.no_build:
        for path in build():
            print(f"écrit : {path}")
    if args.check:
        for out in check(args.out):
            print(f"ok : {out}")
        print("vérification réussie")
    return 0


if __name__ == "__main__":
    sys.exit(main())
