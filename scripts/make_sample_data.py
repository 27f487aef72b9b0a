#!/usr/bin/env python
"""Write the small synthetic NER corpus in ``data/sample/``: news-like English, written from templates.

Everything here is ours: the sentence templates, the invented people, companies, clubs, towns, events and
products. Country names, nationalities and languages are ordinary English words. Nothing is copied from
an existing corpus, so the files can be committed and redistributed (CC0).

The generator is deterministic (one seeded ``random.Random``, lists only: no set or dict order decides
anything), uses the standard library only, and writes:

- ``train.conll``, ``dev.conll``, ``test.conll``: ``TOKEN TAG`` per line (one space), IOB2 tags over
  PER / ORG / LOC / MISC, a blank line after each sentence and ``-DOCSTART- O`` (plus a blank line) before
  each document;
- ``README.md``: how the files were made and what they hold.

Every document has a topic (business, politics, sport, courts, transport, culture), an upper-case headline,
a dateline and a cast of entities that recur through it, so documents read like news stories and give
document-level context something to work with. Dev and test draw part of their names from pools that train
never sees, so scores on them measure more than memorisation. A few documents hold a very long list-like
sentence (a roll call of delegates, a results table) of more than 200 words, to exercise windowing.

Usage::

    python scripts/make_sample_data.py                      # (re)writes data/sample/
    python scripts/make_sample_data.py --output_dir /tmp/x  # somewhere else

>>> files = generate()
>>> sorted(files)
['README.md', 'dev.conll', 'test.conll', 'train.conll']
>>> files["train.conll"].splitlines()[0]
'-DOCSTART- O'
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

SEED = 1729
# Sentences wanted per split (each split stops at the first document boundary past its target), and how many
# words a "long" sentence must at least have.
SPLIT_TARGETS = (("train", 900), ("dev", 150), ("test", 150))
LONG_SENTENCE_WORDS = 201
# Documents (by position in their split) that carry one long list-like sentence.
LONG_SENTENCES = {"train": ((2, "roll_call"), (9, "results"), (16, "roll_call")), "dev": ((1, "results"),), "test": ((2, "roll_call"),)}
DOCUMENT_SENTENCES = (5, 40)  # inclusive range of sentences per document
HELD_OUT_EVERY = 4  # every 4th name of an open-class pool appears only in dev/test
UNSEEN_SHARE = 0.5  # in dev/test, how often a cast member is drawn from the held-out names

# ---------------------------------------------------------------------------------------------------------
# Name pools. Person, company, club, town, event and product names are invented; any resemblance is chance.
# ---------------------------------------------------------------------------------------------------------
FIRST_NAMES = [
    "Anna", "Peter", "Maria", "Jonas", "Elena", "Tomas", "Sofia", "Marek", "Clara", "Henrik", "Ines", "Pavel",
    "Laura", "Stefan", "Nadia", "Oskar", "Greta", "Viktor", "Irene", "Lukas", "Helena", "Matteo", "Julia",
    "Anton", "Rosa", "Daniel", "Mila", "Felix", "Vera", "Hugo", "Alice", "Ruben", "Nora", "Emil", "Lena",
    "Samuel", "Petra", "Ivan", "Eva", "Karl", "Amara", "Kofi", "Yusuf", "Leila", "Hiro", "Aiko", "Rafael",
    "Lucia", "Bruno", "Dora", "Martin", "Sara", "Paul", "Ada", "George", "Ruth",
]
SURNAMES = [
    "Velk", "Harnel", "Ostrand", "Pellow", "Marrick", "Dunleigh", "Kravec", "Sorlund", "Brennick", "Talvane",
    "Moravek", "Quillon", "Fennick", "Castellan", "Okarro", "Adebisi", "Tamura", "Lindgard", "Petrakis",
    "Hollis", "Orbell", "Mirov", "Savane", "Trelawn", "Ulbrecht", "Vasquel", "Whitcombe", "Zarnow", "Achter",
    "Balogun", "Corrigan", "Delmont", "Esterhaus", "Farrow", "Galdos", "Haverty", "Ibarrola", "Jessop",
    "Kowalczyk", "Larrabee", "Mbeki-Tane", "Nordahl", "Oyelaran", "Pruszek", "Quaresma", "Rendall",
    "Strakova", "Thorsby", "Uchida", "Vandermeer", "Wieland", "Yilmazer", "Zubrin", "Ashcombe", "Brodsky",
    "Cavanagh", "Duvalier", "Ekwueme", "Fonseca-Ruiz", "Gresham", "Halvorsen", "Ingersoll", "Janssen-Ko",
    "Kettleby", "Lachance", "Montague",
]
COMPANIES = [
    "Kestrel Dynamics", "Brightwater Holdings", "Norland Freight", "Halvard Energy", "Corvane Systems",
    "Teshwick Foods", "Ambergate Bank", "Silverpine Airways", "Redmoor Mining", "Lumeris Pharma",
    "Ostara Telecom", "Veltrix", "Draymoor Insurance", "Calder & Finch", "Stonebridge Capital", "Orivane Motors",
    "Pellucid Media", "Harbinger Steel", "Marlowe Chemicals", "Juniper Rail", "Tessaly Group", "Arcwell",
    "Northgate Logistics", "Bluefen Water", "Cindral", "Ferrovia Continental", "Galloway Hart",
    "Ironleaf Software", "Kinsale Shipping", "Morrow Brothers", "Nexary", "Palisade Retail", "Quenby Textiles",
    "Rookwood Partners", "Saltmarsh Brewing", "Thornbury Securities", "Vantor Aerospace", "Wrenfield Press",
    "Yarrow Agritech", "Zephel Electronics", "Amberline Cruises", "Copperfield Bank",
]
BODIES = [
    "National Grain Board", "Civic Renewal Party", "Green Alliance", "United Dockworkers Union",
    "Federation of Small Traders", "Central Statistics Office", "Harbour Authority", "Institute of Coastal Studies",
    "Free Press Association", "Veterans League", "Coastal Water Agency", "Chamber of Industry",
    "Progressive Farmers Movement", "Council of Regions", "Road Safety Trust", "Academy of Fine Arts",
]
TOWNS = [
    "Tarnholm", "Ellisford", "Wexbridge", "Marrowby", "Caldmere", "Brackenhurst", "Dunmarsh", "Kellerby",
    "Ostvik", "Port Elvan", "New Carrow", "East Tarbury", "Velmont", "Rastow", "Saint Aldric", "Hollin Cross",
    "Orwen", "Lindhaven", "Ferrant", "Greywick", "Askerby", "Corrowdale", "Dravenport", "Elmstow", "Fallowmere",
    "Gannick", "Iverdale", "Lorrimer Bay", "Maddox Falls", "Norring", "Oakhallow", "Penmorrow", "Quintara",
    "Silvermouth", "Ulverholm", "Varrington", "Westmere", "Yarlow", "Kessingham", "Brimley Cross",
]
FEATURES = [  # rivers, mountains, lakes, regions: also LOC
    "Orrin River", "Skarn Mountains", "Lake Merrow", "Tessel Valley", "Gallan Coast", "Brenna Forest",
    "Harrow Plain", "Lake Ostvik", "Cardle Hills", "Mirren Delta",
]
CLUB_SUFFIXES = ["Rovers", "United", "City", "Athletic", "Wanderers", "Albion"]
EVENTS = [
    "Meridian Cup", "Halcyon Open", "Northern Games", "Copperline Rally", "Autumn Book Fair",
    "Harbour Jazz Festival", "Silver Lantern Awards", "Continental Chess Open", "World Grain Summit",
    "Iron Crown Trophy", "Blue Ribbon Regatta", "Golden Reel Film Festival", "Frontier Cycling Tour",
    "Winter Classic", "Harvest Cup", "Trade Forum of the North",
]
PRODUCTS = [
    "Nimbus 400", "Orca Lite", "Zephyr Pad", "Vireo X2", "Solace 7", "Lumen Tab", "Talon GT", "Aurora Mini",
    "Pioneer S9", "Halo One", "Comet Pro", "Ember Watch", "Sprite Go", "Ranger 4x4", "Quill Reader", "Atlas Drive",
]
# (country, nationality adjective): ordinary English words, a closed class, so nothing is held out.
COUNTRIES = [
    ("Germany", "German"), ("France", "French"), ("Spain", "Spanish"), ("Italy", "Italian"), ("Poland", "Polish"),
    ("Sweden", "Swedish"), ("Norway", "Norwegian"), ("Brazil", "Brazilian"), ("Canada", "Canadian"),
    ("Japan", "Japanese"), ("Kenya", "Kenyan"), ("Egypt", "Egyptian"), ("Turkey", "Turkish"), ("Greece", "Greek"),
    ("Portugal", "Portuguese"), ("Chile", "Chilean"), ("Mexico", "Mexican"), ("India", "Indian"),
    ("Australia", "Australian"), ("Austria", "Austrian"), ("Belgium", "Belgian"), ("Netherlands", "Dutch"),
    ("South Africa", "South African"), ("United States", "American"), ("Argentina", "Argentine"),
    ("Ireland", "Irish"), ("Finland", "Finnish"), ("Hungary", "Hungarian"),
]
LANGUAGES = ["English", "French", "German", "Spanish", "Portuguese", "Arabic", "Swahili", "Japanese", "Italian", "Polish", "Russian", "Dutch"]

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
ROLES = ["chief executive", "chairman", "finance director", "spokesman", "spokeswoman", "managing director", "president"]
QUARTERS = ["first", "second", "third", "fourth"]
CURRENCIES = ["dollars", "euros", "pounds", "francs"]

# ---------------------------------------------------------------------------------------------------------
# Templates. Words are separated by single spaces, punctuation is its own word, and ``{SLOT}`` words are
# filled in: PER (a full name from the document's cast), SUR (a cast member's surname), NEWPER (a person
# outside the cast), ORG, BODY and CLUB (ORG), TOWN, COUNTRY and FEATURE (LOC), NAT, LANG, EVENT and
# PRODUCT (MISC); the other slots (NUM, PCT, MONEY, ...) are untagged fillers.
# ---------------------------------------------------------------------------------------------------------
TEMPLATES: Dict[str, List[str]] = {
    "business": [
        "{ORG} said on {DAY} its net profit rose {PCT} percent to {MONEY} in the {QUARTER} quarter .",
        "Shares in {ORG} fell {NUM} cents to {PRICE} after the results were published .",
        "{PER} , {ROLE} of {ORG} , told reporters in {TOWN} that demand remained strong .",
        "{ORG} agreed to buy {ORG} for {MONEY} in cash , the companies said in a joint statement .",
        "Analysts at {ORG} expect the {NAT} economy to grow by {PCT} percent this year .",
        "{SUR} said the deal would create about {NUM} jobs in {TOWN} and {TOWN} .",
        "{ORG} will launch the {PRODUCT} in {COUNTRY} in {MONTH} , a {ROLE} said .",
        "The {PRODUCT} , which costs {MONEY} , goes on sale in {NUM} countries next month .",
        "Sales of the {PRODUCT} rose sharply in {COUNTRY} , {ORG} said .",
        "\" We are confident that the worst is behind us , \" {SUR} said .",
        "The company plans to close its factory in {TOWN} by the end of {YEAR} .",
        "{ORG} , which employs {BIG} people , is the largest employer in {TOWN} .",
        "{NAT} regulators are expected to approve the merger of {ORG} and {ORG} before {MONTH} .",
        "{PER} will succeed {PER} as {ROLE} of {ORG} on {MONTH} {DATE} , the board said .",
        "Trading volume was thin ahead of the holiday .",
        "The index closed {PCT} percent higher at {PRICE} points .",
        "{ORG} shares have gained {PCT} percent since {MONTH} .",
        "Its main rival , {ORG} , reported a loss of {MONEY} for the same period .",
        "The {BODY} said wheat exports to {COUNTRY} fell {PCT} percent in {MONTH} .",
        "Unions at {ORG} threatened to strike if the plant in {TOWN} is sold .",
    ],
    "politics": [
        "{NAT} Prime Minister {PER} arrived in {TOWN} on {DAY} for two days of talks .",
        "{PER} , the {NAT} foreign minister , met his {NAT} counterpart {PER} in {COUNTRY} .",
        "The {BODY} said it would hold a vote on the budget in {MONTH} .",
        "Opposition leader {PER} of the {BODY} accused the government of ignoring {TOWN} .",
        "{SUR} told {LANG} television that the talks had broken down .",
        "Thousands of people marched through {TOWN} on {DAY} to protest against the new tax .",
        "The vote was postponed until next week .",
        "Police in {TOWN} said {NUM} people were arrested after the protest .",
        "{COUNTRY} and {COUNTRY} signed a trade agreement on {DAY} after months of negotiations .",
        "The mayor of {TOWN} , {PER} , resigned after a row over the new harbour .",
        "\" This is a good day for {COUNTRY} , \" {SUR} told reporters .",
        "{SUR} is expected to visit {TOWN} and {TOWN} later this month .",
        "The {BODY} won {NUM} of the {NUM} seats in the regional election .",
        "A spokesman for the {BODY} declined to comment .",
        "{NAT} officials said the border with {COUNTRY} would reopen on {DAY} .",
        "Turnout was lower than expected , officials said .",
        "{PER} , who leads the {BODY} , called for early elections .",
        "The minister was speaking at a news conference in {TOWN} .",
        "{SUR} said the government would not change its policy .",
        "The agreement still has to be ratified by parliament .",
    ],
    "sport": [
        "{CLUB} beat {CLUB} {SCORE} in the {EVENT} on {DAY} .",
        "{NAT} striker {PER} scored twice as {CLUB} won {SCORE} at home .",
        "{NAT} {PER} won the {EVENT} in {TOWN} , finishing ahead of {PER} of {COUNTRY} .",
        "{PER} ( {COUNTRY} ) beat {PER} ( {COUNTRY} ) {SET} {SET} .",
        "{SUR} , who missed last season with a knee injury , said he was happy to be back .",
        "The match was abandoned after {NUM} minutes because of heavy rain .",
        "{CLUB} coach {PER} said his team had deserved the win .",
        "{NAT} {PER} took the lead on the final lap and never looked back .",
        "{CLUB} are top of the table with {NUM} points , two ahead of {CLUB} .",
        "{PER} 's goal in the {ORDINAL} minute was enough for {CLUB} .",
        "\" It was a hard game and we were lucky , \" {SUR} said .",
        "The {EVENT} final will be played in {TOWN} on {DAY} .",
        "{CLUB} have signed {NAT} defender {PER} from {CLUB} for {MONEY} .",
        "Defending champion {PER} was knocked out in the {ORDINAL} round .",
        "{SUR} finished {ORDINAL} , {NUM} seconds behind the winner .",
        "Both teams will play again next week .",
        "{PER} of {COUNTRY} set a new course record of {TIME} .",
        "The crowd of {BIG} was the largest at {CLUB} this season .",
    ],
    "courts": [
        "A court in {TOWN} sentenced {PER} to {NUM} years in prison for fraud on {DAY} .",
        "{PER} , a former director of {ORG} , denied all the charges .",
        "Lawyers for {ORG} said they would appeal against the ruling .",
        "The trial is expected to last several weeks .",
        "{SUR} was arrested in {TOWN} in {MONTH} after a tip from {NAT} police .",
        "Prosecutors said {PER} had moved {MONEY} to accounts in {COUNTRY} .",
        "The judge , {PER} , adjourned the hearing until {DAY} .",
        "{ORG} was fined {MONEY} for breaking safety rules at its site near {TOWN} .",
        "\" My client is innocent , \" said {PER} , the lawyer for {SUR} .",
        "The case was heard by the supreme court of {COUNTRY} .",
        "Witnesses said the two men left the building shortly before midnight .",
        "{NAT} authorities have asked for {SUR} to be extradited .",
        "The jury found {PER} guilty on {NUM} counts .",
        "The verdict can be appealed within {NUM} days .",
    ],
    "transport": [
        "Heavy snow closed the main road between {TOWN} and {TOWN} on {DAY} .",
        "{ORG} cancelled {NUM} flights from {TOWN} because of fog .",
        "At least {NUM} people were killed when a bus crashed near {TOWN} in northern {COUNTRY} .",
        "The {FEATURE} burst its banks after a week of rain , flooding parts of {TOWN} .",
        "Rescue teams from {TOWN} were still searching the {FEATURE} on {DAY} .",
        "{ORG} said the new rail link to {TOWN} would open in {YEAR} .",
        "Temperatures fell to minus {NUM} degrees overnight .",
        "The {BODY} warned of strong winds along the {FEATURE} .",
        "A ferry operated by {ORG} ran aground off {TOWN} with {NUM} passengers on board .",
        "Roads in the area were closed for several hours .",
        "{PER} , a spokeswoman for {ORG} , said all passengers were safe .",
        "Traffic on the bridge to {TOWN} was back to normal by the evening .",
        "Forecasters expect more rain in the {FEATURE} later in the week .",
        "The airport at {TOWN} reopened on {DAY} morning .",
    ],
    "culture": [
        "The {EVENT} opens in {TOWN} on {DAY} with films from {NUM} countries .",
        "{PER} 's new novel , written in {LANG} , will be translated into {LANG} and {LANG} .",
        "{ORG} said the {PRODUCT} had sold {BIG} units in its first month .",
        "The {NAT} director {PER} won the top prize at the {EVENT} .",
        "{PER} , who grew up in {TOWN} , now lives in {COUNTRY} .",
        "Tickets for the {EVENT} sold out within {NUM} hours .",
        "The exhibition at the {BODY} runs until the end of {MONTH} .",
        "Critics praised the {PRODUCT} but said it was too expensive .",
        "{SUR} said she had written most of the book in {LANG} .",
        "The concert in {TOWN} drew a crowd of about {BIG} people .",
        "Reviews of the show have been mixed .",
        "{NAT} and {NAT} fans queued for hours outside the hall .",
        "{PER} will present the {EVENT} for the {ORDINAL} time .",
        "Organisers said next year 's festival would move to {TOWN} .",
    ],
}
# Sentences any story may contain, several of them without an entity.
GENERAL = [
    "The statement gave no further details .",
    "Officials expected a decision within {NUM} days .",
    "{SUR} said : \" We will see what happens next . \"",
    "The figures were slightly better than expected .",
    "{NUM} people were questioned , officials said .",
    "It was not immediately clear what had caused the delay .",
    "\" Nobody expected this , \" one resident of {TOWN} said .",
    "{PER} reported from {TOWN} .",
    "Further talks are planned for {MONTH} .",
    "The report will be published on {DAY} .",
]
HEADLINES = {
    "business": ["{ORG} PROFIT RISES {PCT} PCT", "{ORG} TO BUY {ORG}", "{ORG} CUTS JOBS IN {TOWN}", "{NAT} SHARES CLOSE HIGHER"],
    "politics": ["{NAT} MINISTER VISITS {TOWN}", "{COUNTRY} AND {COUNTRY} SIGN TRADE PACT", "PROTEST IN {TOWN} TURNS VIOLENT", "{BODY} CALLS FOR EARLY VOTE"],
    "sport": ["SOCCER - {CLUB} BEAT {CLUB} {SCORE}", "ATHLETICS - {SUR} WINS {EVENT}", "TENNIS - {SUR} THROUGH TO FINAL", "CYCLING - {EVENT} RESULTS"],
    "courts": ["{ORG} DIRECTOR JAILED FOR FRAUD", "COURT IN {TOWN} ADJOURNS {SUR} TRIAL", "{NAT} POLICE ARREST {SUR}"],
    "transport": ["SNOW CUTS ROADS AROUND {TOWN}", "FLOODS HIT {TOWN}", "{ORG} CANCELS FLIGHTS", "BUS CRASH NEAR {TOWN} KILLS {NUM}"],
    "culture": ["{EVENT} OPENS IN {TOWN}", "{NAT} FILM WINS TOP PRIZE", "{ORG} SELLS {BIG} {PRODUCT} UNITS"],
}

# Which slots are entities, and of which type.
ENTITY_SLOTS = {
    "PER": "PER", "SUR": "PER", "NEWPER": "PER", "ORG": "ORG", "BODY": "ORG", "CLUB": "ORG",
    "TOWN": "LOC", "COUNTRY": "LOC", "FEATURE": "LOC", "NAT": "MISC", "LANG": "MISC", "EVENT": "MISC", "PRODUCT": "MISC",
    # Outside the document's cast, for the long lists: any company, town or country of the split.
    "ANYORG": "ORG", "ANYTOWN": "LOC", "ANYCOUNTRY": "LOC",
}

Word = Tuple[str, str]  # (word, IOB2 tag)


def split_pool(pool: Sequence, every: int = HELD_OUT_EVERY) -> Tuple[list, list]:
    """(seen, held_out): every ``every``-th item (the last of each group) is held out of train.

    >>> split_pool(["a", "b", "c", "d", "e"], 2)
    (['a', 'c', 'e'], ['b', 'd'])
    """
    seen = [item for index, item in enumerate(pool) if index % every != every - 1]
    held_out = [item for index, item in enumerate(pool) if index % every == every - 1]
    return seen, held_out


def make_clubs() -> List[str]:
    """Sports clubs named after towns ("Tarnholm Rovers"): ORG entities that contain a LOC word, as real
    club names do; the whole surface is always ORG, the town alone is always LOC."""
    return [f"{town} {CLUB_SUFFIXES[index % len(CLUB_SUFFIXES)]}" for index, town in enumerate(TOWNS[:24])]


class NamePools:
    """The names one split may use: train sees only the ``seen`` part of each open-class pool; dev and test
    draw a cast member from the held-out part with probability ``UNSEEN_SHARE``."""

    OPEN = {
        "first": FIRST_NAMES, "surname": SURNAMES, "ORG": COMPANIES, "BODY": BODIES, "CLUB": make_clubs(),
        "TOWN": TOWNS, "FEATURE": FEATURES, "EVENT": EVENTS, "PRODUCT": PRODUCTS,
    }

    def __init__(self, split: str, rng: random.Random):
        self.rng = rng
        self.with_unseen = split != "train"
        self.parts = {name: split_pool(pool) for name, pool in self.OPEN.items()}

    def draw(self, name: str) -> str:
        seen, held_out = self.parts[name]
        if self.with_unseen and held_out and self.rng.random() < UNSEEN_SHARE:
            return self.rng.choice(held_out)
        return self.rng.choice(seen)

    def person(self) -> Tuple[str, str]:
        """(first name, surname); first names are shared by all splits, surnames are held out."""
        return self.draw("first"), self.draw("surname")


def distinct(draw: Callable[[], object], count: int, limit: int = 100) -> list:
    """``count`` different values from ``draw()`` (fewer if the pool runs dry within ``limit`` tries)."""
    values: list = []
    for _ in range(limit):
        value = draw()
        if value not in values:
            values.append(value)
        if len(values) == count:
            break
    return values


class Document:
    """One story: a topic and a cast of entities that its sentences keep coming back to."""

    def __init__(self, topic: str, pools: NamePools, rng: random.Random):
        self.topic, self.pools, self.rng = topic, pools, rng
        self.people = distinct(pools.person, rng.randint(3, 5))
        self.cast = {
            "ORG": distinct(lambda: pools.draw("ORG"), rng.randint(2, 3)),
            "BODY": distinct(lambda: pools.draw("BODY"), 2),
            "CLUB": distinct(lambda: pools.draw("CLUB"), rng.randint(2, 4)),
            "TOWN": distinct(lambda: pools.draw("TOWN"), rng.randint(2, 4)),
            "FEATURE": distinct(lambda: pools.draw("FEATURE"), 1),
            "EVENT": distinct(lambda: pools.draw("EVENT"), 1),
            "PRODUCT": distinct(lambda: pools.draw("PRODUCT"), rng.randint(1, 2)),
            "COUNTRY": distinct(lambda: rng.choice(COUNTRIES)[0], rng.randint(2, 3)),
            "NAT": distinct(lambda: rng.choice(COUNTRIES)[1], 2),
            "LANG": distinct(lambda: rng.choice(LANGUAGES), 3),
        }

    def entity(self, slot: str) -> str:
        """The surface of an entity slot, from the cast (or a fresh person for NEWPER)."""
        if slot == "PER":
            return " ".join(self.rng.choice(self.people))
        if slot == "SUR":
            return self.rng.choice(self.people)[1]
        if slot == "NEWPER":
            return " ".join(self.pools.person())
        if slot == "ANYCOUNTRY":
            return self.rng.choice(COUNTRIES)[0]
        if slot.startswith("ANY"):
            return self.pools.draw(slot[3:])
        return self.rng.choice(self.cast[slot])

    def filler(self, slot: str) -> str:
        """Untagged filler words: numbers, money, dates, roles."""
        rng = self.rng
        if slot == "NUM":
            return str(rng.choice([2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15, 18, 20, 25, 30, 40, 45, 60, 75, 90, 120, 300]))
        if slot == "BIG":
            return f"{rng.randint(1, 95)},{rng.randint(0, 999):03d}"
        if slot == "PCT":
            return f"{rng.randint(0, 19)}.{rng.randint(1, 9)}"
        if slot == "PRICE":
            return f"{rng.randint(2, 900)}.{rng.randint(0, 99):02d}"
        if slot == "MONEY":
            return f"{rng.randint(2, 950)} million {rng.choice(CURRENCIES)}"
        if slot == "DAY":
            return rng.choice(DAYS)
        if slot == "MONTH":
            return rng.choice(MONTHS)
        if slot == "DATE":
            return str(rng.randint(1, 28))
        if slot == "YEAR":
            return str(rng.randint(1996, 2003))
        if slot == "ROLE":
            return rng.choice(ROLES)
        if slot == "QUARTER":
            return rng.choice(QUARTERS)
        if slot == "ORDINAL":
            return rng.choice(["first", "second", "third", "fourth", "fifth", "10th", "23rd", "89th"])
        if slot == "SCORE":
            return f"{rng.randint(0, 4)}-{rng.randint(0, 3)}"
        if slot == "SET":
            return rng.choice(["6-3", "6-4", "7-5", "6-2", "7-6", "4-6", "6-1"])
        if slot == "TIME":
            return f"{rng.randint(2, 3)}:{rng.randint(0, 59):02d}.{rng.randint(0, 99):02d}"
        raise KeyError(f"unknown slot {slot!r}")

    def fill(self, template: str, upper: bool = False) -> List[Word]:
        """Words and IOB2 tags of one filled template (all upper case for a headline)."""
        words: List[Word] = []
        used: List[str] = []  # "{CLUB} beat {CLUB}": two slots of a kind get two different names if they can
        for piece in template.split(" "):
            if piece.startswith("{") and piece.endswith("}"):
                slot = piece[1:-1]
                if slot in ENTITY_SLOTS:
                    entity_type = ENTITY_SLOTS[slot]
                    surface = self.entity(slot)
                    for _ in range(20):
                        if surface not in used:
                            break
                        surface = self.entity(slot)
                    used.append(surface)
                    for index, word in enumerate(surface.split(" ")):
                        words.append((word, f"{'B' if index == 0 else 'I'}-{entity_type}"))
                else:
                    words.extend((word, "O") for word in self.filler(slot).split(" "))
            else:
                words.append((piece, "O"))
        if upper:
            words = [(word.upper(), tag) for word, tag in words]
        return words

    def dateline(self) -> List[Word]:
        """``TARNHOLM 1997-03-14``: the town in capitals, then the date."""
        town = self.rng.choice(self.cast["TOWN"]).upper().split(" ")
        date = f"{self.rng.randint(1996, 2003)}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"
        return [(word, f"{'B' if index == 0 else 'I'}-LOC") for index, word in enumerate(town)] + [(date, "O")]

    def roll_call(self) -> List[Word]:
        """A list of delegates, each with company and town, until the sentence passes LONG_SENTENCE_WORDS."""
        words = self.fill("Delegates at the {EVENT} in {TOWN} on {DAY} included")
        first = True
        while len(words) < LONG_SENTENCE_WORDS:
            if not first:
                words.append((",", "O"))
            first = False
            words += self.fill("{NEWPER} of {ANYORG} ( {ANYTOWN} )" if self.rng.random() < 0.6 else "{NEWPER} of the {BODY}")
        return words + self.fill("and {NEWPER} , who chaired the meeting .")

    def results(self) -> List[Word]:
        """A results table written as one sentence: ``1. Anna Velk ( Kenya ) 2:11.04 , 2. ...``."""
        words = self.fill("Leading results in the {EVENT} on {DAY} :")
        place = 1
        while len(words) < LONG_SENTENCE_WORDS:
            if place > 1:
                words.append((",", "O"))
            words.append((f"{place}.", "O"))
            words += self.fill("{NEWPER} ( {ANYCOUNTRY} ) {TIME}")
            place += 1
        return words + [(".", "O")]

    def sentences(self, count: int, long_kind: str = "") -> List[List[Word]]:
        """Headline, dateline, then body sentences (about three in four from the topic's templates, never the
        same template twice in a row), with the long sentence, if any, in the middle."""
        rng = self.rng
        story = [self.fill(rng.choice(HEADLINES[self.topic]), upper=True), self.dateline()]
        previous = None
        while len(story) < count:
            pool = TEMPLATES[self.topic] if rng.random() < 0.78 else GENERAL
            template = rng.choice(pool)
            if template == previous:
                continue
            previous = template
            story.append(self.fill(template))
        if long_kind:
            story.insert(count // 2, self.roll_call() if long_kind == "roll_call" else self.results())
        return story


def generate_split(split: str, target: int, rng: random.Random) -> List[List[List[Word]]]:
    """Documents (lists of sentences) for one split: at least ``target`` sentences in all."""
    pools = NamePools(split, rng)
    topics = sorted(TEMPLATES)
    long_at = dict(LONG_SENTENCES.get(split, ()))
    documents: List[List[List[Word]]] = []
    total = 0
    while total < target:
        index = len(documents)
        topic = topics[index % len(topics)] if index < len(topics) else rng.choice(topics)
        count = rng.randint(*DOCUMENT_SENTENCES)
        count = max(DOCUMENT_SENTENCES[0], min(count, target - total)) if target - total < DOCUMENT_SENTENCES[1] else count
        document = Document(topic, pools, rng).sentences(count, long_at.get(index, ""))
        documents.append(document)
        total += len(document)
    missing = [index for index in long_at if index >= len(documents)]
    if missing:
        raise RuntimeError(f"{split}: too few documents for the long sentences at {missing}")
    return documents


def to_conll(documents: List[List[List[Word]]]) -> str:
    """``-DOCSTART- O``, a blank line, then ``word TAG`` lines with a blank line after each sentence."""
    lines: List[str] = []
    for document in documents:
        lines += ["-DOCSTART- O", ""]
        for sentence in document:
            lines += [f"{word} {tag}" for word, tag in sentence]
            lines.append("")
    return "\n".join(lines) + "\n"


def spans(sentence: List[Word]) -> List[Tuple[str, str]]:
    """(type, surface) of each entity of an IOB2 sentence."""
    found: List[Tuple[str, List[str]]] = []
    for word, tag in sentence:
        if tag.startswith("B-"):
            found.append((tag[2:], [word]))
        elif tag.startswith("I-"):
            found[-1][1].append(word)
    return [(entity_type, " ".join(words)) for entity_type, words in found]


def check_consistent(splits: Dict[str, List[List[List[Word]]]]) -> None:
    """Refuse to write a corpus where one surface string is annotated with two types."""
    seen: Dict[str, str] = {}
    for documents in splits.values():
        for document in documents:
            for sentence in document:
                for entity_type, surface in spans(sentence):
                    if seen.setdefault(surface.lower(), entity_type) != entity_type:
                        raise RuntimeError(f"{surface!r} is both {seen[surface.lower()]} and {entity_type}")


def count(documents: List[List[List[Word]]]) -> dict:
    """Sentences, tokens, documents, entities per type and length extremes of one split."""
    sentences = [sentence for document in documents for sentence in document]
    entities = Counter(entity_type for sentence in sentences for entity_type, _ in spans(sentence))
    lengths = [len(sentence) for sentence in sentences]
    return {
        "documents": len(documents),
        "sentences": len(sentences),
        "tokens": sum(lengths),
        "entities": {entity_type: entities[entity_type] for entity_type in ("PER", "ORG", "LOC", "MISC")},
        "longest": max(lengths),
        "median": statistics.median(lengths),
        "over_200": sum(length > 200 for length in lengths),
    }


def readme(counts: Dict[str, dict]) -> str:
    """The README of data/sample, with the counts of the files it sits beside."""
    rows = []
    for split, c in counts.items():
        e = c["entities"]
        rows.append(
            f"| {split} | {c['documents']} | {c['sentences']} | {c['tokens']} | {e['PER']} | {e['ORG']} | {e['LOC']} | "
            f"{e['MISC']} | {c['median']:g} / {c['longest']} | {c['over_200']} |"
        )
    table = "\n".join(rows)
    return f"""# Sample NER data

