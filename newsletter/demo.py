"""Demo content: "Länsnytt 2018:1", written from Regionbibliotek Stockholm's plan for 2018.

Images are drawn locally with Pillow (no network) and stored under MEDIA_ROOT.
"""

import io
from dataclasses import dataclass
from datetime import date

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image, ImageDraw

from .models import Article, Issue, IssueStatus
from .services import issue_mark_ready

IMAGE_SIZE = (1200, 630)  # the Open Graph size, also fine as a 600 px wide email image at 2x
CREDIT = "Regionbibliotek Stockholm"


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    kicker: str
    heading: str
    lead: str
    body: str
    image_alt: str
    colours: tuple[str, str, str]  # background, shapes, accent
    motif: str  # which simple picture to draw


ARTICLES = [
    DemoArticle(
        slug="bokstart",
        kicker="Läsfrämjande",
        heading="Bokstart ger de minsta barnen ett försprång",
        lead=(
            "Bokstart är en satsning från Kulturrådet som stödjer små barns språkutveckling. "
            "Nu tar biblioteken i Stockholms län arbetet vidare."
        ),
        body=(
            "Bokstart har visat sig ge mycket goda resultat i flera länder, bland annat i "
            "Storbritannien (*Bookstart*) och i Danmark (*Bogstart*).\n\n"
            "Genom hembesök, bokgåvor och samarbete med barnavårdscentraler når biblioteken "
            "familjer som annars sällan hittar till biblioteket. Regionbiblioteket samordnar "
            "erfarenheterna i länet och sprider metoderna till fler kommuner."
        ),
        image_alt="Illustration av en stapel bilderböcker i klara färger bredvid en liten nalle.",
        colours=("#fdf1d8", "#e4572e", "#2e86ab"),
        motif="books",
    ),
    DemoArticle(
        slug="kommer-boken",
        kicker="Boken kommer",
        heading="Kommer boken? Ett projekt om bibliotekens hemleveranser",
        lead=(
            "Projektet undersöker och utvecklar tjänsten Boken kommer, som ger den som inte "
            "själv kan ta sig till biblioteket böcker hem till dörren."
        ),
        body=(
            "Under första delen av projektet kartlägger vi hur Boken kommer fungerar i länet "
            "i dag. Ett exempel är insamling och analys av hur mycket tjänsten används och av "
            "vilka.\n\n"
            "Resultaten blir underlag för att utveckla tjänsten tillsammans med biblioteken."
        ),
        image_alt="Illustration av ett hus med en bok som bärs fram till ytterdörren.",
        colours=("#e8f1f8", "#0b5394", "#f4a261"),
        motif="house",
    ),
    DemoArticle(
        slug="praktisk-kunskap",
        kicker="Kompetens",
        heading="Praktisk kunskap – att utforska det bibliotekarier kan",
        lead=(
            "Praktisk kunskap är snarare ett utforskande av ett kunskapsområde än ett projekt i "
            "egentlig mening."
        ),
        body=(
            "Intresset för praktisk kunskap är en naturlig fortsättning på ett av våra tidigare "
            "projekt, projekt Kompetensen.\n\n"
            "Vi vill förstå den kunskap som sitter i händerna och i erfarenheten hos "
            "bibliotekens medarbetare, och hur den kan delas och utvecklas."
        ),
        image_alt="Illustration av två händer som tillsammans håller upp en öppen bok.",
        colours=("#eef6ec", "#2d6a4f", "#95d5b2"),
        motif="hands",
    ),
    DemoArticle(
        slug="projekt-digital-service",
        kicker="Digital delaktighet",
        heading="Projekt digital service: bättre hjälp med e-tjänster",
        lead=(
            "Kan biblioteken, tillsammans med andra kommunala aktörer, ge invånarna bättre hjälp "
            "med digital service, e-tjänster och samhällstjänster?"
        ),
        body=(
            "Folkbibliotek besöks dagligen av människor som saknar datorvana eller tillgång till "
            "internet och som behöver hjälp med myndigheters och kommuners e-tjänster.\n\n"
            "Projektet undersöker hur samarbeten mellan biblioteket och andra kommunala "
            "verksamheter kan göra den hjälpen bättre och mer likvärdig i länet."
        ),
        image_alt="Illustration av en bildskärm med en pratbubbla och en muspekare.",
        colours=("#f1ecf9", "#5a189a", "#ff9f1c"),
        motif="screen",
    ),
    DemoArticle(
        slug="projekt-inkludering",
        kicker="Normkritik",
        heading="Projekt Inkludering: ett bibliotek för alla",
        lead=(
            "Inkluderande biblioteksverksamhet: normkritik, hbtq, läsfrämjande och "
            "metodutveckling. Biblioteken ska verka för inkludering och likvärdigt bemötande."
        ),
        body=(
            "För att biblioteken ska uppfylla målet att vara till för alla behövs en kritisk och "
            "reflekterande blick på den egna verksamheten.\n\n"
            "Projektet har tagit fram metoder och övningar som biblioteken i länet kan använda i "
            "sitt eget arbete."
        ),
        image_alt="Illustration av sex cirklar i olika färger som bildar en ring.",
        colours=("#fff4f0", "#d62828", "#003049"),
        motif="circle",
    ),
    DemoArticle(
        slug="tillsammans",
        kicker="Interkulturellt läsfrämjande",
        heading="Tillsammans – läsfrämjande, mångfald och inkludering",
        lead=(
            "Med erfarenheter från Projekt inkludering startar Regionbiblioteket ett nytt "
            "projekt i samma utforskande anda."
        ),
        body=(
            "Vi fokuserar åter på läsfrämjande och normkritik, och på diskriminering och "
            "maktstrukturer i ett bibliotekssammanhang.\n\n"
            "I Projekt tillsammans deltar ett tjugotal medarbetare från bibliotek i hela länet."
        ),
        image_alt="Illustration av tre pratbubblor i olika färger som överlappar varandra.",
        colours=("#fef9e7", "#1d3557", "#e76f51"),
        motif="bubbles",
    ),
    DemoArticle(
        slug="vid-sidan-av-appelhyllan",
        kicker="Barn och unga",
        heading="Vid sidan av Äppelhyllan",
        lead=(
            "Om bibliotekens verksamhet för barn med funktionsvariationer i Stockholms län – en "
            "dubbelt prioriterad grupp i bibliotekslagen."
        ),
        body=(
            "Många bibliotek har Äppelhyllor med medier anpassade för barn och unga med "
            "funktionsvariationer.\n\n"
            "Projektet tittar på vad som händer vid sidan av hyllan: programverksamhet, "
            "bemötande och samarbeten som gör biblioteket tillgängligt på riktigt."
        ),
        image_alt="Illustration av ett grönt äpple framför en bokhylla.",
        colours=("#f0f7e9", "#386641", "#bc4749"),
        motif="apple",
    ),
    DemoArticle(
        slug="bibliotek-i-samspel-med-lokalsamhallet",
        kicker="Skriftserien nr 20",
        heading="Bibliotek i samspel med lokalsamhället",
        lead=(
            "Nummer 20 i Regionbibliotekets skriftserie samlar goda exempel från många kommuner "
            "i Stockholms län."
        ),
        body=(
            "Regionbiblioteket ger sedan 2008 ut egna skrifter i en samlad skriftserie: "
            "projektrapporter, utvärderingar och studier.\n\n"
            "Förhoppningen är att skriften ska bidra till att vidareutveckla bibliotekens "
            "möjligheter till ökat samspel med lokalsamhället och dess invånare. Under 2018 "
            "sprids boken och används i olika sammanhang i vår verksamhet."
        ),
        image_alt="Illustration av ett häfte med siffran 20 på omslaget framför stadssiluett.",
        colours=("#edf2f4", "#2b2d42", "#ef233c"),
        motif="report",
    ),
]

