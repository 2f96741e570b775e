"""The default summary's form: a handover, folded field by field.

The built-in prompt asks the summarizer for a form (``FORM``). Its answer is parsed
and merged into the previous summary's form in code, so that a model that drops a
fact it was shown cannot lose it:

- a *single* field (the user's name, phone, address, open tasks, what happened)
  takes the new value when the model gives one, else keeps the old: a correction
  replaces the old value, and a corrected name, phone or address replaces the old
  one wherever else the handover quotes it (an old promise "to 9 Mill Road"); an
  entry of the model's own that gives the old address in other words is dropped;
- a *list* field (ids and amounts, promises, preferences, tool results) keeps every
  old entry whose ids and numbers the new answer does not already hold, then the
  new entries.

The model's name for the user is dropped when it is the assistant's own (or one the
user opens a turn addressing: "Oh, Kylie, before I forget"), or when it would replace
an earlier name with one that no user turn of the span introduces (:func:`steady_name`):
a small model names whoever the turns talk about.

What happened is cut to its first two sentences (a small model may echo the
conversation there), and a new sentence of it stays only when it is in the third
person, the rest of the handover holds every name and number it gives, and it does
not tell a promised amount as done (:meth:`Handover.story_checked`): a small model tells
the story wrong most often, "Omar called Mrs Price" of a caller whose landlord, Mrs
Price, told him to ring, or "the assistant reversed the charge" of a refund promised
for Friday.

Ledgers are taken from the folded items in code and added whatever the model wrote:
the ids that tool outputs returned (:func:`tool_ledger`), what the user said they
will do (:func:`commitments`) and what the assistant committed to by a day or for an
amount (:func:`assistant_promises`), in their own words, the ids one party read back to
the other (:func:`read_back_ids`), what the user asked for in passing (:func:`wishes`)
or where the assistant says it is recorded or agrees to it
(:func:`acknowledged_wishes`), and the name the user spelled out or the assistant
called the user by (:func:`name_ledger`; it replaces the model's unless that holds
it). An entry written twice is kept once (a small model may loop). A phone number is
dropped from the ids and amounts, and a promise or preference in the model's own words
that gives one is dropped (a small model files the number not to use there). Of the
model's own answer, an id the turns call old is dropped (:meth:`Handover.without_ids`),
and a promise that repeats the other party's words moves to that party's field
(:meth:`Handover.attributed`).
An answer with no field of the form in it is used as written (a model that ignored the
form loses nothing it wrote).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "FIELDS", "FORM", "Handover", "acknowledged_wishes", "addresses", "agent_names",
    "assistant_promises", "commitments", "confirmed_phone", "echoed_names", "gives_name",
    "name_ledger", "name_words", "names_street", "parse_handover", "phones",
    "read_back_addresses", "read_back_ids", "spelled_names", "stale_ids", "steady_name",
    "taken_off_numbers", "tool_ledger", "wishes", "words",
]


@dataclass(frozen=True)
class Field:
    label: str
    """As written in the summary."""
    hint: str
    """Shown after the label in the form."""
    kind: str
    """``single`` or ``list``."""
    corrects: bool = False
    """A new value corrects the old one everywhere in the handover (a single field)."""


TOOL_RESULTS = "Tool results"
NAME = "User's name"
PHONE = "Phone number to use"
ADDRESS = "Current address"
IDS = "Ids and amounts"
PREFERENCES = "Preferences"
ASSISTANT_PROMISED = "The assistant promised"
USER_PROMISED = "The user promised"
STORY = "What happened"

FIELDS: tuple[Field, ...] = (
    Field(NAME, "", "single", corrects=True),
    Field(PHONE, " (and any number not to use)", "single", corrects=True),
    Field(ADDRESS, "", "single", corrects=True),
    Field(IDS, " (orders, accounts, policies, cards, references)", "list"),
    Field(
        ASSISTANT_PROMISED, ' (each "I will ..." of the assistant, with its amount and day)', "list"
    ),
    Field(USER_PROMISED, ' (each "I\'ll ..." of the user, with its day)', "list"),
    Field(PREFERENCES, ' (each "please ..." or "don\'t ..." of the user)', "list"),
    Field(TOOL_RESULTS, " (ids and facts returned)", "list"),
    Field("Open tasks", "", "single"),
    Field(STORY, " (two sentences)", "single"),
)

MAX_MODEL_ENTRIES = 3
"""Entries of the model's own a promise or preference field keeps from one answer
(:meth:`Handover.bounded`); the ledgers' quotes are added after."""

ATTRIBUTION_SHARE = 0.6
"""The share of a promise's words one sentence of the other party must hold for
:meth:`Handover.attributed` to move it to that party's field."""

FORM = "\n".join(f"{f.label}{f.hint}:" for f in FIELDS)
"""The form as the prompt shows it, one field a line."""

