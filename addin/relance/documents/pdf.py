"""Letters to PDF: LibreOffice on Linux and macOS (and Windows without Word), Word on Windows.

LibreOffice runs headless, once for all the letters (it starts in seconds, converts in a
fraction of one), with a private user profile in a temporary folder: it works while the user
has LibreOffice open, and on a CI machine that never ran it. Word is driven through the
optional `docx2pdf` package (pywin32) when it is installed, one Word session for all the
letters. Every PDF is checked to exist before any is reported; without a converter the caller
gets a RelanceError in French and keeps the .docx letters.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..model import RelanceError
from ..oserrors import describe_os_error
from .combined import save_atomically

NO_CONVERTER = (
    "Aucun convertisseur PDF n'a été trouvé : pour obtenir les lettres en PDF, installez "
    "LibreOffice (gratuit : https://fr.libreoffice.org), ou Microsoft Word sous Windows. "
    "Les lettres restent disponibles au format Word (.docx).")

LIBREOFFICE = "LibreOffice"
WORD = "Microsoft Word"


@dataclass(frozen=True)
class Converter:
    """A way to turn .docx files into PDF: `name` is LIBREOFFICE (with the `program` to run)
    or WORD (through docx2pdf, `program` is None)."""

    name: str
    program: Optional[Path] = None

    def convert(self, docx_paths: list, outdir: Path, timeout: Optional[float] = None) -> dict:
        return _convert(self, [Path(p) for p in docx_paths], Path(outdir), timeout)


def find_converter() -> Optional[Converter]:
    """Word on Windows when docx2pdf (and Word) are installed, else LibreOffice wherever it is
    found, else None."""
    if sys.platform == "win32" and _word_available():
        return Converter(WORD)
    program = find_soffice()
    return Converter(LIBREOFFICE, program) if program else None


def to_pdf(docx_paths: list[Path], outdir: Path, *, converter: Optional[Converter] = None,
           timeout: Optional[float] = None) -> dict[Path, Path]:
    """Convert every .docx to `outdir/<same name>.pdf`, replacing an older PDF of that name.

    Returns {docx path: pdf path} in the given order. Raises RelanceError (French message)
    when no converter is installed (NO_CONVERTER), when the conversion fails or takes longer
    than `timeout` seconds (default: one minute plus ten seconds a letter), or when a PDF is
    missing; PDFs are moved into `outdir` only once all of them are made."""
    paths = [Path(p) for p in docx_paths]
    if not paths:
        return {}
    converter = converter or find_converter()
    if converter is None:
        raise RelanceError(NO_CONVERTER)
    return converter.convert(paths, Path(outdir), timeout)


# --- finding a converter ------------------------------------------------------------------

def find_soffice() -> Optional[Path]:
    """LibreOffice's program: on PATH (`soffice`, `libreoffice`), else its usual install place."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return Path(found)
    for candidate in _install_paths():
        if candidate.is_file():
            return candidate
    return None


def _install_paths() -> list:
    if sys.platform == "darwin":
        return [Path("/Applications/LibreOffice.app/Contents/MacOS/soffice"),
                Path.home() / "Applications/LibreOffice.app/Contents/MacOS/soffice"]
    if sys.platform == "win32":
        bases = [os.environ.get(v) for v in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)")]
        bases = [b for b in dict.fromkeys(bases) if b] or [r"C:\Program Files"]
        return [Path(b) / "LibreOffice" / "program" / "soffice.exe" for b in bases]
    # Linux: the packages put soffice on PATH; The Document Foundation's own packages in /opt.
    return [Path(p) for p in sorted(glob.glob("/opt/libreoffice*/program/soffice"), reverse=True)]


def _word_available() -> bool:
    """docx2pdf and pywin32 importable, and Word registered with Windows."""
    if importlib.util.find_spec("docx2pdf") is None or importlib.util.find_spec("win32com") is None:
        return False
    try:
        import winreg
        winreg.CloseKey(winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, r"Word.Application\CLSID"))
    except OSError:
        return False
    return True


# --- converting ---------------------------------------------------------------------------