A small synthetic corpus for examples, tests and smoke runs: news-like English in CoNLL format,
`TOKEN TAG` per line (one space), IOB2 tags over `PER`, `ORG`, `LOC` and `MISC`, a blank line after each
sentence and a `-DOCSTART- O` line (then a blank line) before each document.

## How it was made

Generated, not collected: every file here is written by

    python scripts/make_sample_data.py

(standard library only, seed {SEED}; running it again gives the same bytes, and
`tests/test_sample_data.py` checks that the committed files equal its output). Sentences come from
hand-written templates for six story topics (business, politics, sport, courts, transport, culture); each
document has an upper-case headline, a `TOWN 1997-03-14` dateline and a cast of entities that recurs
through it. People, companies, institutions, clubs, towns, rivers, events and products are invented;
countries, nationalities and languages are ordinary English words.

- Annotation is consistent: one surface string always has the same type (the generator refuses to write a
  corpus where it does not). Conventions follow CoNLL-2003: nationalities, languages, events and products
  are `MISC`; clubs named after a town (`Tarnholm Rovers`) are `ORG` while the town alone is `LOC`; titles
  (`Prime Minister`), weekdays and months are `O`.
- Dev and test draw about half of their people's surnames, companies, clubs, towns, events and products
  from names that train never contains.
