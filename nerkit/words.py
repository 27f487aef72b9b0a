"""The one word tokeniser and sentence splitter used wherever raw text becomes words.

Offset JSON, BRAT and raw-text prediction all go through these functions, so a model trained on words from
one of them sees the same words at prediction time. Every word keeps its character span in the text
(``text[start:end] == word``); nothing is normalised, dropped or rewritten.

Words (:func:`split_words`), close to CoNLL-2003 / Penn Treebank conventions where that is cheap:

1. Whitespace separates words and is never part of one. Whitespace is every character for which
   ``str.isspace()`` is true (space, TAB, newlines, NBSP, the Unicode spaces) plus the invisible separators
   ZERO WIDTH SPACE U+200B, WORD JOINER U+2060, BOM U+FEFF and the direction marks U+200E / U+200F.
2. A word is a run of letters, digits and ``_`` (``\\w``, Unicode-aware) with the combining marks, ZWJ /
   ZWNJ and soft hyphens that follow them. Runs are joined into one word by an apostrophe (``'`` or ``’``)
   or a hyphen (``-`` U+2010 U+2011) with word characters on both sides ("O'Brien", "e-mail",
   "GSK-3beta"), by ``.`` or ``,`` between digits ("3.5", "1,000"), and by ``.`` before a lower-case
   letter or digit ("e.coli", "www.example.com"; "end.The" stays three words).
3. Clitics are split off the Penn Treebank way: "don't" -> "do" "n't", "John's" -> "John" "'s" (also
   's 're 've 'll 'd 'm, either apostrophe, any case); a trailing apostrophe ("players'") is its own word.
4. A final period belongs to the word for dotted abbreviations of single letters ("U.S.", "e.g.", "a.m.")
   and for the words in :data:`ABBREVIATIONS` ("Dr.", "vs.", "etc.", "Inc."); a single initial keeps its
   period apart ("J." -> "J" ".") so that an entity such as "vitamin A" never ends inside a word.
5. Every other non-space character is a word of its own (punctuation, symbols, each emoji), except that
   runs of two or more ``.`` or ``-`` ("...", "--") are one word, and that an emoji keeps what belongs to
   it: combining marks, variation selectors, skin-tone modifiers, tag characters (subdivision flags), ZWJ
   sequences ("👨‍👩‍👧" is one word) and pairs of regional indicators (each flag is one word).

Sentences (:func:`split_sentences`): a sentence ends after ``.``, ``!`` or ``?`` (or a run such as ``?!``
or ``...``), optionally followed by closing quotes or brackets, when whitespace and then an upper-case
letter, a digit or an opening quote/bracket follow; never after a period that ends an abbreviation in
:data:`ABBREVIATIONS`, a dotted abbreviation ("e.g.", "U.S.") or a single capital initial ("J."). Every
line break ends a sentence too: BRAT titles and headlines are lines of their own without final
punctuation, and a blank line between paragraphs is a line break as well. Spans never include the
whitespace around a sentence, and whitespace-only text has no sentences.

:func:`cut_words` splits words again where an annotation puts an entity boundary next to punctuation
inside a word ("BRCA1|-associated"); the BRAT and offset JSON readers use it, raw text never needs it.

The character classes come from Python's ``unicodedata``, so results are deterministic for a given Python
version. Both functions are one regular-expression pass (a 750,000-character corpus takes well under a
second).

>>> [w for w, _, _ in split_words("Dr. O'Brien doesn't live in the U.S. (yet)!")]
['Dr.', "O'Brien", 'does', "n't", 'live', 'in', 'the', 'U.S.', '(', 'yet', ')', '!']
>>> text = "Mr. Smith arrived. He stayed.\\nTitle line"
>>> [text[s:e] for s, e in split_sentences(text)]
['Mr. Smith arrived.', 'He stayed.', 'Title line']
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from typing import Iterable, List, Sequence, Tuple

Word = Tuple[str, int, int]  # (word, start, end exclusive)
Span = Tuple[int, int]

# Words whose final period is part of the word, and after which a sentence never ends. Case-sensitive:
# "No." is an abbreviation of "number", "no." at the end of a sentence is not.
ABBREVIATIONS = frozenset(
    "Mr Mrs Ms Dr Prof St Mt vs etc Fig Figs al No Nos Inc Ltd Co Corp Jr Sr cf approx Eq Vol".split()
)

# Invisible characters that separate words although str.isspace() is False for them.
_EXTRA_SPACES = "\u200b\u200e\u200f\u2060\ufeff"
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines() breaks at


def _class_ranges(codepoints: Iterable[int]) -> str:
    """A regex character-class body (no brackets) for a sorted iterable of code points."""
    parts: List[str] = []
    run_start = previous = None
    for cp in codepoints:
        if previous is not None and cp == previous + 1:
            previous = cp
            continue
        if run_start is not None:
            parts.append(_range(run_start, previous))
        run_start = previous = cp
    if run_start is not None:
        parts.append(_range(run_start, previous))
    return "".join(parts)


def _range(first: int, last: int) -> str:
    if first == last:
        return f"\\U{first:08x}"
    return f"\\U{first:08x}-\\U{last:08x}"


# Marks and cased letters all live below U+20000, except the variation selectors supplement.
_CATEGORIZED = [
    (cp, unicodedata.category(chr(cp)))
    for cp in (*range(0x20000), *range(0xE0000, 0xE1000))
    if unicodedata.category(chr(cp))[0] in "LM"
]


def _categories(prefixes: Tuple[str, ...]) -> List[int]:
    return [cp for cp, category in _CATEGORIZED if category.startswith(prefixes)]


_SPACE_CHARS = "".join(chr(cp) for cp in range(0x3000 + 1) if chr(cp).isspace()) + _EXTRA_SPACES
SPACE_CHARS = _SPACE_CHARS  # every character that separates words (for str.strip and tests)

_MARKS = _class_ranges(_categories(("M",)))
# What stays attached to the character before it: combining marks (incl. variation selectors and the
# keycap), skin-tone modifiers, tag characters (subdivision flags) and the soft hyphen.
_ATTACHED = _MARKS + r"\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\u00ad"
_UPPER = _class_ranges(_categories(("Lu", "Lt")))
_LOWER = _class_ranges(_categories(("Ll",)))

_SPACE = rf"\s{_EXTRA_SPACES}"
_WORD_CHAR = rf"\w{_ATTACHED}\u200c\u200d"  # ZWNJ / ZWJ join letters in Indic and Persian words
_SEGMENT = rf"\w[{_WORD_CHAR}]*"
_LETTER = rf"[^\W\d_][{_ATTACHED}]*"
_JOIN = rf"(?:['\u2019\-\u2010\u2011](?=\w)|(?<=\d)[.,](?=\d)|\.(?=[{_LOWER}\d]))"
_ABBREVIATION = "|".join(sorted(ABBREVIATIONS, key=len, reverse=True))
_REGIONAL_PAIR = r"[\U0001f1e6-\U0001f1ff]{2}"
_SYMBOL = rf"(?:{_REGIONAL_PAIR}|[^{_SPACE}])[{_ATTACHED}]*(?:\u200d(?:[^{_SPACE}\w][{_ATTACHED}]*)?)*"

_WORD_RE = re.compile(
    rf"""
    (?:{_ABBREVIATION})\.                          # Dr. vs. Inc.
    | {_LETTER}(?:\.{_LETTER})+\.?(?![{_WORD_CHAR}])  # U.S. e.g. a.m.
    | ['\u2019](?:[sSdDmM]|re|RE|ve|VE|ll|LL)(?![{_WORD_CHAR}])  # a clitic standing alone: 's 're
    | {_SEGMENT}(?:{_JOIN}{_SEGMENT})*             # words, numbers, e-mail, O'Brien, 3.5
    | \.\.+ | --+                                  # ... and --
    | {_SYMBOL}                                    # anything else, one character (emoji: one sequence)
    """,
    re.VERBOSE,
)

_CLITIC_RE = re.compile(r"(?i)(?:n['\u2019]t|['\u2019](?:s|re|ve|ll|d|m))$")


def split_words(text: str, start: int = 0) -> List[Word]:
    """Words of ``text`` with their spans, offsets counted from ``start`` (see the module rules).

    >>> split_words("e-mail me at 3.5 p.m. 👍🏽!")
    [('e-mail', 0, 6), ('me', 7, 9), ('at', 10, 12), ('3.5', 13, 16), ('p.m.', 17, 21), ('👍🏽', 22, 24), ('!', 24, 25)]
    >>> split_words("don't", start=10)
    [('do', 10, 12), ("n't", 12, 15)]
    """
    words: List[Word] = []
    for match in _WORD_RE.finditer(text):
        word = match.group()
        begin = match.start() + start
        if ("'" in word or "\u2019" in word) and len(word) > 2:
            clitic = _CLITIC_RE.search(word)
            if clitic and clitic.start() > 0:
                cut = clitic.start()
                words.append((word[:cut], begin, begin + cut))
                words.append((word[cut:], begin + cut, begin + len(word)))
                continue
        words.append((word, begin, begin + len(word)))
    return words


def is_space(character: str) -> bool:
    """True for the characters that separate words (``str.isspace`` plus ZWSP, WJ, BOM, LRM, RLM)."""
    return character.isspace() or character in _EXTRA_SPACES


_BOUNDARY_RE = re.compile(
    rf"""([.!?]+)["'\u201d\u2019)\]}}\u00bb]*     # terminators, closing quotes and brackets
    (?=[{_SPACE}]+["'\u201c\u2018(\[{{\u00ab\u00bf\u00a1{_UPPER}\d])  # whitespace, then a sentence start
    """,
    re.VERBOSE,
)
_LINE_BREAK_RE = re.compile(f"[{_LINE_BREAKS}]")
_BEFORE_PERIOD_RE = re.compile(rf"[{_WORD_CHAR}.]+$")  # the word a period ends ("U.S", "Dr", "J")
_DOTTED_RE = re.compile(rf"{_LETTER}(?:\.{_LETTER})+")
_INITIAL_RE = re.compile(rf"[{_UPPER}][{_ATTACHED}]*")


def _ends_abbreviation(text: str, period: int) -> bool:
    """Is the ``.`` at ``text[period]`` the end of an abbreviation or an initial rather than a sentence?"""
    match = _BEFORE_PERIOD_RE.search(text, max(0, period - 40), period)
    if not match:
        return False
    before = match.group()
    return before in ABBREVIATIONS or bool(_DOTTED_RE.fullmatch(before) or _INITIAL_RE.fullmatch(before))


def _cut_points(text: str) -> List[int]:
    """Offsets where a sentence may end, in increasing order (line breaks and sentence punctuation)."""
    cuts = [match.start() for match in _LINE_BREAK_RE.finditer(text)]
    for match in _BOUNDARY_RE.finditer(text):
        if match.group(1) == "." and _ends_abbreviation(text, match.start()):
            continue
        cuts.append(match.end())
    cuts.sort()
    return cuts


def split_sentences(text: str) -> List[Span]:
    """Character spans ``(start, end)`` of the sentences of ``text``, without surrounding whitespace.

    >>> text = "It rained (see Fig. 2). Then J. Doe left!  \\n\\n  New paragraph"
    >>> [text[s:e] for s, e in split_sentences(text)]
    ['It rained (see Fig. 2).', 'Then J. Doe left!', 'New paragraph']
    >>> split_sentences(" \\n\\t")
    []
    """
    spans: List[Span] = []
    previous = 0
    for cut in _cut_points(text) + [len(text)]:
        piece = text[previous:cut]
        stripped = piece.lstrip(_SPACE_CHARS)
        if stripped:
            begin = previous + len(piece) - len(stripped)
            spans.append((begin, begin + len(stripped.rstrip(_SPACE_CHARS))))
        previous = cut
    return spans


def group_words(words: Sequence[Word], spans: Sequence[Span]) -> List[List[Word]]:
    """Words distributed over sentence spans (each word falls inside exactly one span); empty groups dropped.

    >>> group_words([("a", 0, 1), ("b", 3, 4)], [(0, 1), (3, 4)])
    [[('a', 0, 1)], [('b', 3, 4)]]
    """
    starts = [start for start, _ in spans]
    groups: List[List[Word]] = [[] for _ in spans]
    for word in words:
        groups[bisect.bisect_right(starts, word[1]) - 1].append(word)
    return [group for group in groups if group]


def tokenize_text(text: str) -> List[List[Word]]:
    """Sentences of ``text``, each a list of ``(word, start, end)``.

    >>> tokenize_text("Hi there. Bye")
    [[('Hi', 0, 2), ('there', 3, 8), ('.', 8, 9)], [('Bye', 10, 13)]]
    """
    return group_words(split_words(text), split_sentences(text))


_GLUED_RE = re.compile(f"[{_ATTACHED}\u200c\u200d]")  # never cut before these
_WORDISH_RE = re.compile(f"[{_WORD_CHAR}]")


def _soft_cut(word: str, index: int) -> bool:
    """May ``word`` be cut before ``word[index]``? Only next to punctuation, never inside a grapheme."""
    before, after = word[index - 1], word[index]
    if _GLUED_RE.match(after) or before == "\u200d":
        return False
    return not (_WORDISH_RE.match(before) and _WORDISH_RE.match(after))


def cut_words(words: Sequence[Word], cuts: Iterable[int]) -> List[Word]:
    """``words`` split again at the offsets in ``cuts`` that fall inside a word next to punctuation.

    Used where an annotation marks a boundary inside a word ("BRCA1-associated" with the entity "BRCA1",
    "tumour-suppressor" with the entity "tumour"). Each piece is re-tokenised with :func:`split_words`, so
    the hyphen becomes a word of its own. A cut between two letters or digits ("disorde|r", most likely an
    annotation slip) or one that would separate a character from its combining mark, variation selector
    or ZWJ is ignored: the caller sees that the boundary is still inside a word and decides what to do
    (BRAT extends the entity to the whole word and reports it, offset JSON reports an error).

    >>> cut_words(split_words("BRCA1-associated cancer"), [5, 20])
    [('BRCA1', 0, 5), ('-', 5, 6), ('associated', 6, 16), ('cancer', 17, 23)]
    """
    cut_list = sorted(set(cuts))
    if not cut_list:
        return list(words)
    result: List[Word] = []
    for word, start, end in words:
        low = bisect.bisect_right(cut_list, start)
        high = bisect.bisect_left(cut_list, end)
        inside = [cut for cut in cut_list[low:high] if _soft_cut(word, cut - start)]
        if not inside:
            result.append((word, start, end))
            continue
        bounds = [start] + inside + [end]
        for piece_start, piece_end in zip(bounds, bounds[1:]):
            result.extend(split_words(word[piece_start - start : piece_end - start], start=piece_start))
    return result