INTRO = (
    "Länsnytt är Regionbibliotekets tidskrift om utvecklingsarbetet på folkbiblioteken i "
    "Stockholms län, på Regionbiblioteket och nationellt.\n\n"
    "I det här numret berättar vi om de projekt vi driver under 2018 – från Bokstart för de "
    "allra minsta till digital service för alla invånare."
)


@transaction.atomic
def demo_issue_ensure() -> Issue:
    """Create or update "Länsnytt 2018:1" with its articles and images; status ready."""
    issue, _created = Issue.objects.update_or_create(
        slug="2018-1",
        defaults={
            "title": "Länsnytt 2018:1",
            "year": 2018,
            "number": 1,
            "publication_date": date(2018, 3, 15),
            "subject": "Länsnytt 2018:1 – Bokstart, digital service och nytt om skriftserien",
            "preheader": "Regionbibliotekets projekt under 2018, från Bokstart till Tillsammans.",
            "intro": INTRO,
            "language": "sv",
        },
    )
    for position, demo in enumerate(ARTICLES, start=1):
        Article.objects.update_or_create(
            issue=issue,
            slug=demo.slug,
            defaults={
                "position": position,
                "kicker": demo.kicker,
                "heading": demo.heading,
                "lead": demo.lead,
                "body": demo.body,
                "image": _demo_image(demo),
                "image_alt": demo.image_alt,
                "image_credit": CREDIT,
            },
        )
    if issue.status == IssueStatus.DRAFT:
        issue = issue_mark_ready(issue=issue)
    return issue


