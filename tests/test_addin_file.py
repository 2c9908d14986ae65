"""addin/relance.xlam checked as a file: the package, its ribbon, the VBA macro the button calls.

No Excel runs here: the checks read the package parts (zip + lxml) and the VBA source (oletools),
and hold the file to xlwings' template (xlwings quickstart NAME --addin --ribbon) it is built from.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import pytest
import xlwings
from lxml import etree

with warnings.catch_warnings():  # oletools still calls pyparsing's pre-3.0 names
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser

ROOT = Path(__file__).resolve().parents[1]
ADDIN = ROOT / "addin" / "relance.xlam"
BUILD_SCRIPT = ROOT / "addin" / "build_addin.py"
TEMPLATE = Path(xlwings.__file__).resolve().parent / "quickstart_addin_ribbon.xlam"

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
VBA_PROJECT_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
ADDIN_CONTENT_TYPE = "application/vnd.ms-excel.addin.macroEnabled.main+xml"
VBA_CONTENT_TYPE = "application/vnd.ms-office.vbaProject"
# [MS-CUSTOMUI] / [MS-CUSTOMUI2]: the relationship type says which ribbon schema Office applies.
RIBBON_SCHEMAS = {
    "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility":
        "http://schemas.microsoft.com/office/2006/01/customui",
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility":
        "http://schemas.microsoft.com/office/2009/07/customui",
}
# Built-in icons checked in Office's imageMso gallery, fitting a "write the letters" button.
KNOWN_IMAGE_MSO = {
    "EnvelopesAndLabelsDialog", "MailMergeStartMailMergeMenu", "MailMergeMergeToPrinter",
    "NewMailMessage", "FileSendAsAttachment", "CreateMailRule", "GoToMail", "MacroPlay",
}


# ---------------------------------------------------------------- helpers

def read_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rels_of(parts: dict[str, bytes], source: str) -> list[etree._Element]:
    """The relationships of a part ("" for the package), targets resolved to zip names."""
    source_dir = PurePosixPath(source).parent if source else PurePosixPath("")
    rels_name = str(source_dir / "_rels" / (PurePosixPath(source).name + ".rels"))
    if rels_name not in parts:
        return []
    rels = list(etree.fromstring(parts[rels_name]).iter(f"{{{RELS_NS}}}Relationship"))
    for rel in rels:
        target = rel.get("Target")
        if rel.get("TargetMode", "Internal") == "Internal":
            resolved = target.lstrip("/") if target.startswith("/") else str(source_dir / target)
            rel.set("resolved", _normalize(resolved))
    return rels


def _normalize(name: str) -> str:
    out: list[str] = []
    for piece in name.split("/"):
        if piece == "..":
            out.pop()
        elif piece not in ("", "."):
            out.append(piece)
    return "/".join(out)


def ribbon_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """{zip name of each ribbon part: its relationship type}."""
    return {rel.get("resolved"): rel.get("Type") for rel in rels_of(parts, "")
            if rel.get("Type") in RIBBON_SCHEMAS}


def ribbon_buttons(parts: dict[str, bytes]) -> list[etree._Element]:
    buttons = []
    for name, rel_type in ribbon_parts(parts).items():
        ns = RIBBON_SCHEMAS[rel_type]
        buttons += etree.fromstring(parts[name]).iter(f"{{{ns}}}button")
    return buttons


def vba_modules(path: Path) -> dict[str, str]:
    """{VBA module name (its VB_Name attribute): source code} of the package's VBA project."""
    parser = VBA_Parser(str(path))
    try:
        assert parser.detect_vba_macros(), f"{path.name} has no VBA project"
        modules = {}
        for _, _, _, code in parser.extract_macros():
            name = re.search(r'^Attribute VB_Name = "([^"]+)"', code, re.M).group(1)
            modules[name] = code.replace("\r\n", "\n")
        return modules
    finally:
        parser.close()


def vba_procedure(code: str, name: str) -> tuple[str, str, str]:
    """(scope keyword or "", parameter list, body) of the Sub `name` in a module's source."""
    match = re.search(
        rf"^[ \t]*(?:(Public|Private|Friend)[ \t]+)?Sub[ \t]+{re.escape(name)}[ \t]*\(([^)]*)\)"
        rf"[ \t]*\n(.*?)^[ \t]*End Sub", code, re.M | re.S | re.I)
    assert match, f"no Sub {name} in the module"
    return (match.group(1) or "", match.group(2).strip(), match.group(3))


def vba_string_expr(expr: str, variables: dict[str, str]) -> str:
    """Evaluates a VBA string expression made of "literals" and variables joined by &."""
    tokens = re.findall(r'"(?:[^"]|"")*"|[A-Za-z_]\w*|&|\S', expr)
    out, expect_operand = [], True
    for tok in tokens:
        if expect_operand:
            if tok.startswith('"'):
                out.append(tok[1:-1].replace('""', '"'))
            elif tok in variables:
                out.append(variables[tok])
            else:
                raise AssertionError(f"cannot evaluate {tok!r} in {expr!r}")
        elif tok != "&":
            raise AssertionError(f"unexpected {tok!r} in {expr!r}")
        expect_operand = not expect_operand
    assert not expect_operand, f"dangling & in {expr!r}"
    return "".join(out)