_NONE = re.compile(
    r"^(none( yet| so far)?|n/?a|nothing|not (given|mentioned|stated)|unknown|-"
    r"|no( specific| other| further| particular)? (promises?|preferences?|tasks?|results?)"
    r"( (made|given|mentioned|stated|yet))?)\.?$",
    re.I,
)
"""An empty field, as models write it ("none yet" is copied from the prompt's first fold,
"No specific promises")."""
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_SCAFFOLD = re.compile(
    r"^(summary so far|conversation to summarize)\s*:?\s*$|^</?[a-z_]+(\s[^>]*)?>$", re.I
)
_TOKEN = re.compile(r"\w(?:[\w\-./]*\w)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_END = re.compile(r"(?<=[.!?;])\s+")
_CALENDAR = (
    "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|"
    "April|May|June|July|August|September|October|November|December"
)
_ADDRESS = re.compile(
    r"\b(?P<street>(?:(?:Flat|Unit|Apartment|Suite) \d+[A-Za-z]?,? (?:\d+[A-Za-z]?,? )?"
    r"|\d+[A-Za-z]?,? )"
    rf"(?:\d+(?:st|nd|rd|th) )?(?!(?:{_CALENDAR})\b)[A-Z][a-z]+(?: [A-Z][a-z]+){{0,3}})"
    r"(?:, [A-Z][a-z]+(?: [A-Z][a-z]+)?)?"
)
"""A house or flat number and capitalised words (a street, a named house or estate; a
numbered street too), then the town if one follows: "Flat 3, 60 Canal Street, Leeds",
"3 Ffordd Eryri, Bangor", "14, 9th Main Road"."""
_STREET_FIRST = re.compile(
    r"\b(?P<street>(?:(?:Via|Viale|Piazza|Corso|Calle|Carrer|Avenida|Plaza|Paseo|Rua|Ulica)"
    r"(?: [a-z]{1,3})? [A-Z][\w']+(?: [A-Z][\w']+){0,2}"
    r"|[A-Z][a-zäöüßåø]+(?:straat|weg|laan|gracht|plein|kade|dijk|singel|steeg|straße|strasse"
    r"|gasse|allee|platz|gatan|vägen|gata|gade|vej|veien|vei)"
    rf"|(?!(?:{_CALENDAR})\b)[A-Z][a-z]+(?: [A-Z][a-z]+){{0,2}}"
    r"(?= \d{1,4}[A-Za-z]?,? \d{4,5}\b(?! ?\d)))"
    r" \d{1,4}(?: ?[A-Za-z]\b)?)"
    r"(?:, [A-Z][a-z]+(?: [A-Z][a-z]+)?)?"
)
"""A street named before its house number, as in much of Europe: a street word
("Biltstraat 112", "Via Roma 12", "Kanaalweg 27 A"), or any capitalised words when a
postcode follows ("Lange Haven 88, 3111 CK")."""
_NAMED_HOUSE = re.compile(
    r"\b(?P<street>[A-Z][a-z]+(?: [A-Z][a-z]+)? "
    r"(?:Cottage|Steading|Farm|House|Barn|Lodge|Manor|Croft|Grange|Villa|Mill))"
    r"(?:, [A-Z][a-z]+(?: [A-Z][a-z]+)?)+"
)
"""A named house and its town, with no number: "Kirkton Steading, Glenfarg"."""
_ADDRESS_FORMS = (_ADDRESS, _STREET_FIRST, _NAMED_HOUSE)
_STREET_WORD = re.compile(
    r"\b(?:Road|Street|Lane|Drive|Avenue|Walk|Close|Way|Crescent|Court|Place|Highway|"
    r"Terrace|Grove|Gardens|Parade|Boulevard|Square|Row|Hill|Rise|View|Mews|Ring|Circle)\b"
)
_DIGIT_GROUPS = re.compile(r"(?<![\w.,/-])\d+(?:[ -]\d+)*(?![\w]|[.,]\d)")
"""A number in groups ("4402 1187 63", "0392-117")."""
_PHONE_WORDS = re.compile(
    r"\b(?:phone|mobile|cell|landline|whatsapp|text|ring|call|reach|contact)\b", re.I
)
_STALE = re.compile(
    r"\b(?:old|older|previous|former|cancell?ed|lapsed?|expired|ran out|run out|closed|"
    r"ignore|no longer|replaced|wrong)\b|^\W*no\b",
    re.I,
)
"""A sentence that says something is old or not the one: "that's the old card", "No,
58412 is from May"."""
_ID = re.compile(
    r"(?<![\w-])(?=[A-Z0-9/-]*\d)(?=[A-Z0-9/-]*[A-Z])[A-Z0-9]+(?:[-/][A-Z0-9]+)*"
    r"(?: [A-Z]{2,4}\b)?(?![\w-])"
)
"""An id as said: capitals and digits, ``-`` or ``/`` inside ("MB-218845", "QX7R2M",
"KM19 XTD")."""
_AFTER_ADDRESS = re.compile(
    "(?:" + "|".join(p.pattern.replace("(?P<street>", "(?:") for p in _ADDRESS_FORMS) + ")"
    r"[,\s]+(?:[A-Z][a-z]+[,\s]+){0,2}[A-Z0-9]+(?: [A-Z0-9]+)?"
)
"""An address and the postcode after it ("18 Jalan Kembangan, Singapore 419133")."""
_DIGIT_WORDS = {
    "oh": 0, "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}
_TENS_WORDS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}
_NUMBER_VALUES = {**_DIGIT_WORDS, **_TENS_WORDS}
_NUMBER_WORD = "|".join([*_NUMBER_VALUES, "hundred", "thousand", "double", "triple"])
_NUMBER_PAIR = re.compile(rf"\b(?:{_NUMBER_WORD})\W+(?:{_NUMBER_WORD})\b", re.I)
"""Two number words in a row: part of a number said in words ("nine one seven six")."""
_NUMBER_RUN = re.compile(rf"\b(?:{_NUMBER_WORD})(?:[\s-]+(?:{_NUMBER_WORD}))*\b", re.I)
"""A number said in words: "twelve", "forty-five", "oh seven seven double one"."""
_SPOKEN_RUN = re.compile(
    rf"\b(?:{_NUMBER_WORD})(?:(?:[\s,.\u2026-]|\.\.\.)+(?:{_NUMBER_WORD}))*\b", re.I
)
"""Numbers said in words, in groups ("six oh eight, five five five... oh one seven four")."""
_WISH = re.compile(r"\b(please|prefer|rather|best (?:not|if|to)|(?:don't|do not) want)\b", re.I)
_RECORDED = re.compile(
    r"\b(?:noted|note|notes|understood|flag(?:ged)?|remarks|written|"
    r"I'll (?:add|pass|put|pop|set|stick|tick|mark|make sure|tell|ask)|"
    r"I've (?:put|added|set|marked|flagged|written)|"
    r"I'm (?:putting|adding|popping|setting|marking|flagging|noting|writing)|"
    r"on (?:the|your|his|her|their) (?:account|file|job|booking|order|profile|record|notes))\b",
    re.I,
)
"""How the assistant says it has recorded what the user asked for."""
_AGREED = re.compile(
    r"^\W*(?:of course|absolutely|sure|certainly|definitely|no problem|will do|noted|"
    r"understood|yes|yeah|yep)\b",
    re.I,
)
"""How the assistant's turn opens when it agrees to what the user asked."""
_REQUEST = re.compile(
    r"\b(?:could|can|would) (?:we|you|they|someone|somebody|the \w+)\b"
    r"(?! (?:see|tell|check|confirm|find|look|give|explain|read)\b)"
    r"|\bany (?:way|chance)\b|\b(?:will|won't|would) you\?$"
    r"|\bwhy (?:can't|couldn't|don't|won't) (?:we|you|they|someone|somebody|the \w+) just\b",
    re.I,
)
"""A question that asks for something ("could we wait outside?", "any way we could do
it on the lawn?", "you won't give me a diesel, will you?", "why can't they just ring
from the gate?"), not for information ("can you check the balance?")."""
_TAKEN_OFF = re.compile(
    r"\b(?:off|remove[ds]?|removing|delete[ds]?|deleting|not|don't|never|old|instead)\b", re.I
)
"""A sentence that takes a number off, or says not to use it."""
_TAKING_CLAUSE = re.compile(r"(?<=[.!?;])\s+|,\s*(?:and|but|so)\s+")
_NEGATED = re.compile(r"\b(?:not|don't|won't|never|avoid|old|instead|no longer)\b", re.I)
"""An entry that says not to use what it gives."""
_REFERS_BACK = re.compile(r"\b(?:it|that|them|this|these|those)\b(?!\s+(?:is|was|will)\b)", re.I)
"""A word that stands for something named before ("I'll bring it")."""
_FIRST_PERSON_FUTURE = re.compile(
    r"\bI(?:'ll|\u2019ll| will| shall| am going to|'m going to| am gonna|'m gonna)\b"
)
_PLANNED = re.compile(
    r"(?:\b(?:I|we)\b(?! (?:was|were|had|did|went|got|paid|am|have|need|want|think|know|"
    r"can't|don't|do|lost|moved|bought|left|sent|called|rang|put)\b)(?:'m| am| are|'re)?"
    r"|\blet me) (?:\w+ )?"
    r"(?:come|bring|send|drop|give|call|ring|email|post|pay|get|cut|pick|put|take|leave|"
    r"fetch|collect|book|print|walk|stack|shift|submit|text|phone)\b",
    re.I,
)
"""An errand the speaker plans in the present tense ("tomorrow morning I come past the
shop and I give you the key", "Saturday we come and cut the padlock off", "let me
collect a copy from her, and by Monday ..."), with :data:`_DAY` in the sentence."""
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tonight|tomorrow"
_DATED = re.compile(
    r"(?<![\w-])\d+(?:[.:,]\d+)*(?:st|nd|rd|th|am|pm)?(?![\w-])"  # a number that is no id
    rf"|\b({_DAYS})\b",
    re.I,
)
_MONEY = re.compile(
    r"(?:[£$€₹¥₦₱₩₪₺₽]|\bRs\.?|\bK[Ss]h\.?|\b[A-Z]{2,3}\$) ?(?P<number>\d+(?:[.,]\d+)*)"
    r"|\b(?P<number2>\d+(?:[.,]\d+)*) ?(?:pounds?|quid|dollars?|euros?|rupees?|pence|cents?|bucks)\b",
    re.I,
)
_DONE = re.compile(
    r"\b(?:has|have|had|was|were) (?:been |already )?\w+ed\b|\b(?:refunded|credited|reversed|"
    r"waived|paid|sent|issued|processed|applied|removed|deducted|returned)\b",
    re.I,
)
"""A sentence that tells something as done."""
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*")
_DAY = re.compile(rf"\b(?:{_DAYS}|\d{{1,2}}(?:st|nd|rd|th))\b", re.I)
_PAST = re.compile(r"\b(?:went|was|were|came|paid|charged|took|billed|had|did)\b", re.I)
_FUTURE = re.compile(r"\b(?:will|shall|going to|gonna)\b|'ll\b|\u2019ll\b", re.I)
_FUTURE_OR_UNDERWAY = re.compile(
    rf"{_FUTURE.pattern}|\b(?:is|'s) (?:going|coming) (?:back|off)\b", re.I
)
_LETTER_RUN = re.compile(r"\b[A-Z](?:[ ,.-]+[A-Z]\b){2,}")
"""A word spelled letter by letter: "C-O-M-E-A-U", "P, E, N, H"."""
_FIRST_NAME = re.compile(r"\b([A-Z][a-z]+) $")
"""The capitalised word just before a name ("Bernadette " before "Comeau")."""
_SOMEONE_ELSE = re.compile(
    r"\bmy (?:husband|wife|partner|son|daughter|sister|brother|mum|mom|mother|dad|father|"
    r"neighbou?r|landlord|landlady|friend|flatmate|roommate|boss|colleague)",
    re.I,
)
_NAME = re.compile(r"\b[A-Z][a-zA-Z]+\b")
"""A capitalised word: a name or a place, unless it is one of ``_NOT_NAMES``."""
_NOT_NAMES = frozenset(
    # how a story's sentences start
    "The A An He She It They We You His Her Its Their This That These Those Then After "
    "Before When While Later Both Also And But So There Since As In On At For With To No "
    "Yes User Assistant Customer Caller Agent Mr Mrs Ms Miss Dr".split()
    + _CALENDAR.split("|")
)
_AGENT_INTRO = re.compile(
    r"\b(?:[Tt]his is|[Ii]t's|I'm|[Mm]y name is|[Mm]y name's|speaking (?:to|with)) ([A-Z][a-z]+)\b"
    r"(?! [A-Z])|\b([A-Z][a-z]+) (?:speaking|here)\b"
)
_GREETED = re.compile(
    r"\b(?:[Hh]i|[Hh]ello|[Hh]ey|[Tt]hanks|[Tt]hank you|[Cc]heers),? ([A-Z][a-z]+)(?=[.,!?]|$)"
)
_SELF_INTRO = re.compile(
    r"\b(?:I'm|I am|[Tt]his is|[Ii]t's|[Mm]y name is|[Mm]y name's|[Nn]ame's|[Cc]all me)"
    r" (?:(?:Mrs?|Ms|Miss|Dr)\.? )?(?P<name>[A-Z][a-z]+)"
    r"|^\W*(?:(?:[Hh]i|[Hh]ello|[Yy]es|[Yy]eah|[Ss]orry|[Oo]h|[Uu]m|[Uu]h)\W+)*(?P<start>[A-Z][a-z]+)"
    r"(?=[.,!?]| [A-Z][a-z]+[.,!?])"
    r"|\b(?P<before>[A-Z][a-z]+)(?: [A-Z][a-z]+)?(?: here|, that's me| is the name)\b",
    re.M,
)
"""How a user gives their name: "I'm Ana", "this is Mrs Price", "Niamh Gallagher. It
might be under...", "Dev Sharma here", "Aoife Dunne is the name"."""
_VOCATIVE = re.compile(
    r"^\W*(?:(?:[Aa]nd|[Oo]h|[Oo]kay|[Ss]o|[Ss]orry|[Ll]isten|[Hh]ey|[Ww]ell)\W+)*"
    r"([A-Z][a-z]+), (?=[a-z])",
    re.M,
)
"""A user turn that opens by addressing someone ("And Kylie, whatever you do", "Bisi,
sorry, ..."): the assistant, or someone in the room; not the user."""
_TITLED = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr)\.? ([A-Z][a-z]+)\b")
"""A surname called with a title: "Ms Dlamini"."""
_FULL_NAME = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)+\b")
"""Capitalised words in a row: a first name and a surname ("Doreen Ashworth")."""
_PLACE_WORDS = frozenset(
    "Road Street Lane Avenue Close Drive Way Court Place Square Terrace Crescent Gardens "
    "Farm Cottage House Barn Lodge Mill Manor Steading Estate Boulevard".split()
)
"""How a place's name ends ("Kestrel Barn", "Main Road"): no person's."""
_NOT_FIRST_NAMES = _NOT_NAMES | frozenset(
    # how a caller's turn starts
    "Hi Hello Hey Sorry Yeah Yep Okay Oh Well Thanks Mine Um Uh Right Sure".split()
)
_UNIT_WORDS = frozenset("Flat Unit Apartment Apt Suite".split())
_FIRST_PERSON = re.compile(r"\b(I|[Mm]e|[Mm]y|[Mm]ine)\b")
_PHONE = re.compile(
    r"(?<![\w.-])(?:(?:\+|0)\d{1,4}(?: \d{2,4}){1,3}"
    r"|(?:\+1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4})(?![\w-]|\.\d)"
)
"""A phone number as said: 0 or + first and groups of digits, or North American
("(520) 555-0138", "520-555-0138", "+1 520 555 0138"); 10 to 13 digits in all."""


