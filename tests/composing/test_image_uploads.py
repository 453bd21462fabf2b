"""Images editors upload: size, pixels and type are limited, and checked by content."""

import io
import os
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import modelform_factory
from django.urls import reverse
from PIL import Image

from accounts.models import User
from newsletter.models import Article, Issue
from tests.factories import article_make, issue_make

pytestmark = pytest.mark.django_db

ArticleForm = modelform_factory(Article, fields=["issue", "heading", "slug", "image", "image_alt"])


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def editor(client):
    user = User.objects.create_superuser(username="redaktor", password="x", email="r@example.se")
    client.force_login(user)
    return user


def image_bytes(image_format: str, size=(64, 48), mode="RGB", **options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "#c03").save(buffer, image_format, **options)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims another size, as a decompression bomb does."""
    content = bytearray(image_bytes("PNG", size=(1, 1)))
    # The IHDR chunk follows the 8-byte signature: length, type, width, height, ..., CRC.
    content[16:24] = struct.pack(">II", width, height)
    content[29:33] = struct.pack(">I", zlib.crc32(bytes(content[12:29])))
    return bytes(content)


def article_form(upload: SimpleUploadedFile) -> ArticleForm:
    issue = issue_make(year=2018, number=5)
    data = {"issue": issue.pk, "heading": "Bokstart", "slug": "bokstart", "image_alt": "En bok"}
    return ArticleForm(data, {"image": upload})


@pytest.mark.parametrize(
    "name, image_format",
    [("a.jpg", "JPEG"), ("a.png", "PNG"), ("a.webp", "WEBP"), ("a.gif", "GIF")],
)
def test_it_accepts_jpeg_png_webp_and_gif_within_the_limits(name, image_format):
    form = article_form(SimpleUploadedFile(name, image_bytes(image_format)))

    assert form.is_valid(), form.errors
    article = form.save()
    assert article.image.name.startswith("articles/")


def test_it_refuses_a_gif_larger_than_the_byte_limit_naming_it():
    # Noise does not compress: 2,600 × 2,200 pixels of it make a GIF of more than 5 MB.
    noise = Image.frombytes("L", (2600, 2200), os.urandom(2600 * 2200))
    buffer = io.BytesIO()
    noise.save(buffer, "GIF")
    assert buffer.tell() > 5 * 1024 * 1024

    form = article_form(SimpleUploadedFile("stor.gif", buffer.getvalue()))

    assert not form.is_valid()
    [message] = form.errors["image"]
    assert "IMAGE_MAX_BYTES" in message and "5,0" in message
    assert not Article.objects.exists()


def test_it_refuses_an_image_wider_than_the_pixel_limit_naming_its_size():
    form = article_form(SimpleUploadedFile("bred.png", image_bytes("PNG", size=(4001, 10))))

    assert not form.is_valid()
    assert form.errors["image"] == [
        "Bilden är 4001 × 10 bildpunkter; högst 4000 på varje sida (IMAGE_MAX_PIXELS)."
    ]


def test_it_refuses_a_12000_pixel_square_png_though_pillow_only_warns_about_it():
    # 144 megapixels: between Pillow's warning (89) and its error (179), so Pillow alone
    # would open it. One bit per pixel keeps the file small.
    upload = SimpleUploadedFile("kvadrat.png", image_bytes("PNG", size=(12000, 12000), mode="1"))

    form = article_form(upload)

    assert not form.is_valid()
    assert "IMAGE_MAX_PIXELS" in form.errors["image"][0]


def test_it_refuses_a_decompression_bomb_by_its_header_with_the_same_clear_message():
    form = article_form(SimpleUploadedFile("bomb.png", png_declaring(30000, 30000)))

    assert not form.is_valid()
    assert form.errors["image"] == [
        "Bilden är för stor: högst 4000 × 4000 bildpunkter (IMAGE_MAX_PIXELS)."
    ]


@pytest.mark.parametrize(
    "name, content",
    [
        ("bild.png", b"<html><script>alert(1)</script></html>"),
        ("bild.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("bild.png", image_bytes("TIFF")),
        ("bild.png", image_bytes("BMP")),
    ],
    ids=["html", "svg", "tiff", "bmp"],
)
def test_it_judges_the_type_by_content_not_by_the_file_name(name, content):
    form = article_form(SimpleUploadedFile(name, content))

    assert not form.is_valid()
    assert "JPEG, PNG, WebP, GIF" in form.errors["image"][0]


def test_it_refuses_a_real_image_under_a_name_that_would_be_served_as_something_else():
    form = article_form(SimpleUploadedFile("bild.html", image_bytes("PNG")))

    assert not form.is_valid()
    assert "filnamnet" in " ".join(form.errors["image"])


def test_it_keeps_an_image_stored_before_the_limits_when_the_article_is_edited():
    issue = issue_make(year=2018, number=6)
    article = article_make(issue=issue, image="articles/gammal-stor.png", image_alt="Gammal")
    data = {"issue": issue.pk, "heading": "Ny rubrik", "slug": article.slug, "image_alt": "Gammal"}

    form = ArticleForm(data, {}, instance=article)

    assert form.is_valid(), form.errors
    assert form.save().image.name == "articles/gammal-stor.png"


def test_it_shows_the_limit_in_the_admin_article_form(editor, client):
    issue = issue_make(year=2018, number=7)
    upload = SimpleUploadedFile("bomb.png", png_declaring(12000, 12000))

    response = client.post(
        reverse("admin:newsletter_article_add"),
        {
            "issue": issue.pk,
            "position": 0,
            "heading": "Bokstart",
            "slug": "bokstart",
            "image": upload,
            "image_alt": "En bok",
        },
    )

    assert response.status_code == 200
    assert "högst 4000 × 4000 bildpunkter (IMAGE_MAX_PIXELS)" in response.content.decode()
    assert not Article.objects.exists()


def test_it_checks_the_issue_cover_image_the_same_way(editor, client):
    response = client.post(
        reverse("admin:newsletter_issue_add"),
        {
            "title": "Länsnytt 2019:1",
            "year": 2019,
            "number": 1,
            "slug": "2019-1",
            "language": "sv",
            "cover_image": SimpleUploadedFile("omslag.gif", b"GIF89a" + b"\x00" * 64),
            "cover_image_alt": "Omslag",
            "articles-TOTAL_FORMS": 0,
            "articles-INITIAL_FORMS": 0,
            "articles-MIN_NUM_FORMS": 0,
            "articles-MAX_NUM_FORMS": 1000,
        },
    )

    assert response.status_code == 200
    assert "Filen är inte en bild av typen JPEG, PNG, WebP, GIF." in response.content.decode()
    assert not Issue.objects.filter(slug="2019-1").exists()
