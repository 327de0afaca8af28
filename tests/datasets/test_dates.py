"""Tests of the built-in date-normalisation corpus."""

import datetime
import re

import pytest

from keras_seq.datasets import DATE_FORMATS
from keras_seq.datasets import format_date
from keras_seq.datasets import generate_dates
from keras_seq.datasets import load_dates
from keras_seq.text import WordTokenizer

MONTHS = [
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
]  # fmt: skip
WEEKDAYS = [
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday",
]  # fmt: skip


def parse_source(source):
    """Independent reading of a source date; returns (date, weekday|None).

    Written from the documented conventions: numeric dates are D/M/Y or
    Y/M/D with a 4-digit year; two-digit years only occur with a month name
    and map 50..99 -> 19xx, 00..49 -> 20xx.
    """
    text = source.lower()
    weekday = None
    for i, name in enumerate(WEEKDAYS):
        match = re.search(rf"\b({name}|{name[:3]})\b", text)
        if match:
            weekday = i
            text = text[: match.start()] + text[match.end() :]
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"\b(the|of)\b", " ", text).strip(" ,")
    numeric = re.fullmatch(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})", text)
    if numeric:
        year, month, day = map(int, numeric.groups())
        return datetime.date(year, month, day), weekday
    numeric = re.fullmatch(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})", text)
    if numeric:
        day, _, month, year = numeric.groups()
        return datetime.date(int(year), int(month), int(day)), weekday
    month = None
    for i, name in enumerate(MONTHS):
        if re.search(rf"\b({name}|{name[:3]})\b", text):
            assert month is None, source
            month = i + 1
    assert month is not None, f"no month in {source!r}"
    numbers = re.findall(r"\d+", text)
    assert len(numbers) == 2, source
    four_digit = [n for n in numbers if len(n) == 4]
    if four_digit:
        year = int(four_digit[0])
        day = int([n for n in numbers if n != four_digit[0]][0])
    else:
        day, short_year = int(numbers[0]), int(numbers[1])
        year = 1900 + short_year if short_year >= 50 else 2000 + short_year
    return datetime.date(year, month, day), weekday


def test_every_target_is_the_date_the_source_denotes():
    pairs = generate_dates(3000, seed=3)
    assert len(pairs) == 3000
    with_weekday = 0
    for source, target in pairs:
        date = datetime.date.fromisoformat(target)
        assert date.isoformat() == target
        assert datetime.date(1950, 1, 1) <= date <= datetime.date(2049, 12, 31)
        parsed, weekday = parse_source(source)
        assert parsed == date, (source, target)
        if weekday is not None:
            with_weekday += 1
            assert weekday == date.weekday(), (source, target)
    assert with_weekday > 100


def test_every_format_and_known_examples():
    date = datetime.date(2026, 11, 25)  # a Wednesday
    written = {format_date(date, template) for template in DATE_FORMATS}
    for expected in [
        "25 November 2026",
        "Nov 25, 26",
        "25/11/2026",
        "Wednesday, November 25th 2026",
        "25.11.2026",
        "November 25th, 2026",
        "2026 Nov 25",
    ]:
        assert expected in written
    for template in DATE_FORMATS:
        for day in [datetime.date(1950, 1, 1), datetime.date(2049, 12, 31),
                    datetime.date(2001, 2, 3), date]:  # fmt: skip
            assert parse_source(format_date(day, template))[0] == day
    # Month-first numeric dates are never produced.
    assert "11/25/2026" not in written


def test_ordinals():
    days = {
        1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th",
        13: "13th", 21: "21st", 22: "22nd", 23: "23rd", 31: "31st",
    }  # fmt: skip
    for day, ordinal in days.items():
        text = format_date(datetime.date(2020, 1, day), "{do}")
        assert text == ordinal


def test_deterministic():
    assert generate_dates(200, seed=7) == generate_dates(200, seed=7)
    assert generate_dates(200, seed=7) != generate_dates(200, seed=8)
    assert load_dates(300, 50, 50, seed=1) == load_dates(300, 50, 50, seed=1)


def test_splits_have_disjoint_days():
    splits = load_dates(num_train=5000, num_val=1000, num_test=1000, seed=0)
    assert {k: len(v) for k, v in splits.items()} == {
        "train": 5000,
        "val": 1000,
        "test": 1000,
    }
    days = {k: {t for _, t in v} for k, v in splits.items()}
    assert not days["train"] & days["val"]
    assert not days["train"] & days["test"]
    assert not days["val"] & days["test"]


def test_target_tokenization():
    # Glued tokens carry the joiner, so the ISO date detokenizes as written.
    tokenizer = WordTokenizer.from_corpus(["2026-11-25"])
    ids = tokenizer.tokenize(["2026-11-25"])[0].numpy()
    assert [tokenizer.id_to_token(i) for i in ids] == [
        "2026", "￭-", "￭11", "￭-", "￭25",
    ]  # fmt: skip
    assert tokenizer.detokenize(ids).numpy() == b"2026-11-25"


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_examples=-1"):
        generate_dates(-1)
    with pytest.raises(ValueError, match="num_val=1.5"):
        load_dates(num_val=1.5)
    with pytest.raises(ValueError, match="held_out_fraction"):
        load_dates(held_out_fraction=0.6)