def _convert(converter: Converter, paths: list, outdir: Path, timeout: Optional[float]) -> dict:
    stems = {}
    for p in paths:
        if not p.is_file():
            raise RelanceError(f"Conversion en PDF impossible : la lettre « {p} » est introuvable.")
        key = p.stem.casefold()
        if key in stems:
            raise RelanceError(f"Conversion en PDF impossible : deux lettres portent le même nom "
                               f"« {p.stem} » ({stems[key].parent} et {p.parent}).")
        stems[key] = p
    if timeout is None:
        timeout = 60 + 10 * len(paths)
    # Inputs are copied under short ASCII names (001.docx…) in a private folder: no quoting or
    # encoding surprise with accents, apostrophes or `&` in client names, nor a lock file
    # beside the user's letters.
    work = Path(tempfile.mkdtemp(prefix="relance-pdf-"))
    try:
        src, out = work / "lettres", work / "pdf"
        src.mkdir()
        out.mkdir()
        staged = []
        for i, p in enumerate(paths, start=1):
            copy = src / f"{i:03d}.docx"
            shutil.copyfile(p, copy)
            staged.append(copy)
        if converter.name == WORD:
            _run_word(src, out)
        else:
            _run_soffice(converter.program, staged, out, work / "profil", timeout)
        made = {p: out / f"{s.stem}.pdf" for p, s in zip(paths, staged)}
        missing = [p.name for p, pdf in made.items() if not _is_pdf(pdf)]
        if missing:
            raise RelanceError(f"{converter.name} n'a pas produit le PDF de : {', '.join(missing)}. "
                               f"Les lettres Word (.docx) sont intactes.")
        outdir.mkdir(parents=True, exist_ok=True)
        result = {}
        for p, pdf in made.items():
            final = outdir / f"{p.stem}.pdf"
            save_atomically(final, lambda temp, pdf=pdf: shutil.copyfile(pdf, temp), "le PDF")
            result[p] = final
        return result
    except OSError as err:
        raise RelanceError(f"Conversion en PDF impossible ({describe_os_error(err)}). "
                           f"Les lettres Word (.docx) sont intactes.") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def soffice_command(program: Path, files: list, outdir: Path, profile: Path) -> list:
    return [str(program), f"-env:UserInstallation={profile.resolve().as_uri()}",
            "--headless", "--invisible", "--nologo", "--nodefault", "--nolockcheck",
            "--norestore", "--convert-to", "pdf", "--outdir", str(outdir), *map(str, files)]


def _run_soffice(program: Path, files: list, outdir: Path, profile: Path, timeout: float) -> None:
    cmd = soffice_command(program, files, outdir, profile)
    kwargs = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | getattr(
            subprocess, "CREATE_NO_WINDOW", 0)
    else:
        kwargs["start_new_session"] = True  # so a timeout stops soffice.bin too
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, **kwargs)
    except OSError as err:
        raise RelanceError(f"LibreOffice ne démarre pas ({program} : {describe_os_error(err)}). "
                           f"Les lettres Word (.docx) sont intactes.") from None
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise RelanceError(f"LibreOffice n'a pas fini la conversion en PDF en {timeout:.0f} s ; "
                           f"elle a été arrêtée. Les lettres Word (.docx) sont intactes.") from None
    if proc.returncode != 0:
        detail = (err or b"").decode("utf-8", "replace").strip()[-300:]
        raise RelanceError(f"LibreOffice a échoué pendant la conversion en PDF (code "
                           f"{proc.returncode}{' : ' + detail if detail else ''}). "
                           f"Les lettres Word (.docx) sont intactes.")


def _kill(proc: subprocess.Popen) -> None:
    try:
        if sys.platform == "win32":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                           capture_output=True, timeout=30)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except (OSError, subprocess.SubprocessError):
        proc.kill()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _run_word(src: Path, out: Path) -> None:
    """One Word session converts the folder; Word is left open when the user had it open."""
    try:
        import docx2pdf
        try:
            import win32com.client
            win32com.client.GetActiveObject("Word.Application")
            keep_active = True
        except Exception:
            keep_active = False
        docx2pdf.convert(str(src), str(out), keep_active=keep_active)
    except Exception as err:
        raise RelanceError(f"Word a échoué pendant la conversion en PDF ({err}). "
                           f"Les lettres Word (.docx) sont intactes.") from None


def _is_pdf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(5) == b"%PDF-"
    except OSError:
        return False
