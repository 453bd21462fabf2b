"""Excel workbooks as an attacker writes them: the sheet's XML or the archive made by hand."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def workbook_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for cells in rows:
        workbook.active.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def text_cell(reference: str, text: str) -> bytes:
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def sheet_xml(rows: Iterable[bytes], *, dimension: str = "A1") -> Iterable[bytes]:
    """A first sheet with the given <row> elements and whatever dimension it declares."""
    yield SHEET_START + f'<dimension ref="{dimension}"/><sheetData>'.encode()
    yield from rows
    yield b"</sheetData></worksheet>"


def workbook_with_parts(parts: dict[str, Iterable[bytes]]) -> bytes:
    """A real workbook (made by openpyxl) with some parts replaced or added, each written
    in pieces so a large part never has to be in memory whole."""
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes([["e-post"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename not in parts:
                target.writestr(item, source.read(item.filename))
        for name, pieces in parts.items():
            with target.open(name, "w") as part:
                for piece in pieces:
                    part.write(piece)
    return buffer.getvalue()


def part_size_understated(content: bytes, name: str, size: int) -> bytes:
    """The archive with the uncompressed size of one part forged, in its local header and
    in the central directory, as a zip bomb would state it."""
    patched = bytearray(content)
    encoded = name.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = patched.find(signature)
        while start != -1:
            if patched[start + name_at : start + name_at + len(encoded)] == encoded:
                patched[start + size_at : start + size_at + 4] = struct.pack("<I", size)
            start = patched.find(signature, start + 4)
    return bytes(patched)