def run_build(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BUILD_SCRIPT), *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def parts() -> dict[str, bytes]:
    assert ADDIN.is_file(), "addin/relance.xlam is missing: run `make addin`"
    return read_parts(ADDIN)


@pytest.fixture(scope="module")
def template_parts() -> dict[str, bytes]:
    return read_parts(TEMPLATE)


@pytest.fixture(scope="module")
def modules() -> dict[str, str]:
    return vba_modules(ADDIN)


@pytest.fixture(scope="module")
def button(parts) -> etree._Element:
    buttons = ribbon_buttons(parts)
    assert len(buttons) == 1, f"expected the one button, found {len(buttons)}"
    return buttons[0]


@pytest.fixture(scope="module")
def fresh_builds(tmp_path_factory) -> tuple[bytes, bytes]:
    """Two builds from scratch, into two folders, through the committed build script."""
    results = []
    for folder in ("first", "second"):
        out = tmp_path_factory.mktemp(folder) / "relance.xlam"
        proc = run_build(out)
        assert proc.returncode == 0, proc.stderr
        results.append(out.read_bytes())
    return results[0], results[1]


# ---------------------------------------------------------------- the package

def test_is_a_valid_macro_enabled_addin_package(parts):
    with zipfile.ZipFile(ADDIN) as zf:
        assert zf.testzip() is None
    types = etree.fromstring(parts["[Content_Types].xml"])
    defaults = {el.get("Extension").lower(): el.get("ContentType")
                for el in types.iter(f"{{{CT_NS}}}Default")}
    overrides = {el.get("PartName").lstrip("/"): el.get("ContentType")
                 for el in types.iter(f"{{{CT_NS}}}Override")}
    assert set(overrides) <= set(parts), "a content-type override names a missing part"
    for name in parts:
        if name != "[Content_Types].xml":
            ext = name.rsplit(".", 1)[-1].lower()
            assert name in overrides or ext in defaults, f"{name} has no content type"
        if name.endswith(".xml") or name.endswith(".rels"):
            etree.fromstring(parts[name])  # every XML part is well-formed

    (main,) = [r.get("resolved") for r in rels_of(parts, "") if r.get("Type") == OFFICE_DOCUMENT]
    assert overrides[main] == ADDIN_CONTENT_TYPE, "not a macro-enabled add-in (.xlam)"
    (vba,) = [r.get("resolved") for r in rels_of(parts, main) if r.get("Type") == VBA_PROJECT_REL]
    assert overrides[vba] == VBA_CONTENT_TYPE

    for source in ["", *parts]:
        for rel in rels_of(parts, source):
            if rel.get("resolved"):
                assert rel.get("resolved") in parts, f"{source or 'package'} -> missing {rel.get('Target')}"


def test_ribbon_part_is_well_formed_and_matches_its_relationship(parts):
    ribbons = ribbon_parts(parts)
    assert ribbons, "no ribbon part (ui/extensibility relationship) in the package"
    for name, rel_type in ribbons.items():
        root = etree.fromstring(parts[name])
        assert root.tag == f"{{{RIBBON_SCHEMAS[rel_type]}}}customUI", (
            f"{name}: root {root.tag} does not match relationship {rel_type}")
        ids = [el.get("id") for el in root.iter() if el.get("id")]
        assert len(ids) == len(set(ids)), "duplicate control ids"
        assert all(re.fullmatch(r"[A-Za-z_][\w.-]*", i) for i in ids)


def test_ribbon_has_the_relances_tab_and_its_button_in_french(parts, button):
    (ribbon_name, rel_type), = ribbon_parts(parts).items()
    ns = RIBBON_SCHEMAS[rel_type]
    tabs = list(etree.fromstring(parts[ribbon_name]).iter(f"{{{ns}}}tab"))
    assert [t.get("label") for t in tabs] == ["Relances"]
    assert button.getparent().tag == f"{{{ns}}}group" and button.getparent().get("label")
    assert button.get("label") == "Générer les 2es relances"
    assert button.get("size") == "large"
    for attr in ("screentip", "supertip"):
        text = button.get(attr)
        assert text and len(text) <= 1024, attr
    assert "relance" in button.get("supertip") and "Journal" in button.get("supertip")
    assert re.search(r"[éèàêç]", button.get("screentip") + button.get("supertip")), "not French"


def test_button_uses_a_built_in_office_icon(button):
    assert button.get("image") is None, "a custom image needs an image part and a callback"
    assert button.get("imageMso") in KNOWN_IMAGE_MSO


