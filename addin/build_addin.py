"""Build addin/relance.xlam from xlwings' own custom add-in template.

    .venv/bin/python addin/build_addin.py                  # writes addin/relance.xlam
    .venv/bin/python addin/build_addin.py OUT/relance.xlam  # writes elsewhere (tests)
    .venv/bin/python addin/build_addin.py --check          # fails if addin/relance.xlam is stale

The template is the file `xlwings quickstart NAME --addin --ribbon` copies
(xlwings/quickstart_addin_ribbon.xlam in the installed xlwings). Its ribbon button calls the
VBA macro RibbonMyAddin.RunMain, which runs `import <file name>; <file name>.main()` with the
add-in's own file name, without extension: our file is therefore named relance.xlam, so the
button runs `import relance; relance.main()`.

The build edits the package at the part level: only the ribbon XML (the customUI part) is
rewritten. Every other part, the VBA project (xl/vbaProject.bin) and the settings sheet
`_myaddin.conf` included, is copied byte for byte, compressed bytes included. The settings
sheet stays as the template has it: its leading underscore switches it off (the VBA reads a
sheet named `myaddin.conf`), so every user's interpreter comes from their own config file
(%USERPROFILE%\\.myaddin\\myaddin.conf on Windows). Pre-filling the switched-off sheet would
do nothing, and switching it on would make any row it holds override every user's file.

The template's ribbon part hangs off the Office 2010+ relationship type
(.../2007/relationships/ui/extensibility) but is written in the Office 2007 namespace
(.../2006/01/customui); ours is written in the namespace its relationship calls for
(.../2009/07/customui), so _rels/.rels stays the template's and the two agree.

The output is deterministic: same template, same bytes (fixed timestamps, no extra fields,
the new ribbon part stored uncompressed so the result does not depend on the zlib build).
"""
from __future__ import annotations

import argparse
import io
import struct
import sys
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import quoteattr

from lxml import etree

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "relance.xlam"
# RibbonMyAddin.RunMain imports the module named like the add-in file: this name is the contract.
ADDIN_FILE_NAME = "relance.xlam"

# The macro the template's ribbon button calls (a Sub taking `control As IRibbonControl`).
RIBBON_MACRO = "RibbonMyAddin.RunMain"

TAB_LABEL = "Relances"
GROUP_LABEL = "Relance des impayés"
BUTTON_LABEL = "Générer les 2es relances"
# A built-in Office icon (imageMso): an envelope and a letter (Word's "Envelopes" command).
BUTTON_IMAGE = "EnvelopesAndLabelsDialog"
BUTTON_SCREENTIP = "Générer les 2es lettres de relance"
BUTTON_SUPERTIP = (
    "Écrit une 2e lettre de relance par client pour les factures restées sans réponse après la "
    "1re relance, puis met à jour la colonne « Date 2e relance » et la feuille Journal. "
    "Une confirmation est demandée avant d'écrire quoi que ce soit."
)

# Ribbon parts: the relationship type from _rels/.rels decides which schema Office applies,
# and the part's root namespace must be that schema's ([MS-CUSTOMUI], [MS-CUSTOMUI2]).
RIBBON_NAMESPACES = {
    # Office 2007 CustomUI part (usually customUI/customUI.xml)
    "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility":
        "http://schemas.microsoft.com/office/2006/01/customui",
    # Office 2010+ CustomUI part (usually customUI/customUI14.xml)
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility":
        "http://schemas.microsoft.com/office/2009/07/customui",
}
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

# Every entry gets this timestamp: 1980-01-01 00:00:00, the first date a zip can hold.
DOS_TIME, DOS_DATE = 0, (0 << 9) | (1 << 5) | 1


def template_path() -> Path:
    import xlwings

    path = Path(xlwings.__file__).resolve().parent / "quickstart_addin_ribbon.xlam"
    if not path.is_file():
        raise SystemExit(f"Modèle d'add-in xlwings introuvable : {path}")
    return path


def ribbon_parts(rels_xml: bytes) -> dict[str, str]:
    """Zip names of the package's ribbon parts, each with the namespace its relationship needs."""
    parts = {}
    for rel in etree.fromstring(rels_xml).iter(f"{{{RELS_NS}}}Relationship"):
        namespace = RIBBON_NAMESPACES.get(rel.get("Type"))
        if namespace is None:
            continue
        if rel.get("TargetMode", "Internal") != "Internal":
            raise SystemExit(f"Partie ruban externe inattendue dans le modèle : {rel.get('Target')}")
        parts[rel.get("Target").lstrip("/")] = namespace
    return parts


def template_macro(ribbon_xml: bytes) -> str:
    """The onAction of the template's one button: the macro our button must call."""
    root = etree.fromstring(ribbon_xml)
    actions = [el.get("onAction") for el in root.iter() if el.get("onAction")]
    if actions != [RIBBON_MACRO]:
        raise SystemExit(
            f"Le ruban du modèle xlwings a changé (onAction = {actions}, attendu "
            f"[{RIBBON_MACRO!r}]) : vérifier la macro appelée avant de reconstruire."
        )
    return actions[0]