def phones(text: str) -> list[str]:
    """The phone numbers in ``text``, in order: in digits, or said in words ("six oh
    eight, five five five, oh one seven four" is "608 555 0174")."""
    written = [(m.start(), m.group(0)) for m in _PHONE.finditer(text) if _is_phone(m.group(0))]
    return [number for _, number in sorted(written + _spoken_phones(text))]


def confirmed_phone(said: Sequence[tuple[str, str]]) -> str | None:
    """The last phone number the assistant reads back, as it reads it, from a number the
    user gave in ``said`` (``(role, text)`` turns, in order): "Done, 520-555-0138 is your
    primary now", "07492 118 306, got it". A question ("And contact number 6784 2216?")
    or a sentence that takes a number off or away ("I'll take 01736 731 480 off") reads
    back no number to use; ``None`` when the assistant reads back none."""
    given = {_digits(n)[-7:] for role, text in said if role == "user" for n in phones(text)}
    found = None
    for role, text in said:
        if role != "assistant":
            continue
        for sentence in _sentences(text):
            if sentence.endswith("?") or _TAKEN_OFF.search(sentence):
                continue
            read = [n for n in phones(sentence) if _digits(n)[-7:] in given]
            found = read[-1] if read else found
    return found


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _spoken_phones(text: str) -> list[tuple[int, str]]:
    """The numbers of 10 to 13 digits said in words in ``text``, each with where it starts,
    in groups as said."""
    found = []
    for run in _SPOKEN_RUN.finditer(text):
        groups = [_spoken_digits(part) for part in re.split(r"\s*[,.\u2026]+\s*", run.group(0))]
        number = " ".join(g for g in groups if g)
        if None not in groups and _is_phone(number):
            found.append((run.start(), number))
    return found


def _spoken_digits(said: str) -> str | None:
    """The digits ``said`` reads out ("oh seven double one" 0711, "eleven ninety-five"
    1195), or ``None`` for a number that is no string of digits ("two hundred")."""
    words = re.split(r"[\s-]+", said.lower().strip())
    digits, repeat, at = "", 1, 0
    while at < len(words):
        word = words[at]
        if word in ("double", "triple"):
            repeat = 2 if word == "double" else 3
        elif word in _DIGIT_WORDS:
            digits += str(_DIGIT_WORDS[word]) * repeat
            repeat = 1
        elif word in _TENS_WORDS:
            value = _TENS_WORDS[word]
            unit = words[at + 1] if at + 1 < len(words) else ""
            if value >= 20 and unit in _DIGIT_WORDS and _DIGIT_WORDS[unit] and unit != "oh":
                value += _DIGIT_WORDS[unit]
                at += 1
            digits += str(value)
        elif word:
            return None
        at += 1
    return digits


def name_words(text: str) -> list[str]:
    """The capitalised words of ``text`` that are names or places (not ``_NOT_NAMES``, nor
    a flat or unit word), in order."""
    return [n for n in _NAME.findall(text) if n not in _NOT_NAMES and n not in _UNIT_WORDS]


def _split(value: str) -> list[str]:
    return [part.strip() for part in re.split(r";|\n", value) if part.strip()]


def _with_digits(text: str) -> list[str]:
    """Ids, amounts, numbers: the words of ``text`` (``-./`` inside) that hold a digit."""
    return [t for t in _TOKEN.findall(text) if any(c.isdigit() for c in t)]


