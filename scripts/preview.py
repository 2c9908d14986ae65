"""`make preview`: the sample run's first letter, page 1, as docs/preview.png (shown in README).

Copies the sample workbook to a temporary folder (the repository's copy is never written),
runs `relance generate` on it as `make demo` does, converts the first letter to PDF
(relance.documents.pdf: LibreOffice, or Word on Windows) and renders its first page with
poppler's `pdftoppm`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "workbook" / "relances.xlsx"
SAMPLE_DATE = "2026-12-01"
DPI = 70
MAX_BYTES = 250_000


def _has_carlito() -> bool:
    """Whether fontconfig knows Carlito, the font with Calibri's metrics LibreOffice uses in
    its place."""
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return False
    out = subprocess.run([fc_list, "Carlito"], capture_output=True, text=True).stdout
    return bool(out.strip())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "preview.png")
    args = parser.parse_args(argv)

    from relance.documents.pdf import find_converter, to_pdf
    from relance.model import RelanceError

    pdftoppm = shutil.which("pdftoppm")
    missing = ([] if find_converter() else ["LibreOffice (Debian/Ubuntu : apt-get install "
                                             "libreoffice-writer-nogui)"])
    if not pdftoppm:
        missing.append("pdftoppm (Debian/Ubuntu : apt-get install poppler-utils ; macOS : "
                       "brew install poppler)")
    if missing:  # all that is missing, said at once
        print("preview : introuvable(s) : " + " ; ".join(missing) + ".", file=sys.stderr)
        return 1
    if sys.platform.startswith("linux") and not _has_carlito():
        print("preview : police Carlito absente (paquet fonts-crosextra-carlito) : LibreOffice "
              "remplacera Calibri par une police plus large, l'aperçu ne sera pas celui de Word.",
              file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="relance-preview-") as tmp:
        tmp = Path(tmp)
        book = tmp / "relances.xlsx"
        shutil.copy2(SAMPLE, book)
        proc = subprocess.run(
            [sys.executable, "-m", "relance.cli", "generate", str(book), "--as-of", SAMPLE_DATE,
             "--channels", "courrier", "--json"],
            capture_output=True, text=True, encoding="utf-8",
            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
        if proc.returncode != 0:
            print(f"preview : relance generate a échoué :\n{proc.stderr}", file=sys.stderr)
            return 1
        letters = json.loads(proc.stdout)["letters"]
        if not letters:
            print("preview : l'exemple n'a produit aucune lettre.", file=sys.stderr)
            return 1
        letter = Path(letters[0]["files"]["courrier"])
        try:
            pdf = to_pdf([letter], tmp / "pdf")[letter]
        except RelanceError as err:
            print(f"preview : {err}", file=sys.stderr)
            return 1
        subprocess.run([pdftoppm, "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile",
                        str(pdf), str(tmp / "page")], check=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        temp = args.out.with_name(f".~{args.out.name}")
        shutil.copyfile(tmp / "page.png", temp)
        os.replace(temp, args.out)
    size = args.out.stat().st_size
    print(f"{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out} : "
          f"première page de la lettre à {letters[0]['client']} ({size // 1000} Ko)")
    if size > MAX_BYTES:
        print(f"preview : attention, l'image fait {size // 1000} Ko (plus de "
              f"{MAX_BYTES // 1000} Ko).", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
