"""Images editors upload (article images, issue covers), checked by their content.

Every reader's mail client downloads these, so an image is at most IMAGE_MAX_BYTES and
IMAGE_MAX_PIXELS on each side, and one of the four types every client shows: JPEG, PNG,
WebP, GIF. The type is what Pillow finds in the bytes, never what the file name says, and
Pillow reads only the header here: a decompression bomb (a small file that would unpack to
gigapixels) is refused by its declared size before anything is decoded.
"""

import warnings
from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

# Pillow's format names, and the file name endings a stored image of that format may have.
IMAGE_FORMATS: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg"),
    "PNG": (".png",),
    "WEBP": (".webp",),
    "GIF": (".gif",),
}
# A JPEG with an embedded second picture (phone cameras) opens as MPO; it is a JPEG.
FORMAT_ALIASES = {"MPO": "JPEG"}


def _types_text() -> str:
    return "JPEG, PNG, WebP, GIF"


def _pixels_error() -> ValidationError:
    limit = settings.IMAGE_MAX_PIXELS
    return ValidationError(
        _("Bilden är för stor: högst %(limit)d × %(limit)d bildpunkter (IMAGE_MAX_PIXELS).")
        % {"limit": limit},
        code="image_too_many_pixels",
    )


def _type_error() -> ValidationError:
    return ValidationError(
        _("Filen är inte en bild av typen %(types)s.") % {"types": _types_text()},
        code="image_type",
    )


def _image_header(file) -> tuple[str, int, int]:
    """The format and size Pillow reads from the file's header, without decoding it."""
    file.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 89 and 179 megapixels; here that is an error too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file, formats=list(IMAGE_FORMATS)) as image:
                return FORMAT_ALIASES.get(image.format, image.format), image.width, image.height
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise _pixels_error() from error
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise _type_error() from error
    finally:
        file.seek(0)


def image_upload_check(file) -> None:
    """Refuse an uploaded image over the limits or of another type; the one home of the
    rules, for every form that takes an image."""
    if file.size > settings.IMAGE_MAX_BYTES:
        raise ValidationError(
            _("Bilden är %(size)s, större än gränsen %(limit)s (IMAGE_MAX_BYTES).")
            % {
                "size": filesizeformat(file.size),
                "limit": filesizeformat(settings.IMAGE_MAX_BYTES),
            },
            code="image_too_large",
        )
    image_format, width, height = _image_header(file)
    if image_format not in IMAGE_FORMATS:
        raise _type_error()
    if width > settings.IMAGE_MAX_PIXELS or height > settings.IMAGE_MAX_PIXELS:
        raise ValidationError(
            _(
                "Bilden är %(width)d × %(height)d bildpunkter; högst %(limit)d på varje sida "
                "(IMAGE_MAX_PIXELS)."
            )
            % {"width": width, "height": height, "limit": settings.IMAGE_MAX_PIXELS},
            code="image_too_many_pixels",
        )
    # Stored files are served by their name's ending, so it must say what the bytes are.
    if Path(file.name or "").suffix.lower() not in IMAGE_FORMATS[image_format]:
        raise ValidationError(
            _("Bilden är en %(format)s men filnamnet slutar inte på %(extensions)s.")
            % {"format": image_format, "extensions": " eller ".join(IMAGE_FORMATS[image_format])},
            code="image_extension",
        )


class CheckedImageFormField(forms.ImageField):
    def to_python(self, data):
        # Checked before Django's own ImageField hands the file to Pillow to verify it.
        if data not in self.empty_values:
            image_upload_check(data)
        return super().to_python(data)


class CheckedImageField(models.ImageField):
    """An ImageField whose form checks every new upload with image_upload_check. (Stored
    images are not checked again: a limit lowered later must not block editing an issue.)"""

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": CheckedImageFormField, **kwargs})
