"""The enrolment QR code, drawn here as SVG: the secret never leaves the server for an outside
QR service, and an inline SVG needs no script or image source the CSP must allow."""

import qrcode
from qrcode.image.svg import SvgPathImage


def qr_svg(*, text: str) -> str:
    image = qrcode.make(text, image_factory=SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")