- Five documents hold one list-like sentence of more than 200 words (a roll call of delegates, a results
  table) for testing sliding windows; several sentences have no entity; `MISC` and `PER` meet without a
  word between them (`German Anna Velk`).

## Counts

| split | documents | sentences | tokens | PER | ORG | LOC | MISC | median / longest sentence (words) | sentences > 200 words |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{table}

Tokens exclude the `-DOCSTART-` lines; entities are counted as IOB2 spans.

## Licence

Written for this repository and dedicated to the public domain under
[CC0 1.0](https://creativecommons.org/publicdomain/zero/1.0/): use it for anything, no attribution needed.
"""


def generate(seed: int = SEED) -> Dict[str, str]:
    """File name -> text for every file of data/sample (same seed, same text)."""
    rng = random.Random(seed)
    splits = {split: generate_split(split, target, rng) for split, target in SPLIT_TARGETS}
    check_consistent(splits)
    files = {f"{split}.conll": to_conll(documents) for split, documents in splits.items()}
    files["README.md"] = readme({split: count(documents) for split, documents in splits.items()})
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", default=str(Path(__file__).resolve().parent.parent / "data" / "sample"))
    args = parser.parse_args()

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, text in generate().items():
        # newline="\n": the same bytes on every platform, so the committed files compare equal.
        with open(output_dir / name, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        print(f"wrote {output_dir / name} ({len(text.encode('utf-8')):,} bytes)")


if __name__ == "__main__":
    main()
