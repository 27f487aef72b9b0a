"""The word tokeniser and sentence splitter: documented rules, offsets, Unicode, and properties."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit.words import cut_words, is_space, split_sentences, split_words, tokenize_text


def words_of(text):
    return [word for word, _, _ in split_words(text)]


def sentences_of(text):
    return [text[start:end] for start, end in split_sentences(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        # accents, precomposed and with combining marks (NFD), and a script with vowel signs
        ("Café naïve", ["Café", "naïve"]),
        ("Cafe\u0301 nai\u0308ve", ["Cafe\u0301", "nai\u0308ve"]),
        ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),
        # whitespace of every kind separates and is never part of a word
        ("a  b\tc\u00a0d\u200be\ufefff\ng\u2003h", list("abcdefgh")),
        # abbreviations keep their period, a single initial does not
        ("Dr. Mrs. vs. etc. Inc.", ["Dr.", "Mrs.", "vs.", "etc.", "Inc."]),
        ("U.S. e.g. a.m. U.S.A.", ["U.S.", "e.g.", "a.m.", "U.S.A."]),
        ("J. Doe had type A.", ["J", ".", "Doe", "had", "type", "A", "."]),
        ("Drs. Nov.", ["Drs", ".", "Nov", "."]),
        # numbers
        ("3.5 1,000 -3 50% $5", ["3.5", "1,000", "-", "3", "50", "%", "$", "5"]),
        ("in 1999. Then", ["in", "1999", ".", "Then"]),
        # hyphens and dashes
        ("e-mail GSK-3beta well- -/- -- ...", ["e-mail", "GSK-3beta", "well", "-", "-", "/", "-", "--", "..."]),
        # apostrophes and clitics, straight and curly
        ("don't can't it's O'Neil rock'n'roll", ["do", "n't", "ca", "n't", "it", "'s", "O'Neil", "rock'n'roll"]),
        ("We\u2019re the players' 's", ["We", "\u2019re", "the", "players", "'", "'s"]),
        # periods inside words only before lower case or digits
        ("end.The e.coli www.example.org", ["end", ".", "The", "e.coli", "www.example.org"]),
        # punctuation is one word per character
        ('"Hi!?" (x)', ['"', "Hi", "!", "?", '"', "(", "x", ")"]),
    ],
)
def test_split_words_rules(text, expected):
    assert words_of(text) == expected


@pytest.mark.parametrize(
    "emoji",
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # family: ZWJ sequence
        "\U0001f44d\U0001f3fd",  # thumbs up, skin tone
        "\u2764\ufe0f",  # heart with variation selector
        "1\ufe0f\u20e3",  # keycap
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland: tag sequence
        "\U0001f1eb\U0001f1f7",  # flag: regional indicator pair
    ],
)
def test_emoji_sequence_is_one_word(emoji):
    text = f"ok {emoji}!"
    assert split_words(text) == [("ok", 0, 2), (emoji, 3, 3 + len(emoji)), ("!", 3 + len(emoji), 4 + len(emoji))]


def test_adjacent_flags_and_emoji_are_separate_words():
    assert words_of("\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea") == ["\U0001f1eb\U0001f1f7", "\U0001f1e9\U0001f1ea"]
    assert words_of("\U0001f600\U0001f600x") == ["\U0001f600", "\U0001f600", "x"]


def test_offsets_are_exact_and_shifted_by_start():
    text = "  Ada\u00a0Lovelace's\tnotes (1843)\u200b! "
    words = split_words(text)
    assert all(text[start:end] == word for word, start, end in words)
    assert words[:3] == [("Ada", 2, 5), ("Lovelace", 6, 14), ("'s", 14, 16)]
    assert split_words("Ada", start=100) == [("Ada", 100, 103)]


def test_whitespace_only_text():
    assert split_words(" \t\n\u00a0\u200b\ufeff") == []
    assert split_sentences(" \t\n\u00a0\u200b\ufeff") == []
    assert split_sentences("") == [] and tokenize_text("") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("It rained. Then it stopped.", ["It rained.", "Then it stopped."]),
        ("Really?! Yes.", ["Really?!", "Yes."]),
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        ("It rained (a lot.) Next one.", ["It rained (a lot.)", "Next one."]),
        ("It was 1999. 2000 came.", ["It was 1999.", "2000 came."]),
        ('Done. "Quoted start."', ["Done.", '"Quoted start."']),
        ("Wait... Then it came.", ["Wait...", "Then it came."]),
        # no split before lower case, inside numbers, or without whitespace
        ("It rained. then stopped.", ["It rained. then stopped."]),
        ("Version 3.5 and v.2 Ok.Next", ["Version 3.5 and v.2 Ok.Next"]),
        # abbreviations and initials
        ("Mr. Smith and Dr. Jones met Prof. Lee.", ["Mr. Smith and Dr. Jones met Prof. Lee."]),
        ("Smith et al. Reported it, e.g. Here, i.e. There.", ["Smith et al. Reported it, e.g. Here, i.e. There."]),
        ("See Fig. 2 and No. 5 by J. R. Doe of Acme Inc. Ltd. Co. Next.", ["See Fig. 2 and No. 5 by J. R. Doe of Acme Inc. Ltd. Co. Next."]),
        ("vs. Them etc. The U.S. Army", ["vs. Them etc. The U.S. Army"]),
        # every line break ends a sentence; blank lines too
        ("A title without a period\nThe abstract starts here.", ["A title without a period", "The abstract starts here."]),
        ("one\n\n\n  two  \r\nthree", ["one", "two", "three"]),
    ],
)
def test_split_sentences_rules(text, expected):
    assert sentences_of(text) == expected


def test_sentence_spans_exclude_surrounding_whitespace():
    text = "  \u00a0First one.   Second one.\u200b \n"
    assert split_sentences(text) == [(3, 13), (16, 27)]


def test_tokenize_text_groups_words_by_sentence():
    text = "Ada wrote.\nBob read it!"
    assert tokenize_text(text) == [
        [("Ada", 0, 3), ("wrote", 4, 9), (".", 9, 10)],
        [("Bob", 11, 14), ("read", 15, 19), ("it", 20, 22), ("!", 22, 23)],
    ]


def test_cut_words_cuts_next_to_punctuation_only():
    text = "BRCA1-associated tumour-suppressor disorder"
    words = split_words(text)
    cut = cut_words(words, [5, 23, 41])  # after BRCA1, after tumour, inside "disorder" (between two letters)
    assert [w for w, _, _ in cut] == ["BRCA1", "-", "associated", "tumour", "-", "suppressor", "disorder"]
    assert all(text[s:e] == w for w, s, e in cut)
    assert cut_words(words, []) == words
    assert cut_words(words, [0, 16, len(text)]) == words  # word edges are no cuts


def test_cut_words_never_splits_a_grapheme():
    text = "Cafe\u0301-x \U0001f468\u200d\U0001f469"
    words = split_words(text)
    assert cut_words(words, [4, 8, 9]) == words  # before the combining mark, before and after the ZWJ
    assert [w for w, _, _ in cut_words(words, [5])] == ["Cafe\u0301", "-", "x", "\U0001f468\u200d\U0001f469"]


def test_fast_on_a_corpus_sized_text():
    paragraph = (
        "Mutations in the BRCA1 gene (e.g. 185delAG) cause hereditary breast-ovarian cancer in ~5% of U.S. "
        "families. Dr. Smith et al. reported 3.5-fold risks!\nA Title Line\n"
    )
    text = paragraph * (750_000 // len(paragraph))
    began = time.perf_counter()
    sentences = tokenize_text(text)
    elapsed = time.perf_counter() - began
    assert len(sentences) == 3 * (750_000 // len(paragraph))
    assert elapsed < 2.0, f"tokenising 750k characters took {elapsed:.2f} s"


# Texts that mix the characters the rules care about, plus anything at all.
_tricky = st.sampled_from(
    list("aZé9_ .,;'’-!?\"()[]\n\t\r") + ["\u00a0", "\u200b", "\ufeff", "\u200d", "\u0301", "\ufe0f", "\U0001f468",
    "\U0001f1eb", "\U0001f3fd", "\U000e0067", "Dr.", "U.S.", "e.g.", "n't", "'s", "...", "--", "3.5", "1,0"]
)
texts = st.one_of(st.text(), st.lists(_tricky, max_size=40).map("".join))


@settings(max_examples=400, deadline=None)
@given(texts)
def test_word_properties(text):
    words = split_words(text)
    owner = [0] * len(text)
    previous_end = 0
    for word, start, end in words:
        assert word and text[start:end] == word
        assert start >= previous_end, "words overlap or go backwards"
        assert not any(is_space(character) for character in word)
        previous_end = end
        for index in range(start, end):
            owner[index] += 1
    for index, character in enumerate(text):
        assert owner[index] == (0 if is_space(character) else 1), (index, character)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_sentence_properties(text):
    spans = split_sentences(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end
        assert not is_space(text[start]) and not is_space(text[end - 1])
        previous_end = end
    for _, start, end in split_words(text):
        assert sum(1 for s, e in spans if s <= start and end <= e) == 1
    assert [word for sentence in tokenize_text(text) for word in sentence] == split_words(text)


@settings(max_examples=300, deadline=None)
@given(texts, st.lists(st.integers(min_value=0, max_value=60), max_size=6))
def test_cut_words_properties(text, cuts):
    words = split_words(text)
    cut = cut_words(words, cuts)
    assert all(w and text[s:e] == w for w, s, e in cut)
    # the same characters are covered, and every old word edge is still a word edge
    assert sorted(i for _, s, e in cut for i in range(s, e)) == sorted(i for _, s, e in words for i in range(s, e))
    edges = {s for _, s, _ in cut} | {e for _, _, e in cut}
    assert all(s in edges and e in edges for _, s, e in words)