def _tokens(entry: str) -> set[str]:
    """What makes an entry distinct: its ids and numbers, else its words."""
    found = {t.lower() for t in _with_digits(entry)}
    return found or {w.lower() for w in re.findall(r"\w+", entry)}


@dataclass
class Handover:
    """A parsed handover: field label -> entries (one for a single field)."""

    values: dict[str, list[str]] = field(default_factory=dict)

    def merge(self, newer: Handover) -> Handover:
        """This handover updated by ``newer``, field by field (see the module doc)."""
        merged: dict[str, list[str]] = {}
        corrections: list[tuple[str, str, str]] = []
        for f in FIELDS:
            old, new = self.values.get(f.label, []), newer.values.get(f.label, [])
            if f.kind == "single":
                merged[f.label] = new or old
                if f.corrects and old and new and old[0] != new[0]:
                    corrections.append((f.label, old[0], new[0]))
                continue
            held = set().union(*(_tokens(e) for e in new)) if new else set()
            kept = [e for e in old if not _tokens(e) <= held]
            merged[f.label] = kept + new
        lists = {f.label for f in FIELDS if f.kind == "list"}
        for label, was, now in corrections:
            stale = re.compile(rf"(?<!\w){re.escape(was)}(?!\w)")
            for other, entries in merged.items():
                if other == label:
                    continue
                entries = [stale.sub(now, e) for e in entries]
                if label == ADDRESS and other in lists:
                    # the model's own entry at the old address in other words ("I will pick
                    # up the order at 45 Cleary Avenue in Ottawa"): stale; a quote stays
                    entries = [
                        e for e in entries
                        if e.startswith('"') or not holds_address(e, was) or holds_address(e, now)
                    ]
                merged[other] = entries
        return Handover({k: v for k, v in merged.items() if v})

    def without(self, label: str, entry: str) -> Handover:
        """This handover without ``entry`` in the field ``label``."""
        values = {k: [e for e in v if k != label or e != entry] for k, v in self.values.items()}
        return Handover({k: v for k, v in values.items() if v})

    def without_ids(self, stale: set[str]) -> Handover:
        """This handover (a model's answer) without the ids of ``stale``
        (:func:`stale_ids`) in its ids and amounts: a small model lists the card the
        caller said was the old one beside the new."""
        kept = _ids_cut(self.values.get(IDS, []), lambda entry: _without(entry, stale))
        values = {**self.values, IDS: kept}
        return Handover({label: kept for label, kept in values.items() if kept})

    def without_id_phone(self, ids: Iterable[str]) -> Handover:
        """This handover (a model's answer) without its phone when that is one of ``ids``
        (:func:`read_back_ids`): a small model files the account number as the number to
        ring."""
        phone = (self.values.get(PHONE) or [""])[0]
        if phone and _digits(phone) in {_digits(i) for i in ids}:
            return self.without(PHONE, phone)
        return self

    def without_numbers(self, numbers: set[str]) -> Handover:
        """This handover without the numbers of ``numbers`` (their digits,
        :func:`taken_off_numbers`) outside its phone field: cut from its ids, and each
        other entry that gives one dropped unless it says not to use it: a small model
        lists the office line the caller said not to ring among the ids. The phone
        field's own number is never one."""
        numbers = numbers - {_digits(p) for p in self.values.get(PHONE, [])}
        if not numbers:
            return self

        def gives(entry: str) -> bool:
            return any(_digits(m) in numbers for m in _DIGIT_GROUPS.findall(entry))

        values: dict[str, list[str]] = {}
        for label, entries in self.values.items():
            if label == IDS:
                entries = _ids_cut(
                    entries, lambda e: _DIGIT_GROUPS.sub(lambda m: "" if gives(m[0]) else m[0], e)
                )
            elif label != PHONE:
                entries = [e for e in entries if not gives(e) or _NEGATED.search(e)]
            if entries:
                values[label] = entries
        return Handover(values)

    def unquoted(self) -> Handover:
        """This handover without the entries the ledgers quote (``"..."``): what the model
        is shown of the earlier handover (shown quotes, a small model copies sentences
        into its answer, the user's under the assistant too)."""
        return Handover({
            label: kept
            for label, entries in self.values.items()
            if (kept := [e for e in entries if not e.startswith('"')])
        })

    def grounded(self, said: set[str], returned: set[str], earlier: set[str]) -> Handover:
        """This handover (a model's answer) without what the folded turns cannot have given
        it. ``said``: the words of the turns and tool outputs folded; ``returned``: of the
        tool outputs; ``earlier``: of the earlier handover (see :func:`words`).

        - a name, phone or address is kept only when the turns give its names and numbers
          (a correction comes from what was said; a small model fills a form with "John
          Doe, 123 Main St" when the turns name no one);
        - a tool result only when the tool outputs hold its numbers and ids;
        - any other entry only when the turns or the earlier handover hold them."""
        values: dict[str, list[str]] = {}
        for f in FIELDS:
            entries = self.values.get(f.label, [])
            if f.corrects:
                held, names = said, True
            elif f.label == TOOL_RESULTS:
                held, names = returned, False
            else:
                held, names = said | earlier, False
            kept = [e for e in entries if _checked_words(e, names=names) <= held]
            if kept:
                values[f.label] = kept
        return Handover(values)

    def bounded(self) -> Handover:
        """This handover (a model's answer) with at most ``MAX_MODEL_ENTRIES`` entries in a
        promise or preference field, none written under both promise fields: a small model
        may write variations of one sentence until its tokens run out ("I will not call the
        helpdesk number", "I will not call the support number", ...), or copy one list under
        both parties, whose promise it is unknown. Each pushes the summary past its size,
        where it is cut, and the fields after it are lost."""
        both = set(self.values.get(ASSISTANT_PROMISED, [])) & set(
            self.values.get(USER_PROMISED, [])
        )
        values = {
            label: [e for e in entries if e not in both][:MAX_MODEL_ENTRIES]
            if label in (ASSISTANT_PROMISED, USER_PROMISED, PREFERENCES)
            else entries
            for label, entries in self.values.items()
        }
        return Handover({label: entries for label, entries in values.items() if entries})

    def attributed(self, said: Sequence[tuple[str, str]], earlier: Handover) -> Handover:
        """This handover (a model's answer) with each promise of its own words under the
        party whose words it repeats: one whose words of four letters or more
        (:func:`_stems`) are mostly in a sentence of the other party's turns of ``said``,
        or in an entry of ``earlier``'s field for that party, more than in any of its own
        field's party, moves to the other promise field. A small model copies "I'll put
        a note on your file" of the assistant under the user, or the user's "I'll phone
        the surgery" under the assistant. A quote of the ledgers, or an entry neither
        says, stays where it is. ``said``: the span's ``(role, text)`` turns, in order;
        ``earlier``: the handover so far."""
        parties = {ASSISTANT_PROMISED: "assistant", USER_PROMISED: "user"}
        sentences = [
            (role, _stems(s, shortest=4)) for role, text in said
            for s in _SENTENCE_END.split(text)
        ] + [
            (role, _stems(e, shortest=4)) for label, role in parties.items()
            for e in earlier.values.get(label, [])
        ]
        values = {label: list(entries) for label, entries in self.values.items()}
        for label, party in parties.items():
            other = next(o for o in parties if o != label)
            for entry in self.values.get(label, []):
                stems = _stems(entry, shortest=4)
                if entry.startswith('"') or len(stems) < 2:
                    continue
                share = {role: 0.0 for role in parties.values()}
                for role, held in sentences:
                    if role in share:
                        share[role] = max(share[role], len(stems & held) / len(stems))
                theirs = share[parties[other]]
                if theirs >= ATTRIBUTION_SHARE and theirs > share[party]:
                    values[label].remove(entry)
                    values[other] = list(dict.fromkeys([*values.get(other, []), entry]))
        return Handover({label: entries for label, entries in values.items() if entries})

    def story_checked(self, previous: Handover) -> Handover:
        """This handover with only the sentences of a new story (one ``previous`` does not
        have) that are in the third person, whose names and numbers the other fields hold,
        and that do not tell a promised amount as done ("The assistant reversed the
        ₦25,000" of a refund promised for Friday); with none left, ``previous``'s story
        stands."""
        story = self.values.get(STORY, [])
        if not story or story == previous.values.get(STORY, []):
            return self
        held = words(e for label, es in self.values.items() if label != STORY for e in es)
        promised = {a for e in self.values.get(ASSISTANT_PROMISED, []) for a in _money(e)}
        kept = [
            s for s in _SENTENCE_END.split(story[0])
            if _vouched(s, held) and not (_DONE.search(s) and _money(s) & promised)
        ]
        values = dict(self.values)
        checked = [" ".join(kept)] if kept else previous.values.get(STORY, [])
        if checked:
            values[STORY] = checked
        else:
            del values[STORY]
        return Handover(values)

    def render(self) -> str:
        """The handover as text, in the form's order: a list field with several entries,
        or with one of several sentences, as a list under its label, one entry a line (on
        the label's line, a quote's second sentence reads as the label's own); empty
        fields say ``none``."""
        lines = []
        for f in FIELDS:
            entries = self.values.get(f.label, [])
            sentences = len(_SENTENCE_END.split(entries[0])) if entries else 0
            if len(entries) > 1 or (f.kind == "list" and sentences > 1):
                lines += [f"{f.label}:", *(f"- {entry}" for entry in entries)]
            else:
                lines.append(f"{f.label}: {entries[0] if entries else 'none'}")
        return "\n".join(lines)


