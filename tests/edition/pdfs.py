"""Reading a PDF edition back: its structure tree, outline, fonts and text (pikepdf, pypdf)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pikepdf
import pypdf


def structure_elements(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """Every structure element of the tagged PDF, in document (reading) order."""
    found: list[pikepdf.Dictionary] = []

    def walk(node) -> None:
        if isinstance(node, pikepdf.Array):
            for child in node:
                walk(child)
        elif isinstance(node, pikepdf.Dictionary):
            if "/S" in node:
                found.append(node)
            if "/K" in node:
                walk(node.K)

    walk(pdf.Root.StructTreeRoot.K)
    return found


def outline_titles(pdf: pikepdf.Pdf) -> list[str]:
    titles: list[str] = []
    with pdf.open_outline() as outline:
        stack = list(outline.root)
        while stack:
            item = stack.pop(0)
            titles.append(item.title)
            stack[0:0] = list(item.children)
    return titles


def fonts_not_embedded(pdf: pikepdf.Pdf) -> list[str]:
    missing = []
    for page in pdf.pages:
        fonts = page.Resources.get("/Font", {})
        for name, font in fonts.items():
            descendants = font.get("/DescendantFonts")
            described = descendants[0] if descendants else font
            descriptor = described.get("/FontDescriptor")
            if descriptor is None or not any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            ):
                missing.append(f"{name}: {font.get('/BaseFont')}")
    return missing


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def pages_to_png(content: bytes, directory: Path, *, prefix: str, dpi: int = 80) -> list[Path]:
    """The pages as PNG files (poppler's pdftoppm), for a person to look at."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob(f"{prefix}-*.png"):
        old.unlink()
    source = directory / f"{prefix}.pdf"
    source.write_bytes(content)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(source), str(directory / prefix)],
        check=True,
        timeout=120,
    )
    return sorted(directory.glob(f"{prefix}-*.png"))
