"""EPCS PIN rules, kept free of Flask and SQLAlchemy so forms, views and tests share one source.

A PIN guards the second factor for signing controlled-substance prescriptions,
so guessable PINs (leading zero, one repeated digit, a run of four) are refused.
Input is never stripped or normalised: what the user typed is exactly what is
checked, so a PIN that looks like "1234" but is not ASCII cannot sneak through.
"""

from collections.abc import Callable
from typing import NamedTuple

PIN_LENGTH = 4

MSG_FORMAT = "Your PIN must be exactly 4 digits (0–9)."
MSG_LEADING_ZERO = "Your PIN cannot begin with 0."
MSG_REPEATED = "Your PIN cannot repeat one digit (like 1111)."
MSG_SEQUENCE = "Your PIN cannot be a sequence (like 1234 or 4321)."
MSG_MISMATCH = "The two PINs do not match."
MSG_SAME_AS_CURRENT = "Your new PIN must be different from your current PIN."

# An explicit set: str.isdigit(), str.isdecimal() and regex \d all accept
# non-ASCII digits such as full-width '１' or Arabic-Indic '١'.
_ASCII_DIGITS = frozenset("0123456789")

# Runs wrap past 9 in both directions (7890, 9012, 0987, 2109 are all runs).
_DIGIT_CYCLE = "0123456789" + "0123456789"[: PIN_LENGTH - 1]
_ASCENDING = frozenset(_DIGIT_CYCLE[i : i + PIN_LENGTH] for i in range(10))
_SEQUENCES = _ASCENDING | frozenset(run[::-1] for run in _ASCENDING)


class PinRule(NamedTuple):
    """One rule: ``is_broken(pin)`` is True when ``pin`` breaks it."""

    message: str
    is_broken: Callable[[str], bool]


def _not_four_ascii_digits(pin: str) -> bool:
    return len(pin) != PIN_LENGTH or not all(ch in _ASCII_DIGITS for ch in pin)


def _begins_with_zero(pin: str) -> bool:
    return pin.startswith("0")


def _one_digit_repeated(pin: str) -> bool:
    return len(set(pin)) == 1


def _is_sequence(pin: str) -> bool:
    return pin in _SEQUENCES


# Rules that depend on the PIN alone, in the order they are reported.
# Each predicate is safe on any string, but is only meaningful once the
# earlier rules pass.
PIN_RULES: tuple[PinRule, ...] = (
    PinRule(MSG_FORMAT, _not_four_ascii_digits),
    PinRule(MSG_LEADING_ZERO, _begins_with_zero),
    PinRule(MSG_REPEATED, _one_digit_repeated),
    PinRule(MSG_SEQUENCE, _is_sequence),
)


def is_acceptable_first_pin(pin: str) -> bool:
    """True when ``pin`` passes every rule in ``PIN_RULES``."""
    return not any(rule.is_broken(pin) for rule in PIN_RULES)


def pin_problem(
    pin: str,
    confirm: str | None = None,
    current_pin_check: Callable[[str], bool] | None = None,
) -> str | None:
    """Return the message of the first rule ``pin`` breaks, or None if it is acceptable.

    ``confirm`` is compared only when given. ``current_pin_check`` should return
    True when its argument equals the stored PIN; it runs last so a slow hash
    check is spent only on a PIN that would otherwise be accepted.
    """
    for rule in PIN_RULES:
        if rule.is_broken(pin):
            return rule.message
    if confirm is not None and confirm != pin:
        return MSG_MISMATCH
    if current_pin_check is not None and current_pin_check(pin):
        return MSG_SAME_AS_CURRENT
    return None