def parse_handover(text: str) -> Handover | None:
    """The fields of ``text``, or ``None`` when it holds no field of the form."""
    keys = [(f.label.lower(), f) for f in FIELDS]
    values: dict[str, list[str]] = {}
    current: Field | None = None
    found = False
    for raw in text.splitlines():
        line = _BULLET.sub("", raw.replace("**", "")).strip()
        if not line or _SCAFFOLD.match(line):
            continue
        lowered = line.lower()
        matched = next((f for key, f in keys if lowered.startswith(key)), None)
        if matched is not None and ":" in line:
            current, found = matched, True
            line = line.split(":", 1)[1].strip()
        if current is None or not line or _NONE.match(line):
            continue
        entries = values.setdefault(current.label, [])
        if current.kind == "single" and entries and matched is None:
            entries[0] = f"{entries[0]} {line}"  # a wrapped line
        else:
            entries.extend(_split(line) if current.kind == "list" else [line])
    for label, entries in values.items():
        # a small model may loop, writing one entry again and again until its tokens run out
        values[label] = list(dict.fromkeys(entries))
    if STORY in values:
        values[STORY] = [" ".join(_SENTENCE_END.split(values[STORY][0])[:2])]
    if IDS in values:
        # a phone number is no id: a small model files the number not to use here too;
        # nor is an entry with no digit ("Account name: ...", "Dog: none")
        values[IDS] = [e for e in map(_without_phones, values[IDS]) if _digits(e)]
    for label in (ASSISTANT_PROMISED, USER_PROMISED, PREFERENCES):
        # nor a promise or a wish of the model's own words ("Please use the phone number
        # 010 466 3082", "I will put 902-555-0181 off the file"): the phone field's
        # business; a ledger's quote stays
        if label in values:
            values[label] = [e for e in values[label] if e.startswith('"') or not phones(e)]
    values = {label: entries for label, entries in values.items() if entries}
    return Handover(values) if found else None


def _vouched(sentence: str, held: set[str]) -> bool:
    """Whether ``sentence`` is in the third person and each name and number in it is one
    of the ``held`` words (lower case)."""
    return not _FIRST_PERSON.search(sentence) and _checked_words(sentence, names=True) <= held


def _checked_words(text: str, *, names: bool) -> set[str]:
    """The words of ``text``'s numbers and ids (lower case) and, with ``names``, of its
    capitalised words that are not ``_NOT_NAMES``."""
    found = {w.lower() for token in _with_digits(text) for w in re.findall(r"\w+", token)}
    if names:
        found |= {n.lower() for n in _NAME.findall(text) if n not in _NOT_NAMES}
    return found


def words(texts: Iterable[str]) -> set[str]:
    """The words of ``texts``, lower case, and the digits of each number said in words
    ("twelve" gives 12, "oh seven seven one" 0771 and its parts): what
    :meth:`Handover.grounded` checks against, so that a model writing the digits of a
    transcript without numerals is not refused."""
    found: set[str] = set()
    for text in texts:
        found.update(w.lower() for w in re.findall(r"\w+", text))
        for run in _NUMBER_RUN.finditer(text):
            found |= _as_digits(re.split(r"[\s-]+", run.group(0).lower()))
    return found


def _as_digits(said: list[str]) -> set[str]:
    """The digits ``said`` may stand for: read digit by digit (every part of them, as a
    number is written in groups), and read as one number."""
    found: set[str] = set()
    digits, repeat = "", 1
    for word in said:
        if word in ("double", "triple"):
            repeat = 2 if word == "double" else 3
        elif word in _DIGIT_WORDS:
            digits += str(_DIGIT_WORDS[word]) * repeat
            repeat = 1
        else:
            digits = ""
            break
    found |= {digits[a:b] for a in range(len(digits)) for b in range(a + 1, len(digits) + 1)}
    total = current = 0
    for word in said:
        if word in _NUMBER_VALUES:
            current += _NUMBER_VALUES[word]
        elif word == "hundred":
            current *= 100
        elif word == "thousand":
            total, current = total + current * 1000, 0
        else:
            return found
    found.add(str(total + current))
    return found


def _without_phones(entry: str) -> str:
    return _closed_up(_PHONE.sub(lambda m: "" if _is_phone(m.group(0)) else m.group(0), entry))


def _ids_cut(entries: list[str], cut: Callable[[str], str]) -> list[str]:
    """The ids field's ``entries`` with ``cut`` taken out of each, closed up; an entry
    left with no word is dropped."""
    kept = [_closed_up(cut(entry), " ,;:") for entry in entries]
    return [entry for entry in kept if re.search(r"\w", entry)]


def _closed_up(entry: str, ends: str = " ,;") -> str:
    """``entry`` with the commas a part cut out of it left behind closed up, and none of
    ``ends`` at either end."""
    return re.sub(r"\s*,(\s*,)+", ",", entry).strip(ends)


def tool_ledger(outputs: Iterable[tuple[str, str]]) -> list[str]:
    """``name: key value, ...`` for each tool output's values that hold a digit (ids,
    amounts, dates): what a tool returned, kept whether or not the model wrote it.

    ``outputs`` are ``(tool name, output)`` pairs; a JSON object output gives its keys,
    any other output its words with a digit."""
    entries = []
    for name, output in outputs:
        try:
            parsed = json.loads(output)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            found = [
                f"{k} {v}" for k, v in parsed.items()
                if isinstance(v, (str, int, float)) and not isinstance(v, bool)
                and any(c.isdigit() for c in str(v))
            ]
        else:
            found = _with_digits(output)
        if found:
            entries.append(f"{name}: {', '.join(found)}")
    return entries


def commitments(turns: Iterable[str]) -> list[str]:
    """Each sentence of ``turns`` (one speaker's, oldest first) in which the speaker says
    what they will do ("I'll ...", "I will ...", "I'm going to ...", "I'm gonna ...", or
    an errand planned for a day in the present tense: "tomorrow I come past the shop and
    I give you the key"), quoted as said; questions are skipped; one that refers back
    ("I'll dig that out") after the sentence before it.

    A small model tends to drop these, or give the user's to the assistant."""
    return _quoted(
        turns,
        lambda s: bool(_FIRST_PERSON_FUTURE.search(s))
        or bool(_PLANNED.search(s) and _DAY.search(s)),
        referent=True,
    )


