"""Demo data: a realistic, invented Länsnytt readership for Stockholm County.

Every person, street address and email address here is made up; email addresses are on
example.se and example.org. Public bodies (Kungliga biblioteket, Kulturrådet, ...) are real
names, their contacts and addresses are not. The data come from a seeded random generator, so
every run builds the same readership, and each row is looked up by its natural key (name,
email, slug) first, so running the seed twice creates nothing new.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.roles import EDITORS, role_groups_sync

from .models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Language,
    LegalBasis,
    Municipality,
    Organisation,
    OrganisationKind,
    Region,
    Segment,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)

SEED = 20260101
EDITOR_USERNAME = "redaktor"

# Municipality -> (library name, street, first three digits of the postnummer, postort).
PUBLIC_LIBRARIES: dict[str, tuple[str, str, str, str]] = {
    "Botkyrka": ("Botkyrka bibliotek", "Tumba torg 7", "147", "Tumba"),
    "Danderyd": ("Danderyds bibliotek", "Mörbyvägen 12", "182", "Danderyd"),
    "Ekerö": ("Ekerö bibliotek", "Tappströmsvägen 4", "178", "Ekerö"),
    "Haninge": ("Haninge bibliotek", "Handenterminalen 3", "136", "Handen"),
    "Huddinge": ("Huddinge bibliotek", "Sjödalstorget 2", "141", "Huddinge"),
    "Järfälla": ("Järfälla bibliotek", "Jakobsbergs torg 5", "177", "Järfälla"),
    "Lidingö": ("Lidingö stadsbibliotek", "Stockholmsvägen 41", "181", "Lidingö"),
    "Nacka": ("Nacka bibliotek", "Forumvägen 10", "131", "Nacka"),
    "Norrtälje": ("Norrtälje stadsbibliotek", "Billborgsgatan 8", "761", "Norrtälje"),
    "Nykvarn": ("Nykvarns bibliotek", "Centrumvägen 6", "155", "Nykvarn"),
    "Nynäshamn": ("Nynäshamns bibliotek", "Stadshusplatsen 1", "149", "Nynäshamn"),
    "Salem": ("Salems bibliotek", "Säbytorget 14", "144", "Rönninge"),
    "Sigtuna": ("Sigtuna stadsbibliotek", "Södergatan 9", "195", "Märsta"),
    "Sollentuna": ("Sollentuna bibliotek", "Sollentunavägen 163", "191", "Sollentuna"),
    "Solna": ("Solna stadsbibliotek", "Bibliotekstorget 1", "171", "Solna"),
    "Stockholm": ("Stockholms stadsbibliotek", "Biblioteksgången 20", "113", "Stockholm"),
    "Sundbyberg": ("Sundbybergs stadsbibliotek", "Ekens gård 3", "172", "Sundbyberg"),
    "Södertälje": ("Södertälje stadsbibliotek", "Kulturtorget 2", "151", "Södertälje"),
    "Tyresö": ("Tyresö bibliotek", "Bollmora allé 5", "135", "Tyresö"),
    "Täby": ("Täby bibliotek", "Stationsvägen 17", "183", "Täby"),
    "Upplands Väsby": ("Väsby stadsbibliotek", "Dragonvägen 86", "194", "Upplands Väsby"),
    "Upplands-Bro": ("Upplands-Bro bibliotek", "Kungsängstorget 3", "196", "Kungsängen"),
    "Vallentuna": ("Vallentuna bibliotek", "Tuna torg 1", "186", "Vallentuna"),
    "Vaxholm": ("Vaxholms bibliotek", "Hamngatan 19", "185", "Vaxholm"),
    "Värmdö": ("Värmdö bibliotek", "Skärgårdsvägen 18", "134", "Gustavsberg"),
    "Österåker": ("Österåkers bibliotek", "Storgatan 11", "184", "Åkersberga"),
}

# Region code -> (first three digits of the postnummer, postort) for its regional library.
REGIONAL_LIBRARY_TOWNS: dict[str, tuple[str, str]] = {
    "03": ("753", "Uppsala"),
    "04": ("611", "Nyköping"),
    "05": ("581", "Linköping"),
    "06": ("551", "Jönköping"),
    "07": ("351", "Växjö"),
    "08": ("391", "Kalmar"),
    "09": ("621", "Visby"),
    "10": ("371", "Karlskrona"),
    "12": ("291", "Kristianstad"),
    "13": ("301", "Halmstad"),
    "14": ("462", "Vänersborg"),
    "17": ("651", "Karlstad"),
    "18": ("701", "Örebro"),
    "19": ("721", "Västerås"),
    "20": ("791", "Falun"),
    "21": ("801", "Gävle"),
    "22": ("871", "Härnösand"),
    "23": ("831", "Östersund"),
    "24": ("901", "Umeå"),
    "25": ("971", "Luleå"),
}

# Real public bodies; the box numbers and postnummer are invented.
PARTNERS: list[tuple[str, str, str, str]] = [
    ("Kungliga biblioteket", "Box 4711", "102 41", "Stockholm"),
    ("Kulturrådet", "Box 2718", "102 53", "Stockholm"),
    ("Svensk biblioteksförening", "Box 7012", "107 24", "Stockholm"),
    ("Myndigheten för tillgängliga medier", "Box 5151", "122 21", "Enskede"),
    ("Länsstyrelsen i Stockholms län", "Box 2206", "104 22", "Stockholm"),
    ("Stockholms universitetsbibliotek", "Exempelvägen 10", "106 91", "Stockholm"),
    ("Folkbildningsrådet", "Box 7300", "101 34", "Stockholm"),
    ("Svenska barnboksinstitutet", "Box 6110", "113 22", "Stockholm"),
    ("Sveriges Kommuner och Regioner", "Box 2033", "103 11", "Stockholm"),
    ("Läsfrämjandet i Stockholms län", "Box 3030", "111 35", "Stockholm"),
]

POLITICS_ORGANISATIONS = [
    ("Region Stockholm, kulturnämnden", "Box 3820", "100 64", "Stockholm"),
    ("Region Stockholm, regionstyrelsen", "Box 2255", "104 22", "Stockholm"),
]

FIRST_NAMES = [
    "Anna", "Eva", "Maria", "Karin", "Sara", "Lena", "Emma", "Kristina", "Elin", "Ingrid",
    "Johanna", "Malin", "Linnea", "Sofia", "Amira", "Leila", "Erik", "Lars", "Karl", "Anders",
    "Johan", "Per", "Mikael", "Nils", "Oskar", "Ahmed", "Jonas", "Fredrik", "Gustav", "Ali",
]  # fmt: skip
LAST_NAMES = [
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
    "Persson", "Svensson", "Gustafsson", "Lindqvist", "Lindberg", "Bergström", "Holm",
    "Sandberg", "Ekström", "Lundgren", "Nyström", "Forsberg", "Hussein", "Yilmaz", "Berg",
]  # fmt: skip
LIBRARY_TITLES = [
    "bibliotekschef", "bibliotekarie", "barnbibliotekarie", "biblioteksassistent",
    "verksamhetsutvecklare", "kulturchef", "skolbibliotekarie",
]  # fmt: skip
POLITICIAN_TITLES = ["ordförande", "vice ordförande", "ledamot", "ersättare", "gruppledare"]
STREETS = ["Storgatan", "Kyrkvägen", "Skolgatan", "Björkvägen", "Ängsvägen", "Parkvägen"]


@dataclass
class SeedResult:
    organisations_created: int = 0
    subscribers_created: int = 0
    segments_created: int = 0
    editor_password: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


class _Seeder:
    def __init__(self) -> None:
        # Values are drawn whether or not the row already exists, so a re-run sees the
        # same sequence and finds every row it made the first time.
        self.random = random.Random(SEED)
        self.result = SeedResult()
        self.used_emails: set[str] = set()

    def postal_code(self, prefix: str) -> str:
        return f"{prefix} {self.random.randint(10, 99)}"

    def person(self, domain: str) -> tuple[str, str]:
        while True:
            first = self.random.choice(FIRST_NAMES)
            last = self.random.choice(LAST_NAMES)
            email = f"{first}.{last}.{domain}".lower()
            email = email.replace("å", "a").replace("ä", "a").replace("ö", "o").replace(" ", "")
            if email not in self.used_emails:
                self.used_emails.add(email)
                return f"{first} {last}", email

    def organisation(self, name: str, **fields) -> Organisation:
        organisation = Organisation.objects.filter(name__iexact=name).first()
        if organisation is None:
            organisation = Organisation.objects.create(name=name, **fields)
            self.result.organisations_created += 1
        return organisation

    def subscriber(self, email: str, **fields) -> Subscriber:
        subscriber = Subscriber.objects.filter(email=email).first()
        if subscriber is None:
            status = fields.setdefault("status", SubscriberStatus.ACTIVE)
            if status == SubscriberStatus.ACTIVE:
                fields.setdefault("confirmed_at", timezone.now())
            if status == SubscriberStatus.UNSUBSCRIBED:
                fields.setdefault("unsubscribed_at", timezone.now())
            subscriber = Subscriber.objects.create(email=email, **fields)
            if status == SubscriberStatus.UNSUBSCRIBED:
                Suppression.objects.get_or_create(
                    email_hash=subscriber.email_hash,
                    defaults={"email": email, "reason": SuppressionReason.UNSUBSCRIBED},
                )
            ConsentEvent.objects.create(
                subscriber=subscriber,
                action=ConsentAction.IMPORT,
                source=ConsentSource.SYSTEM,
                detail={"demo": True},
            )
            self.result.subscribers_created += 1
        return subscriber

    def channel(self) -> str:
        return self.random.choices([Channel.EMAIL, Channel.BOTH, Channel.PRINT], weights=[6, 3, 1])[
            0
        ]

    def status(self) -> str:
        return self.random.choices(
            [SubscriberStatus.ACTIVE, SubscriberStatus.PENDING, SubscriberStatus.UNSUBSCRIBED],
            weights=[18, 1, 1],
        )[0]

    def public_libraries(self) -> None:
        for municipality in Municipality.objects.order_by("code"):
            name, street, prefix, city = PUBLIC_LIBRARIES[municipality.name]
            domain = municipality.name.lower().replace(" ", "").replace("-", "")
            library = self.organisation(
                name,
                kind=OrganisationKind.COUNTY_PUBLIC_LIBRARY,
                municipality=municipality,
                region=Region.objects.get(code="01"),
                street=street,
                postal_code=self.postal_code(prefix),
                city=city,
                print_copies=self.random.randint(2, 10),
            )
            for index in range(self.random.randint(1, 4)):
                person, local = self.person(domain)
                self.subscriber(
                    f"{local}@example.se",
                    name=person,
                    title=LIBRARY_TITLES[0] if index == 0 else self.random.choice(LIBRARY_TITLES),
                    organisation=library,
                    channel=self.channel(),
                    status=self.status(),
                    legal_basis=LegalBasis.PUBLIC_TASK,
                )

    def regional_libraries(self) -> None:
        for region in Region.objects.exclude(code="01").order_by("code"):
            prefix, city = REGIONAL_LIBRARY_TOWNS[region.code]
            short = region.name.removeprefix("Region ").replace(" län", "")
            library = self.organisation(
                f"Regionbibliotek {short}",
                kind=OrganisationKind.REGIONAL_LIBRARY,
                region=region,
                street=f"Box {self.random.randint(100, 999)}",
                postal_code=self.postal_code(prefix),
                city=city,
                print_copies=self.random.randint(1, 3),
            )
            person, local = self.person(region.code)
            self.subscriber(
                f"{local}@example.org",
                name=person,
                title="regionbibliotekarie",
                organisation=library,
                channel=self.random.choice([Channel.EMAIL, Channel.BOTH]),
                legal_basis=LegalBasis.PUBLIC_TASK,
            )

    def politicians(self) -> None:
        organisations = [
            self.organisation(
                name,
                kind=OrganisationKind.REGIONAL_POLITICS,
                region=Region.objects.get(code="01"),
                street=street,
                postal_code=postal_code,
                city=city,
                print_copies=1,
            )
            for name, street, postal_code, city in POLITICS_ORGANISATIONS
        ]
        for index in range(15):
            person, local = self.person("politik")
            personal_address = {}
            channel = self.random.choice([Channel.EMAIL, Channel.BOTH, Channel.PRINT])
            if channel != Channel.EMAIL and index % 2 == 0:
                # Some politicians read the printed magazine at home.
                personal_address = {
                    "street": f"{self.random.choice(STREETS)} {self.random.randint(1, 60)}",
                    "postal_code": self.postal_code(self.random.choice(["118", "141", "183"])),
                    "city": "Stockholm",
                }
            self.subscriber(
                f"{local}@example.org",
                name=person,
                title=self.random.choice(POLITICIAN_TITLES),
                organisation=organisations[index % len(organisations)],
                channel=channel,
                legal_basis=LegalBasis.PUBLIC_TASK,
                **personal_address,
            )

    def partners(self) -> None:
        for name, street, postal_code, city in PARTNERS:
            partner = self.organisation(
                name,
                kind=OrganisationKind.PARTNER,
                street=street,
                postal_code=postal_code,
                city=city,
                print_copies=self.random.randint(1, 2),
            )
            for _index in range(self.random.randint(1, 2)):
                person, local = self.person("partner")
                self.subscriber(
                    f"{local}@example.org",
                    name=person,
                    title="handläggare",
                    organisation=partner,
                    channel=self.channel(),
                    language=Language.ENGLISH if self.random.random() < 0.1 else Language.SWEDISH,
                    legal_basis=LegalBasis.PUBLIC_TASK,
                )

    def private_readers(self) -> list[Subscriber]:
        readers = [
            self.subscriber(
                "lasare.exempel@example.se",
                name="Kim Exempelsson",
                channel=Channel.EMAIL,
                legal_basis=LegalBasis.CONSENT,
            ),
            self.subscriber(
                "ny.prenumerant@example.se",
                name="Robin Provare",
                channel=Channel.EMAIL,
                status=SubscriberStatus.PENDING,
                legal_basis=LegalBasis.CONSENT,
            ),
            # The one person whose address must never leave the system (skyddad identitet).
            self.subscriber(
                "skyddad.person@example.se",
                name="Skyddad Person",
                channel=Channel.PRINT,
                protected_identity=True,
                street="Box 4711",
                postal_code="111 47",
                city="Stockholm",
                legal_basis=LegalBasis.CONSENT,
            ),
        ]
        return readers

    def segment(self, slug: str, name: str, **fields) -> Segment:
        regions = fields.pop("regions", [])
        municipalities = fields.pop("municipalities", [])
        segment = Segment.objects.filter(slug=slug).first()
        if segment is None:
            segment = Segment.objects.create(slug=slug, name=name, **fields)
            segment.rule_regions.set(Region.objects.filter(code__in=regions))
            segment.rule_municipalities.set(Municipality.objects.filter(name__in=municipalities))
            self.result.segments_created += 1
        return segment

    def segments(self, private_readers: list[Subscriber]) -> None:
        self.segment(
            "folkbibliotek-i-lanet",
            "Folkbibliotek i länet",
            description="Alla folkbibliotek i Stockholms län.",
            rule_kinds=[OrganisationKind.COUNTY_PUBLIC_LIBRARY],
            public=True,
        )
        self.segment(
            "lans-och-regionbibliotek",
            "Läns- och regionbibliotek",
            description="Regionbiblioteken i landets övriga regioner.",
            rule_kinds=[OrganisationKind.REGIONAL_LIBRARY],
            public=True,
        )
        self.segment(
            "regionala-politiker",
            "Regionala politiker",
            description="Förtroendevalda i Region Stockholm.",
            rule_kinds=[OrganisationKind.REGIONAL_POLITICS],
        )
        self.segment(
            "partners",
            "Samarbetspartner",
            description="Myndigheter och organisationer vi samarbetar med.",
            rule_kinds=[OrganisationKind.PARTNER],
        )
        self.segment(
            "norrort",
            "Folkbibliotek i norrort",
            description="Folkbiblioteken i länets norra kommuner.",
            rule_kinds=[OrganisationKind.COUNTY_PUBLIC_LIBRARY],
            municipalities=[
                "Danderyd",
                "Norrtälje",
                "Sigtuna",
                "Sollentuna",
                "Täby",
                "Upplands Väsby",
                "Vallentuna",
                "Vaxholm",
                "Österåker",
            ],  # fmt: skip
        )
        self.segment(
            "sodertorn",
            "Folkbibliotek på Södertörn",
            description="Folkbiblioteken i länets södra kommuner.",
            rule_kinds=[OrganisationKind.COUNTY_PUBLIC_LIBRARY],
            municipalities=[
                "Botkyrka",
                "Haninge",
                "Huddinge",
                "Nykvarn",
                "Nynäshamn",
                "Salem",
                "Södertälje",
                "Tyresö",
            ],  # fmt: skip
        )
        readers = self.segment(
            "ovriga-lasare",
            "Övriga läsare",
            description="Privatpersoner som själva har anmält sig.",
            public=True,
        )
        readers.explicit_members.add(*private_readers)

    def editor(self) -> None:
        User = get_user_model()
        if User.objects.filter(username=EDITOR_USERNAME).exists():
            return
        role_groups_sync()
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username=EDITOR_USERNAME,
            password=password,
            email="redaktor@example.org",
            first_name="Demo",
            last_name="Redaktör",
            is_staff=True,
        )
        user.groups.add(Group.objects.get(name=EDITORS))
        self.result.editor_password = password


def demo_seed() -> SeedResult:
    """Create whatever of the demo readership is missing; return what was created."""
    seeder = _Seeder()
    with transaction.atomic():
        seeder.public_libraries()
        seeder.regional_libraries()
        seeder.politicians()
        seeder.partners()
        seeder.segments(seeder.private_readers())
        seeder.editor()
    seeder.result.counts = {
        "organisations": Organisation.objects.count(),
        "subscribers": Subscriber.objects.count(),
        "segments": Segment.objects.count(),
    }
    return seeder.result
