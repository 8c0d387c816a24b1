"""Phone number normalisation for imports: E.164 as an integer, done once at import
so that nothing on the dial path parses a number again."""

from __future__ import annotations

import phonenumbers

from dialer.imports.source import RowError


class BadNumber(RowError):
    """The text is not a valid phone number; the message says why."""


def parse_lead_number(text: str, region: str) -> phonenumbers.PhoneNumber:
    """Parse and validate a lead's number (``region`` for national formats)."""
    raw = text.strip()
    if not raw:
        raise BadNumber("phone is empty")
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise BadNumber(f"cannot parse phone {raw!r}: {exc._msg}") from None
    if not phonenumbers.is_valid_number(num):
        raise BadNumber(f"phone {raw!r} is not a valid number")
    return num


def e164_int(num: phonenumbers.PhoneNumber) -> int:
    return int(f"{num.country_code}{num.national_number}")


_NANP_CC = {"US", "CA", "PR", "GU", "VI", "AS", "MP"}


def dnc_number(text: str, region: str) -> int:
    """A do-not-call entry as E.164 digits.

    Registry files hold bare national numbers (``2015550123``), so the common shapes
    are read without a full parse; anything else goes through phonenumbers. Validity
    is not required: an entry that matches no valid lead does no harm.
    """
    digits = text.strip()
    if digits.isdigit():
        if region in _NANP_CC and len(digits) == 10:
            return 10_000_000_000 + int(digits)
        if region in _NANP_CC and len(digits) == 11 and digits[0] == "1":
            return int(digits)
    if digits.startswith("+") and digits[1:].isdigit() and 8 <= len(digits) <= 16:
        return int(digits[1:])
    try:
        num = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException as exc:
        raise BadNumber(f"cannot parse phone {digits!r}: {exc._msg}") from None
    if not phonenumbers.is_possible_number(num):
        raise BadNumber(f"phone {digits!r} is not a possible number")
    return e164_int(num)
