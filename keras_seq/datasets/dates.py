"""A built-in, seeded date-normalisation corpus (free text -> ISO 8601).

Every example pairs a date written in one of many human formats with its
ISO form, e.g. ("wednesday, november 25th 2026", "2026-11-25"). It is the
classic small task for attentional seq2seq: short sequences, a learnable
alignment (day, month and year move around) and an exactly checkable
answer.

Conventions (they make every target decidable):

- Dates lie in `MIN_DATE`..`MAX_DATE` (1950-01-01 .. 2049-12-31).
- Two-digit years are read in that window: 50..99 -> 1950..1999,
  00..49 -> 2000..2049. They appear only next to a month *name*
  ("Nov 25, 26"), never in all-numeric dates.
- All-numeric dates are day-month-year ("25/11/2026", "25.11.2026",
  "25-11-2026") or year-month-day ("2026/11/25"); month-first numeric dates
  ("11/25/2026") are never produced since "05/04/2026" would be ambiguous.
- A weekday in the source is always the real weekday of the date.

The targets tokenize (e.g. with `keras_seq.text.WordTokenizer`) to
"2026", "-", "11", "-", "25".
"""

import datetime
import random

from keras_seq.validation import check_int

MIN_DATE = datetime.date(1950, 1, 1)
MAX_DATE = datetime.date(2049, 12, 31)

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_WEEKDAYS = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
]


def _ordinal(day):
    if 11 <= day % 100 <= 13:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _fields(date):
    month = _MONTHS[date.month - 1]
    weekday = _WEEKDAYS[date.weekday()]
    return {
        "d": str(date.day),
        "dd": f"{date.day:02d}",
        "do": _ordinal(date.day),
        "m": str(date.month),
        "mm": f"{date.month:02d}",
        "month": month,
        "mon": month[:3],
        "yyyy": f"{date.year:04d}",
        "yy": f"{date.year % 100:02d}",
        "weekday": weekday,
        "wkd": weekday[:3],
    }


# Surface formats, as `str.format` templates over `_fields`.
DATE_FORMATS = (
    "{d} {month} {yyyy}",
    "{dd} {month} {yyyy}",
    "{month} {d}, {yyyy}",
    "{month} {do}, {yyyy}",
    "{month} {do} {yyyy}",
    "{mon} {d}, {yy}",
    "{mon} {d}, {yyyy}",
    "{mon}. {d}, {yyyy}",
    "{d} {mon} {yy}",
    "{d} {mon} {yyyy}",
    "{dd}-{mon}-{yyyy}",
    "{d}-{mon}-{yy}",
    "{yyyy} {mon} {d}",
    "{yyyy} {month} {do}",
    "the {do} of {month} {yyyy}",
    "{do} {month} {yyyy}",
    "{weekday}, {month} {do} {yyyy}",
    "{weekday}, {d} {month} {yyyy}",
    "{weekday} {do} {month}, {yyyy}",
    "{wkd} {d} {mon} {yyyy}",
    "{wkd}, {mon} {d}, {yy}",
    "{dd}/{mm}/{yyyy}",
    "{d}/{m}/{yyyy}",
    "{dd}.{mm}.{yyyy}",
    "{d}.{m}.{yyyy}",
    "{dd}-{mm}-{yyyy}",
    "{yyyy}/{mm}/{dd}",
    "{yyyy}.{m}.{d}",
)

_CASINGS = (str.lower, str.lower, lambda s: s, str.upper)


def format_date(date, template, casing=None):
    """Writes `date` with one of `DATE_FORMATS` (optionally re-cased)."""
    text = template.format(**_fields(date))
    return casing(text) if casing is not None else text


def _examples_from_days(days, num_examples, rng):
    examples = []
    for _ in range(num_examples):
        date = days[rng.randrange(len(days))]
        template = DATE_FORMATS[rng.randrange(len(DATE_FORMATS))]
        casing = _CASINGS[rng.randrange(len(_CASINGS))]
        examples.append((format_date(date, template, casing), date.isoformat()))
    return examples


def _all_days():
    count = (MAX_DATE - MIN_DATE).days + 1
    return [MIN_DATE + datetime.timedelta(days=i) for i in range(count)]


def generate_dates(num_examples, seed=0):
    """Generates `(source, target)` date pairs, deterministically.

    Dates are uniform over `MIN_DATE`..`MAX_DATE`, each written with a
    random format of `DATE_FORMATS` and a random casing (lower, as is, or
    upper).

    Args:
        num_examples: int >= 0.
        seed: int, the random seed; the same seed gives the same list.

    Returns:
        list of `(source, target)` str tuples, target in ISO "YYYY-MM-DD".
    """
    num_examples = check_int("num_examples", num_examples, minimum=0)
    rng = random.Random(seed)
    return _examples_from_days(_all_days(), num_examples, rng)


def load_dates(
    num_train=20000,
    num_val=1000,
    num_test=1000,
    seed=0,
    held_out_fraction=0.1,
):
    """Train/validation/test splits whose calendar days are disjoint.

    The 36,525 days of the range are shuffled with `seed`; the first
    `held_out_fraction` of them are validation days, the next
    `held_out_fraction` test days and the rest training days. Each split
    samples its examples (with repetition of days, not necessarily of
    surface forms) from its own days only, so a model evaluated on `val`
    or `test` has never seen those dates in any format.

    Args:
        num_train, num_val, num_test: ints >= 0, examples per split.
        seed: int random seed.
        held_out_fraction: float in (0, 0.5), the share of days reserved for
            each of validation and test.

    Returns:
        dict with keys "train", "val", "test", each a list of
        `(source, target)` str tuples.
    """
    num_train = check_int("num_train", num_train, minimum=0)
    num_val = check_int("num_val", num_val, minimum=0)
    num_test = check_int("num_test", num_test, minimum=0)
    if not isinstance(held_out_fraction, float) or not (
        0.0 < held_out_fraction < 0.5
    ):
        raise ValueError(
            "`held_out_fraction` must be a float in (0, 0.5). Received: "
            f"held_out_fraction={held_out_fraction!r}"
        )
    rng = random.Random(seed)
    days = _all_days()
    rng.shuffle(days)
    num_held_out = int(len(days) * held_out_fraction)
    val_days = sorted(days[:num_held_out])
    test_days = sorted(days[num_held_out : 2 * num_held_out])
    train_days = sorted(days[2 * num_held_out :])
    return {
        "train": _examples_from_days(
            train_days, num_train, random.Random(f"{seed}-train")
        ),
        "val": _examples_from_days(
            val_days, num_val, random.Random(f"{seed}-val")
        ),
        "test": _examples_from_days(
            test_days, num_test, random.Random(f"{seed}-test")
        ),
    }