def assistant_promises(turns: Iterable[str]) -> list[str]:
    """What the assistant's ``turns`` (oldest first) commit to by a day or for an amount,
    quoted as said; questions and sentences with a phone number are skipped:

    - a sentence that names an amount of money ("$85", "62.50 pounds", or a number a
      turn so far gave as money: "that 389" after "$389") and is not only about the past
      ("a charge went on your card on Sunday"), with the day it names, else with the
      next sentence of its turn that names one, within two, the two joined by " … " as
      one promise ("the $95 fee, I'll put that back on your Visa … I can have Derek out
      to you Thursday the 12th.");
    - else an "I'll ..." sentence (:func:`commitments`) with a number or a day in it: "I'll
      check" comes before most tool calls.

    The assistant words these many ways ("that fee is coming off", "we're taking $450
    off", "I am waiving it"); a small model drops them, or gives them to the user."""
    found = []
    amounts: set[str] = set()  # of the turns so far: "that 389" of "$389" a turn before
    for text in turns:
        sentences = _sentences(text)
        at = 0
        while at < len(sentences):
            sentence = sentences[at]
            said = _money(sentence)
            is_money = bool(said) or any(n in amounts for n in _NUMBER.findall(sentence))
            amounts |= said
            if sentence.endswith("?") or phones(sentence):
                at += 1
                continue
            following = sentences[at + 1 : at + 2]
            if is_money and _only_past(sentence) and _gives_back(following, amounts):
                # "you paid £85 for the call-out. That should never have been charged,
                # so that's going back onto your card, you'll see it by Wednesday."
                found.append(_as_quote(f"{sentence.rstrip('.')} … {sentences[at + 1]}"))
                at += 2
                continue
            if is_money and not _only_past(sentence):
                day = next(
                    (
                        j for j in range(at, min(at + 3, len(sentences)))
                        if _DAY.search(sentences[j]) and not sentences[j].endswith("?")
                    ),
                    None,
                )
                if day is not None:
                    # one promise: the amount's full stop gives way to the ellipsis
                    if day > at:
                        sentence = f"{sentence.rstrip('.')} … {sentences[day]}"
                    found.append(_as_quote(sentence))
                    at = day + 1
                    continue
            if _FIRST_PERSON_FUTURE.search(sentence) and _DATED.search(sentence):
                found.append(_as_quote(_with_referent(sentences, at)))
            at += 1
    return found


def _gives_back(following: list[str], amounts: set[str]) -> bool:
    """Whether the sentence in ``following`` (none or one) promises, for a day, what the
    sentence before it names, without naming an amount itself (one of ``amounts`` or
    another): "that's going back onto your card, you'll see it by Wednesday"."""
    return any(
        _REFERS_BACK.search(s) and _FUTURE_OR_UNDERWAY.search(s) and _DAY.search(s)
        and not s.endswith("?") and not phones(s)
        and not _money(s) and not set(_NUMBER.findall(s)) & amounts
        for s in following
    )


def _money(sentence: str) -> set[str]:
    """The amounts of money ``sentence`` names, as their numbers."""
    return {m.group("number") or m.group("number2") for m in _MONEY.finditer(sentence)}


def _only_past(sentence: str) -> bool:
    return bool(_PAST.search(sentence)) and not _FUTURE.search(sentence)


def read_back_ids(turns: Sequence[tuple[str, str]]) -> list[str]:
    """Each id one party says and the other's next turn says back, oldest first, as
    written: the id the call goes by ("It's MB-218845." "Thanks, MB-218845 is in your
    name."; "WCE, then eight eight four one three." "WCE-88413 is live."; "Werkbon
    60412." ... "Six-oh-four-one-two."). An id is capitals and digits (``_ID``) or a
    number of five digits or more that is no phone or amount, said in digits, in words,
    or letter by letter; an echo in a sentence that says it is old or takes it back
    ("No, 58412 is from May", "You've an older record too, LR15 HBV") is none.
    ``turns``: ``(role, text)``, in order."""
    found: list[str] = []
    keys: set[str] = set()
    for (role, text), (next_role, reply) in zip(turns, turns[1:]):
        if role == next_role:
            continue
        heard, given = _read_out(text), _id_numbers(text)
        for sentence in _sentences(reply, _CLAUSE_END):
            if _STALE.search(sentence):
                continue
            echoed = [i for i in _id_numbers(sentence) if _says(heard, i)]
            echoed += [i for i in given if _says(_read_out(sentence), i)]
            for number in echoed:
                if not _phone_like(number, f"{text} {reply}") and _key(number) not in keys:
                    found.append(number)
                    keys.add(_key(number))
    return found


def stale_ids(
    turns: Sequence[tuple[str, str]], read_back: Iterable[str] | None = None
) -> set[str]:
    """The ids of ``turns`` (``(role, text)``, in order) said to be old, cancelled or
    not the one ("39467. Ah no, hang on, that's the old card"; "One more tag is under
    this account, 8HNW2K1?" "That one is old"), in the sentence that says them, the next
    one, or the other party's next turn, and never read back (``read_back``, else
    :func:`read_back_ids` of ``turns``), as :func:`_key` gives them."""
    kept = {_key(i) for i in (read_back_ids(turns) if read_back is None else read_back)}
    found: set[str] = set()
    for at, (role, text) in enumerate(turns):
        sentences = _sentences(text, _CLAUSE_END)
        answer = next((t for r, t in turns[at + 1 : at + 2] if r != role), "")
        for n, sentence in enumerate(sentences):
            near = [*sentences[n : n + 2], _CLAUSE_END.split(answer)[0]]
            if any(_STALE.search(s) for s in near):
                found |= {_key(i) for i in _id_numbers(sentence) if not _phone_like(i, text)}
    return found - kept


def _without(entry: str, stale: set[str]) -> str:
    for number in _id_numbers(entry):
        if _key(number) in stale:
            entry = entry.replace(number, "")
    return entry


def _id_numbers(text: str) -> list[str]:
    """The ids of ``text`` as written: capitals and digits (``_ID``), or numbers of five
    digits or more, in groups, that are no phone or amount ("40918", "4402 1187 63")."""
    taken = [m.group(0) for m in _MONEY.finditer(text)] + phones(text) + addresses(text)
    taken += [m.group(0) for m in _AFTER_ADDRESS.finditer(text)]
    numbers = [m.group(0) for m in _DIGIT_GROUPS.finditer(text) if len(_digits(m.group(0))) >= 5]
    return [
        i for i in _ids(text) + numbers
        if len(_key(i)) >= 5 and not any(i in t for t in taken)
    ]


def _phone_like(number: str, said: str) -> bool:
    """Whether ``number`` is a phone number as ``said`` talks of it: seven digits or
    more, where it talks of phones ("Mine is nine eight four five zero, ...")."""
    return len(_digits(number)) >= 7 and bool(_PHONE_WORDS.search(said))


def _read_out(text: str) -> list[str]:
    """The letters and digits ``text`` reads out, in order, upper case, a token each:
    single letters and digits, digit words ("oh", "double") and words with a digit in
    them or in capitals; other words are skipped ("C, 7, Q- no, Q, not O- X" reads
    C 7 Q Q O X)."""
    out, repeat = [], 1
    for word in re.findall(r"[A-Za-z0-9]+", text):
        lowered = word.lower()
        if lowered in ("double", "triple"):
            repeat = 2 if lowered == "double" else 3
            continue
        if lowered in _DIGIT_WORDS:
            out += [str(_DIGIT_WORDS[lowered])] * repeat
        elif len(word) == 1 or any(c.isdigit() for c in word) or word.isupper():
            out += [word.upper()] * repeat
        repeat = 1
    return out


def _says(heard: list[str], number: str) -> bool:
    """Whether ``heard`` (:func:`_read_out`) reads out ``number``: its letters and digits
    from tokens in a row, two single letters or digits at most skipped between them (a
    caller corrects a letter as they go)."""
    key = _key(number)

    def reads(at: int, rest: str, skipped: int) -> bool:
        if not rest:
            return True
        if at == len(heard):
            return False
        token = heard[at]
        if rest.startswith(token) and reads(at + 1, rest[len(token) :], skipped):
            return True
        return rest != key and len(token) == 1 and skipped < 2 and reads(at + 1, rest, skipped + 1)

    return any(reads(at, key, 0) for at in range(len(heard)))