# ---------------------------------------------------------------- the VBA behind the button

def test_on_action_names_a_ribbon_callback_in_the_vba_project(button, modules):
    module, _, sub = button.get("onAction").partition(".")
    assert module and sub, "onAction should be Module.Sub"
    assert module in modules, f"no VBA module {module} (modules: {sorted(modules)})"
    scope, params, _ = vba_procedure(modules[module], sub)
    assert scope.lower() != "private", "Excel cannot call a Private Sub from the ribbon"
    assert re.fullmatch(r"(?:ByRef\s+|ByVal\s+)?\w+\s+As\s+IRibbonControl", params, re.I), (
        f"{sub}({params}) does not take the ribbon control")


def test_the_button_runs_import_relance_then_relance_main(button, modules):
    module, _, sub = button.get("onAction").partition(".")
    _, _, body = vba_procedure(modules[module], sub)
    # The module name is the add-in's own file name without its extension...
    name_var = re.search(
        r"^\s*(\w+)\s*=\s*Left\(\s*ThisWorkbook\.Name\s*,\s*\(?\s*InStrRev\(\s*ThisWorkbook\.Name\s*,"
        r'\s*"\."[^)]*\)\s*-\s*1\s*\)?\s*\)\s*$', body, re.M | re.I)
    assert name_var, f"{sub} no longer derives the module from ThisWorkbook.Name:\n{body}"
    module_name = ADDIN.name[:ADDIN.name.rindex(".")]  # Left(Name, InStrRev(Name, ".") - 1)
    assert module_name == "relance"
    # ... and RunPython gets "import <name>;<name>.main()".
    call = re.search(r"^\s*RunPython\s+(.+?)\s*$", body, re.M | re.I)
    assert call, f"{sub} does not call RunPython:\n{body}"
    command = vba_string_expr(call.group(1), {name_var.group(1): module_name})
    assert command == "import relance;relance.main()"
    compile(command, "<RunPython>", "exec")
    assert re.search(r"^Public Function RunPython\(PythonCommand As String\)", modules["xlwings"], re.M)


def test_the_imported_module_is_our_package():
    # `import relance` in Excel's Python must find this package (the one with the CLI), not a
    # stray module of that name.
    spec = importlib.util.find_spec("relance")
    assert spec and spec.submodule_search_locations, "relance is not an installed package"
    assert importlib.util.find_spec("relance.cli") is not None
    import relance

    if not hasattr(relance, "main"):
        pytest.skip("relance.main() (the button's entry point) has not landed yet")
    assert callable(relance.main)


def test_vba_project_and_every_other_part_are_the_templates(parts, template_parts):
    assert parts["xl/vbaProject.bin"] == template_parts["xl/vbaProject.bin"]
    assert set(parts) == set(template_parts)
    changed = sorted(n for n in parts if parts[n] != template_parts[n])
    assert changed == sorted(ribbon_parts(parts)), f"parts changed besides the ribbon: {changed}"


def test_settings_sheet_is_the_templates_switched_off_sheet(parts, modules):
    sheets = [s.get("name") for s in etree.fromstring(parts["xl/workbook.xml"]).iter(f"{{{MAIN_NS}}}sheet")]
    project = re.search(r'^Public Const PROJECT_NAME As String = "(\w+)"', modules["xlwings"], re.M).group(1)
    assert project == "myaddin"
    # The VBA reads a sheet named "myaddin.conf"; the leading "_" keeps the template's copy off,
    # so each user's interpreter comes from their own myaddin.conf file, not from fixed rows here.
    assert 'PROJECT_NAME & ".conf"' in modules["xlwings"]
    assert f"_{project}.conf" in sheets
    assert f"{project}.conf" not in sheets


def test_vba_was_built_from_the_installed_xlwings(modules):
    # On macOS the add-in calls xlwings-<version>.applescript, installed by the Python-side
    # xlwings (`xlwings runpython install`): both sides must be the same version.
    vba_version = re.search(r'^Public Const XLWINGS_VERSION As String = "([^"]+)"',
                            modules["xlwings"], re.M).group(1)
    assert vba_version == xlwings.__version__, (
        f"relance.xlam holds xlwings {vba_version}'s VBA but xlwings {xlwings.__version__} is "
        "installed: install that version, or rebuild with `make addin`")


# ---------------------------------------------------------------- the build

def test_build_is_deterministic(fresh_builds):
    first, second = fresh_builds
    assert first == second


def test_committed_addin_is_a_fresh_build(fresh_builds):
    assert ADDIN.read_bytes() == fresh_builds[0], "addin/relance.xlam is stale: run `make addin`"


def test_build_refuses_another_file_name(tmp_path):
    proc = run_build(tmp_path / "relances.xlam")
    assert proc.returncode != 0 and "relance.xlam" in proc.stderr
    assert not (tmp_path / "relances.xlam").exists()
