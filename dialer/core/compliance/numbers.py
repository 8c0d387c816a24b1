"""What is known about a number once, at lead import: validity, country, zones, state.

``number_facts`` does the heavy work (phonenumbers) and belongs to lead import;
``lead_facts`` rebuilds the same facts from a lead row's stored columns, cheaply, on the
dial path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import geocoder, timezone

from dialer.core.compliance.places import STATE_ZONES, state_from_description, zip_state

_UNKNOWN_ZONE = "Etc/Unknown"


@dataclass(frozen=True, slots=True)
class NumberFacts:
    """``e164`` as digits (0 when unparseable); ``time_zones`` empty when invalid."""

    e164: int
    valid: bool
    country: str | None
    time_zones: tuple[str, ...]
    state: str | None


def parse_e164(number: int | str, region: str) -> phonenumbers.PhoneNumber | None:
    text = f"+{number}" if isinstance(number, int) else number.strip()
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def number_facts(e164: int | str, region: str, state: str | None = None,
                 zip: str | None = None) -> NumberFacts:
    """Facts for a lead: the lead's state (or its ZIP's) wins over the area code."""
    parsed = parse_e164(e164, region)
    if parsed is None:
        return NumberFacts(0, False, None, (), None)
    digits = int(f"{parsed.country_code}{parsed.national_number}")
    if not phonenumbers.is_valid_number_for_region(parsed, region.upper()):
        return NumberFacts(digits, False, phonenumbers.region_code_for_number(parsed), (), None)
    own = normal_state(state) or zip_state(zip)
    zones = STATE_ZONES.get(own, ()) if own else ()
    return NumberFacts(digits, True, region.upper(), zones or _number_zones(parsed),
                       own or _number_state(parsed))


def lead_facts(phone: int, region: str, state: str | None,
               time_zones: tuple[str, ...] | list[str]) -> NumberFacts:
    """Facts from a lead row whose ``time_zones`` were computed at import (empty: invalid)."""
    zones = tuple(time_zones)
    own = normal_state(state) or (_npa_state(phone) if region.upper() == "US" else None)
    return NumberFacts(phone, bool(zones), region.upper() if zones else None, zones, own)


def normal_state(state: str | None) -> str | None:
    """``fl`` -> ``FL``; None or blank -> None; ValueError for an unknown code."""
    if state is None or not state.strip():
        return None
    code = state.strip().upper()
    if code not in STATE_ZONES:
        raise ValueError(f"unknown US state code {state!r}")
    return code


def _number_zones(parsed: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    zones = tuple(z for z in timezone.time_zones_for_number(parsed) if z != _UNKNOWN_ZONE)
    return zones


def _number_state(parsed: phonenumbers.PhoneNumber) -> str | None:
    if parsed.country_code != 1:
        return None
    return state_from_description(geocoder.description_for_number(parsed, "en"))


def _npa_state(phone: int) -> str | None:
    """The state of a NANP number's area code (cached per area code)."""
    return _area_state(phone // 10_000_000) if phone // 10**10 == 1 else None


@lru_cache(maxsize=1024)
def _area_state(area: int) -> str | None:
    parsed = parse_e164(f"+{area}5550100", "US")
    return _number_state(parsed) if parsed is not None else None