def _key(number: str) -> str:
    """An id's letters and digits, upper case."""
    return "".join(c for c in number.upper() if c.isalnum())


def spelled_names(turns: Iterable[str]) -> list[str]:
    """The names the user's ``turns`` spell out, oldest first: a capitalised word followed,
    in its turn, by its letters one by one ("Comeau, C-O-M-E-A-U", "Penhaligon. P, E, N,
    H, A, L, I, G, O, N"), with the capitalised word just before it if there is one
    ("Bernadette Comeau"). A word of an address the turn gives, or spelled in a sentence
    about someone of the user's ("my husband, Arvind, A-R-V-I-N-D"), is skipped.

    A caller spells their own name; a small model still names the man who dialled for them,
    or the sister who paid."""
    found: list[str] = []
    for text in turns:
        text = " ".join(text.split())
        places = " ".join(addresses(text))
        for run in _LETTER_RUN.finditer(text):
            letters = "".join(re.findall(r"[A-Z]", run.group(0)))
            before = text[: run.start()]
            spelled = [
                w for w in _NAME.finditer(before)
                if len(w.group(0)) >= 3 and w.group(0).upper() in letters
            ]
            if not spelled:
                continue
            word = spelled[-1].group(0)
            ahead = before[: spelled[-1].start()]
            sentence = _SENTENCE_END.split(ahead)[-1]
            if word in places or _SOMEONE_ELSE.search(sentence):
                continue
            first = _FIRST_NAME.search(ahead)
            if first and first.group(1) not in _NOT_FIRST_NAMES:
                name = f"{first.group(1)} {word}"
            else:
                name = word
            if all(f.split()[-1] != word for f in found):
                found.append(name)
    return found


def echoed_names(said: Sequence[tuple[str, str]]) -> list[str]:
    """The full names a user turn of ``said`` (``(role, text)`` turns, in order) gives
    and the assistant's next turn calls the user by, by one of their words ("It's Mrs
    Ashworth. Doreen Ashworth." "I'll speak up, Mrs Ashworth."; "Aoife Dunne is the
    name." "Have you the booking reference there, Aoife?"), or a surname given alone
    that it calls the user by with a title ("Surname's Dlamini." "Thanks, Ms
    Dlamini."), oldest first. A name in a
    sentence about someone of the user's ("my colleague, Sanne Visser"), one the
    assistant goes by (:func:`agent_names`), or a place's ("Kestrel Barn") is none."""
    agents = agent_names(said)
    found: list[str] = []
    for (role, text), (next_role, reply) in zip(said, said[1:]):
        if role != "user" or next_role != "assistant":
            continue
        places = " ".join(addresses(text))
        given = [
            (name, any(re.search(rf"\b{p}\b", reply) for p in name.split()))
            for sentence in _sentences(text)
            if not _SOMEONE_ELSE.search(sentence)
            for name in _FULL_NAME.findall(sentence)
        ]
        # or the assistant says in full a name the user gave in parts ("Dijkstra. ...
        # Femke." "Femke Dijkstra, thank you.")
        given += [
            (name, True) for name in _FULL_NAME.findall(reply)
            if all(re.search(rf"\b{p}\b", text) for p in name.split())
        ]
        # or a surname the user gave alone, by which the assistant calls them with a
        # title ("Surname's Dlamini." "Thanks, Ms Dlamini.")
        given = [
            (name, called) for name, called in given
            if not any(p in _NOT_FIRST_NAMES or p in agents or p in places for p in name.split())
            and name.split()[-1] not in _PLACE_WORDS
        ]
        given += [
            (surname, True) for surname in _TITLED.findall(reply)
            if re.search(rf"\b{surname}\b", text) and surname not in agents | set(places.split())
            and not any(surname in name.split() for name, _ in given)
        ]
        found += [name for name, called in given if called]
    return list(dict.fromkeys(found))


def name_ledger(said: Sequence[tuple[str, str]], earlier: Handover) -> list[str]:
    """The user's name as the span's turns give it: the name the user spelled out
    (:func:`spelled_names`), in full when the assistant called the user by a full name
    holding it (:func:`echoed_names`); else the first name the assistant called the user
    by, unless it shares no word with the name ``earlier`` gives (the next spans talk
    of others: "Mr Finch", a farm). ``said``: ``(role, text)`` turns, in order."""
    spelled = spelled_names([text for role, text in said if role == "user"])[-1:]
    echoed = echoed_names(said)
    if spelled:
        surname = spelled[0].split()[-1]
        return [next((e for e in echoed if surname in e.split()), spelled[0])]
    was = set(name_words((earlier.values.get(NAME) or [""])[0]))
    return [e for e in echoed[:1] if not was or was & set(e.split())]


def steady_name(newer: Handover, earlier: Handover, said: Sequence[tuple[str, str]]) -> Handover:
    """``newer`` (a model's answer) without its name for the user when that is the
    assistant's own (:func:`agent_names`), or when it replaces the name ``earlier`` gives
    with one that shares no word with it and that no user turn of ``said`` introduces
    ("I'm ...", "... here", "my name's ...", or spelled out): a small model names whoever
    the turns talk about, the fiancé, the neighbour who dialled, the agent.
    ``said``: the span's ``(role, text)`` turns, in order."""
    name = (newer.values.get(NAME) or [""])[0]
    given = set(name_words(name))
    if not given:
        return newer
    if given <= agent_names(said):
        return newer.without(NAME, name)
    was = set(name_words((earlier.values.get(NAME) or [""])[0]))
    if was and not given & was and not _introduced(given, said):
        return newer.without(NAME, name)
    return newer


def agent_names(said: Sequence[tuple[str, str]]) -> set[str]:
    """The names the assistant goes by in ``said`` (``(role, text)`` turns): the one it
    introduces itself with ("Kerry speaking", "this is Imran") and the one the user greets
    or thanks it by ("Hi Deirdre, ...", "thank you, Imran."), and the one the user opens a
    turn addressing ("Oh, Kylie, before I forget")."""
    found: set[str] = set()
    for role, text in said:
        if role == "assistant":
            found |= _named(_AGENT_INTRO, text)
        else:
            found |= _named(_GREETED, text) | _named(_VOCATIVE, text)
    return found - _NOT_NAMES


def gives_name(text: str) -> bool:
    """Whether ``text`` (a user's turn) gives a name the way a user gives theirs ("I'm
    Ana", "Dev Sharma here") or spells one out."""
    said = any(m["name"] or m["before"] for m in _SELF_INTRO.finditer(text))
    return said or bool(spelled_names([text]))


def _introduced(given: set[str], said: Sequence[tuple[str, str]]) -> bool:
    """Whether a user turn of ``said`` introduces the user by one of the words ``given``."""
    user = [text for role, text in said if role == "user"]
    spelled = {n.split()[-1] for n in spelled_names(user)}
    return bool(given & spelled) or any(given & _named(_SELF_INTRO, text) for text in user)


def _named(pattern: re.Pattern[str], text: str) -> set[str]:
    """The names ``pattern``'s groups match in ``text``."""
    return {name for m in pattern.finditer(text) for name in m.groups() if name}


def wishes(turns: Iterable[str]) -> list[str]:
    """Each sentence of the user's ``turns`` that asks for something ("please ...", "I'd
    prefer ...", "it's best not to ...", "I don't want ..."), quoted as said; questions,
    sentences of three words or fewer and those with a phone, an address, an id, or a
    number said or spelled out (the other fields' business) are skipped."""
    return _quoted(
        turns, lambda s: bool(_WISH.search(s)) and len(s.split()) > 3 and not _holds_detail(s)
    )