def ribbon_xml(namespace: str, macro: str) -> bytes:
    a = quoteattr
    xml = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<customUI xmlns={a(namespace)}>
  <ribbon>
    <tabs>
      <tab id="relanceTab" label={a(TAB_LABEL)}>
        <group id="relanceGroup" label={a(GROUP_LABEL)}>
          <button id="relanceGenerer" size="large"
                  label={a(BUTTON_LABEL)}
                  imageMso={a(BUTTON_IMAGE)}
                  screentip={a(BUTTON_SCREENTIP)}
                  supertip={a(BUTTON_SUPERTIP)}
                  onAction={a(macro)} />
        </group>
      </tab>
    </tabs>
  </ribbon>
</customUI>
"""
    data = xml.encode("utf-8")
    etree.fromstring(data)  # well-formed, or the build stops here
    return data


def _raw_entries(path: Path):
    """(ZipInfo, compressed bytes) of each entry, in archive order, without recompressing."""
    blob = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.flag_bits & 0x1:
                raise SystemExit(f"Entrée chiffrée inattendue dans le modèle : {info.filename}")
            offset = info.header_offset
            signature, *_, name_len, extra_len = struct.unpack("<4s5H3L2H", blob[offset:offset + 30])
            if signature != b"PK\x03\x04":
                raise SystemExit(f"Modèle illisible (en-tête local de {info.filename})")
            start = offset + 30 + name_len + extra_len
            yield info, blob[start:start + info.compress_size]


def _write_zip(entries) -> bytes:
    """A zip of (name, method, flags, crc, compressed size, size, compressed bytes) entries."""
    local, central = bytearray(), bytearray()
    for name, method, flags, crc, csize, size, raw in entries:
        name_bytes = name.encode("utf-8")
        if not name.isascii():
            flags |= 0x800
        offset = len(local)
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, DOS_TIME, DOS_DATE,
                             crc, csize, size, len(name_bytes), 0)
        local += name_bytes + raw
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, DOS_TIME,
                               DOS_DATE, crc, csize, size, len(name_bytes), 0, 0, 0, 0, 0, offset)
        central += name_bytes
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central),
                      len(local), 0)
    return bytes(local + central + end)


def build(template: Path | None = None) -> bytes:
    """The bytes of relance.xlam, built from the xlwings template."""
    template = template or template_path()
    with zipfile.ZipFile(template) as zf:
        names = zf.namelist()
        parts = ribbon_parts(zf.read("_rels/.rels"))
        if not parts:
            raise SystemExit("Le modèle xlwings n'a pas de ruban (aucune relation ui/extensibility).")
        missing = [p for p in parts if p not in names]
        if missing:
            raise SystemExit(f"Partie ruban manquante dans le modèle : {missing}")
        macros = {template_macro(zf.read(p)) for p in parts}
        if len(macros) != 1:
            raise SystemExit(f"Les parties ruban du modèle appellent des macros différentes : {macros}")
        (macro,) = macros
        originals = {name: zf.read(name) for name in names}

    entries = []
    for info, raw in _raw_entries(template):
        name = info.filename
        if name in parts:
            data = ribbon_xml(parts[name], macro)
            entries.append((name, zipfile.ZIP_STORED, 0, zlib.crc32(data), len(data), len(data), data))
        else:
            entries.append((name, info.compress_type, info.flag_bits & 0x0006, info.CRC,
                            info.compress_size, info.file_size, raw))
    result = _write_zip(entries)

    # Read the result back: every part intact, every part but the ribbon identical to the template.
    with zipfile.ZipFile(io.BytesIO(result)) as zf:
        if zf.testzip() is not None or zf.namelist() != names:
            raise SystemExit("Le fichier construit est illisible.")
        for name in names:
            if name not in parts and zf.read(name) != originals[name]:
                raise SystemExit(f"La partie {name} a changé pendant la copie.")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Construit l'add-in Excel relance.xlam.")
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT,
                        help=f"fichier à écrire (par défaut {DEFAULT_OUT.relative_to(HERE.parent)})")
    parser.add_argument("--check", action="store_true",
                        help="n'écrit rien ; échoue si le fichier n'est pas à jour")
    args = parser.parse_args(argv)
    if args.out.name != ADDIN_FILE_NAME:
        parser.error(f"le fichier doit s'appeler {ADDIN_FILE_NAME} : le bouton importe le module "
                     "nommé comme le fichier")
    data = build()
    if args.check:
        if not args.out.is_file() or args.out.read_bytes() != data:
            print(f"{args.out} n'est pas à jour : lancer `make addin`.", file=sys.stderr)
            return 1
        print(f"{args.out} est à jour.")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out} écrit ({len(data)} octets).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