def _demo_image(demo: DemoArticle) -> str:
    """The stored name of the article's illustration, drawn on first use."""
    name = f"articles/demo-{demo.slug}.png"
    if not default_storage.exists(name):
        buffer = io.BytesIO()
        _draw(demo).save(buffer, format="PNG", optimize=True)
        saved = default_storage.save(name, ContentFile(buffer.getvalue()))
        assert saved == name, f"storage renamed {name} to {saved}"
    return name


def _draw(demo: DemoArticle) -> Image.Image:
    background, shape, accent = demo.colours
    width, height = IMAGE_SIZE
    image = Image.new("RGB", IMAGE_SIZE, background)
    draw = ImageDraw.Draw(image)
    cx, cy = width // 2, height // 2
    if demo.motif == "books":
        for i, colour in enumerate([shape, accent, "#f6ae2d", shape]):
            draw.rectangle(
                [cx - 260 + i * 40, cy + 120 - i * 70, cx + 60 + i * 20, cy + 180 - i * 70],
                fill=colour,
            )
        draw.ellipse([cx + 160, cy - 10, cx + 300, cy + 130], fill="#a0522d")
        draw.ellipse([cx + 190, cy - 90, cx + 270, cy - 10], fill="#a0522d")
    elif demo.motif == "house":
        draw.polygon([(cx - 220, cy - 20), (cx - 60, cy - 180), (cx + 100, cy - 20)], fill=shape)
        draw.rectangle(
            [cx - 190, cy - 20, cx + 70, cy + 200], fill="#ffffff", outline=shape, width=8
        )
        draw.rectangle([cx - 90, cy + 80, cx - 30, cy + 200], fill=shape)
        draw.rectangle([cx + 170, cy + 60, cx + 290, cy + 140], fill=accent)
    elif demo.motif == "hands":
        draw.polygon(
            [
                (cx - 200, cy - 60),
                (cx, cy - 20),
                (cx + 200, cy - 60),
                (cx + 200, cy + 80),
                (cx, cy + 120),
                (cx - 200, cy + 80),
            ],
            fill="#ffffff",
            outline=shape,
        )
        draw.line([(cx, cy - 20), (cx, cy + 120)], fill=shape, width=6)
        draw.ellipse([cx - 320, cy + 60, cx - 160, cy + 200], fill=accent)
        draw.ellipse([cx + 160, cy + 60, cx + 320, cy + 200], fill=accent)
    elif demo.motif == "screen":
        draw.rounded_rectangle([cx - 260, cy - 170, cx + 260, cy + 130], 24, fill=shape)
        draw.rectangle([cx - 230, cy - 140, cx + 230, cy + 100], fill="#ffffff")
        draw.rectangle([cx - 40, cy + 130, cx + 40, cy + 190], fill=shape)
        draw.rounded_rectangle([cx - 150, cy - 100, cx + 110, cy - 10], 30, fill=accent)
        draw.polygon(
            [(cx + 60, cy + 10), (cx + 60, cy + 80), (cx + 80, cy + 60), (cx + 110, cy + 90)],
            fill="#000000",
        )
    elif demo.motif == "circle":
        for i, colour in enumerate([shape, accent, "#fcbf49", "#2a9d8f", "#8338ec", "#ff006e"]):
            x = cx + int(200 * [1, 0.5, -0.5, -1, -0.5, 0.5][i])
            y = cy + int(170 * [0, 0.87, 0.87, 0, -0.87, -0.87][i])
            draw.ellipse([x - 70, y - 70, x + 70, y + 70], fill=colour)
    elif demo.motif == "bubbles":
        for i, colour in enumerate([shape, accent, "#2a9d8f"]):
            x, y = cx - 220 + i * 170, cy - 120 + (i % 2) * 90
            draw.rounded_rectangle([x, y, x + 260, y + 160], 40, fill=colour)
            draw.polygon([(x + 40, y + 160), (x + 90, y + 160), (x + 30, y + 220)], fill=colour)
    elif demo.motif == "apple":
        for row in range(4):
            draw.rectangle([80, 60 + row * 140, width - 80, 80 + row * 140], fill="#8d6e63")
        draw.ellipse([cx - 150, cy - 130, cx + 150, cy + 170], fill=shape)
        draw.rectangle([cx - 8, cy - 190, cx + 8, cy - 120], fill="#5d4037")
        draw.ellipse([cx + 10, cy - 200, cx + 110, cy - 140], fill=accent)
    else:  # report
        for i in range(9):
            top = cy + 40 - (i * 37 % 5) * 40
            draw.rectangle([i * 140, top, i * 140 + 120, height], fill="#8d99ae")
        draw.rectangle(
            [cx - 150, cy - 230, cx + 150, cy + 200], fill="#ffffff", outline=shape, width=10
        )
        draw.rectangle([cx - 150, cy - 230, cx + 150, cy - 150], fill=accent)
        draw.text((cx, cy + 10), "20", fill=shape, anchor="mm", font_size=180)
    return image