def acknowledged_wishes(said: Sequence[tuple[str, str]]) -> list[str]:
    """What the user asked for where the assistant's next turn says it is recorded
    ("noted", "understood", "I'll put that on the job", "in the driver notes"), however
    the user worded it ("the driver can't drop it on the driveway. ... Stick it on the
    front lawn"): the sentences of the user's turn that share a word with the
    acknowledgement ("Front lawn, keep off the driveway"), else its last three, quoted
    as said; and a question that asks for something ("could we wait outside rather than
    in the waiting room?") where the next turn records it or opens by agreeing ("Of
    course", "Absolutely").
    ``said``: ``(role, text)`` turns, in order.

    An acknowledgement with a digit in it (up to the sentence that records) reads a
    number back, and a sentence with a phone, an address, an id or a number said or
    spelled out is the other fields' business: both are skipped, as are other questions
    and sentences of three words or fewer."""
    found = []
    for (asker, text), (replier, reply) in zip(said, said[1:]):
        if asker != "user" or replier != "assistant":
            continue
        reply = _up_to_record(reply)
        if any(c.isdigit() for c in reply):
            continue
        if _AGREED.search(reply) or _RECORDED.search(reply):
            found += [
                _as_quote(s) for s in _sentences(text)
                if s.endswith("?") and _REQUEST.search(s) and not _holds_detail(s)
            ]
        if _RECORDED.search(reply):
            quotes = _quoted([text], lambda s: len(s.split()) > 3 and not _holds_detail(s))
            found += [q for q in quotes if _stems(q) & _stems(reply)] or quotes[-3:]
    return list(dict.fromkeys(found))


def _up_to_record(reply: str) -> str:
    """``reply`` up to its first sentence that records what was asked (``_RECORDED``),
    whole when none does: what follows is other business ("... And we're putting a $40
    credit on the account")."""
    sentences = _sentences(reply)
    at = next((i for i, s in enumerate(sentences) if _RECORDED.search(s)), len(sentences) - 1)
    return " ".join(sentences[: at + 1])


def _stems(text: str, shortest: int = 5) -> set[str]:
    """The first five letters of each word of ``text`` of ``shortest`` letters or more,
    lower case: "Front lawn, keep off the driveway" shares "drive" with "the driver
    can't"."""
    return {w[:5] for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= shortest}


def _holds_detail(sentence: str) -> bool:
    """Whether ``sentence`` gives a phone, an address, an id, or a number said in words
    or a word spelled out."""
    return bool(
        phones(sentence) or addresses(sentence) or _ids(sentence)
        or _LETTER_RUN.search(sentence) or _NUMBER_PAIR.search(sentence)
    )


def _quoted(
    turns: Iterable[str], keep: Callable[[str], bool], *, referent: bool = False
) -> list[str]:
    """Each sentence of ``turns`` that is no question and that ``keep`` accepts, quoted as
    said (``;`` as ``,``, so that a list field does not split it). ``referent``: a sentence
    that refers back ("I'll dig that out") comes after the sentence before it in its turn,
    which says what "that" is."""
    found = []
    for text in turns:
        sentences = _sentences(text)
        for at, sentence in enumerate(sentences):
            if sentence.endswith("?") or not keep(sentence):
                continue
            found.append(_as_quote(_with_referent(sentences, at) if referent else sentence))
    return found


def _sentences(text: str, end: re.Pattern[str] = _SENTENCE_END) -> list[str]:
    """The sentences of ``text`` (its spacing collapsed), split at ``end``."""
    return end.split(" ".join(text.split()))


def _with_referent(sentences: list[str], at: int) -> str:
    """Sentence ``at``, after the sentence before it when it refers back ("I'll dig that
    out"): that one says what "that" is."""
    sentence = sentences[at]
    if at > 0 and _REFERS_BACK.search(sentence):
        return f"{sentences[at - 1]} {sentence}"
    return sentence


def _as_quote(sentence: str) -> str:
    """``sentence`` in quotes (``;`` as ``,``, so that a list field does not split it)."""
    return '"' + sentence.replace(";", ",").replace('"', "'") + '"'


def _ids(text: str) -> list[str]:
    return [m for m in _ID.findall(text) if sum(c.isalnum() for c in m) >= 4]


def _is_phone(number: str) -> bool:
    return 10 <= sum(c.isdigit() for c in number) <= 13


def addresses(text: str) -> list[str]:
    """The addresses in ``text`` (a house, flat or unit number and capitalised words, with
    or without a street word, or a street and its number, then the town if one follows),
    in order."""
    found = sorted(
        (m for pattern in _ADDRESS_FORMS for m in pattern.finditer(text)),
        key=lambda m: (m.start(), -m.end()),
    )
    kept: list[re.Match[str]] = []
    for m in found:
        if not kept or m.start() >= kept[-1].end():
            kept.append(m)
    return [m.group(0) for m in kept]


def taken_off_numbers(said: Sequence[tuple[str, str]]) -> set[str]:
    """The digits of each number of seven digits or more that a clause of ``said``
    (``(role, text)`` turns) gives alone and takes off or says not to use ("9174 3382,
    okay, and I'll remove 6275 0193 from the booking"): a phone, whatever its country's
    length, or a card."""
    found = set()
    for _, text in said:
        for clause in _sentences(text, _TAKING_CLAUSE):
            numbers = [n for n in _DIGIT_GROUPS.findall(clause) if len(_digits(n)) >= 7]
            if len(numbers) == 1 and _TAKEN_OFF.search(clause):
                found.add(_digits(numbers[0]))
    return found


def read_back_addresses(said: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each address the assistant reads back from a user turn that gave its street but
    not as the address reads ("Two-twelve Pipeclay Lane." "So deliveries to 212 Pipeclay
    Lane, Eurunderee."), with that user turn: a street, a road or the like, whose
    capitalised words the user said. A question, or a sentence that takes it off or calls
    it old, reads none back. ``said``: ``(role, text)`` turns, in order."""
    found = []
    for (role, text), (next_role, reply) in zip(said, said[1:]):
        if role != "user" or next_role != "assistant":
            continue
        for sentence in _sentences(reply):
            if sentence.endswith("?") or _TAKEN_OFF.search(sentence) or _STALE.search(sentence):
                continue
            for address in addresses(sentence):
                given = any(holds_address(address, a) for a in addresses(text))
                street = _STREET_WORD.search(_street(address))
                if street and names_street(text, address) and not given:
                    found.append((text, _with_named_part(sentence, address, text)))
    return found


_NAMED_PARTS = re.compile(r"(?:[A-Z][\w']*(?: [A-Z][\w']*)*,? )+$")
"""Capitalised words before an address in its sentence: an estate, a building, a block
("Amani Gardens, Maisonette 3, James Gichuru Road")."""


def _with_named_part(sentence: str, address: str, heard: str) -> str:
    """``address`` with the parts of capitalised words right before it in ``sentence``
    that the user's turn ``heard`` says capitalised too: "Amani Gardens, Maisonette 3,
    James Gichuru Road, Lavington", not "So 212 Pipeclay Lane" nor "Okay Grace, 7 Palm
    Close"."""
    before = _NAMED_PARTS.search(sentence[: sentence.find(address)])
    if before is None:
        return address
    said = set(re.findall(r"[A-Z][\w']*", heard))
    kept: list[str] = []
    for part in reversed(re.split(r"(?<=,) ", before.group(0).rstrip())):
        if not set(re.findall(r"[A-Z][\w']*", part)) <= said:
            break
        kept.insert(0, part)
    return " ".join([*kept, address])


def names_street(text: str, address: str) -> bool:
    """Whether ``text`` names the street of ``address`` (its capitalised words, any case),
    with or without its number: "Amani Gardens, on James Gichuru Road" names "3, James
    Gichuru Road"."""
    folded = _folded(text)
    named = re.findall(r"\b[A-Z][a-z]+\b", _street(address))
    return bool(named) and all(re.search(rf"\b{w.lower()}\b", folded) for w in named)


def _street(address: str) -> str:
    found = next((m for pattern in _ADDRESS_FORMS if (m := pattern.match(address))), None)
    return found.group("street") if found else address


def holds_address(text: str, address: str) -> bool:
    """Whether ``text`` names ``address`` (its number and street, any case or spacing)."""
    return _folded(_street(address)) in _folded(text)


def _folded(text: str) -> str:
    """The words of ``text``, lower case, one space apart."""
    return " ".join(re.findall(r"\w+", text.lower()))
