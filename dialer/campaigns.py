"""Campaign definitions: a YAML file per campaign, validated into a frozen
:class:`CampaignDef`, stored in the `campaigns` table by `dialer campaign create`.

The compliance keys (region, brand, call_type, calling hours, caps, abandonment...) are
parsed by the compliance rules (`dialer.core.compliance`), which refuse anything looser
than the law unless `override: true` is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from dialer.core.errors import ConfigError
from dialer.schema import Located, Seconds, build, load_yaml, load_yaml_file, setting

US_MIN_RING = 15.0   # 47 CFR 64.1200(a)(6)
US_MAX_CONNECT = 2.0  # 47 CFR 64.1200(a)(7)
Mode = Literal["preview", "progressive", "power", "predictive", "broadcast"]


@dataclass(frozen=True)
class RetryRules:
    busy: Seconds = setting(Seconds(600), doc="retry a busy number after", min=60)
    no_answer: Seconds = setting(Seconds(7200), doc="retry an unanswered number after", min=60)
    congestion: Seconds = setting(Seconds(1800), doc="retry after network congestion", min=60)
    failed: Seconds = setting(Seconds(3600), doc="retry after a failed originate", min=60)
    machine: Seconds = setting(Seconds(14400), doc="retry an answering machine after", min=60)
    answer_hangup: Seconds = setting(Seconds(3600), doc="retry a hang-up during AMD after",
                                     min=60)
    abandoned: Seconds = setting(Seconds(259200), doc="retry an abandoned call after", min=60)
    lost: Seconds = setting(Seconds(3600), doc="retry a call cut off by a crash or an "
                            "Asterisk restart after", min=60)
    max_attempts: int = setting(5, doc="attempts per lead before it is done", min=1, max=100)


@dataclass(frozen=True)
class Recordings:
    safe_harbor: str = setting("dialer/safe-harbor", doc="played when no agent is free: "
                               "names the seller and offers the opt-out key")
    machine_message: str | None = setting(None, doc="left on answering machines")
    broadcast: str | None = setting(None, doc="broadcast mode message for humans")
    press1_prompt: str | None = setting(None, doc="broadcast: 'press 1 to speak to someone'")
    optout_confirm: str = setting("dialer/optout-confirmed", doc="after the opt-out key")


@dataclass(frozen=True)
class AmdSettings:
    enabled: bool = setting(True, doc="run AMD in the dialplan before connecting")
    machine_action: Literal["hangup", "message"] = setting(
        "hangup", doc="on a machine: hang up, or wait for the beep and play the message")
    greeting_wait: Seconds = setting(Seconds(12), doc="message mode: longest wait for the "
                                     "end of a machine's greeting", min=1, max=60)
    report: Literal["stasis", "agi"] = setting(
        "stasis", doc="how the dialplan reports AMD: Stasis args, or the FastAGI hook first")


@dataclass(frozen=True)
class PacingSettings:
    power_ratio: float = setting(2.0, doc="power mode: calls per ready agent", min=1.0, max=5.0)
    max_dial_level: float = setting(5.0, doc="ceiling on calls in flight per agent",
                                    min=1.0, max=20.0)
    broadcast_lines: int = setting(10, doc="broadcast mode: calls kept in flight",
                                   min=1, max=10_000)
    max_cps: float = setting(50.0, doc="most calls placed per second (the trunk's limit)",
                             min=0.1, max=10_000)


@dataclass(frozen=True)
class CampaignDef:
    name: str = setting(doc="unique name", pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
    mode: Mode = setting(doc="pacing mode")
    caller_id: str = setting(doc="E.164 caller ID a callee can call back",
                             pattern=r"\+[1-9]\d{6,14}")
    dial_template: str = setting("PJSIP/{number}@carrier", doc="dial string; {number} is "
                                 "the E.164 number without +", pattern=r".*\{number\}.*")
    originate_via: Literal["ami", "ari"] = setting("ami", doc="protocol used to originate")
    ring_timeout: Seconds = setting(Seconds(20), doc="ring before giving up (US: >= 15 s)",
                                    min=5, max=120)
    connect_deadline: Seconds = setting(Seconds(2), doc="live answer to agent, else safe "
                                        "harbor (US: <= 2 s)", min=0.5, max=10)
    optout_key: str = setting("9", doc="DTMF key that opts out", pattern=r"[0-9*#]")
    optout_wait: Seconds = setting(Seconds(3), doc="after a message that offers the opt-out "
                                   "key, keep listening this long before hanging up",
                                   min=0, max=30)
    press1_key: str | None = setting(None, doc="broadcast: key that reaches an agent",
                                     pattern=r"[0-9*#]")
    wrapup_max: Seconds | None = setting(None, doc="overrides engine.wrapup_max", min=1)
    amd: AmdSettings = setting(AmdSettings, doc="answering machine detection")
    retry: RetryRules = setting(RetryRules, doc="retry delays per outcome")
    recordings: Recordings = setting(Recordings, doc="sound files (Asterisk names)")
    pacing: PacingSettings = setting(PacingSettings, doc="pacer settings")
    compliance: Mapping[str, Any] = setting(dict, doc="compliance keys, see docs/compliance.md")

    @property
    def region(self) -> str:
        return str(self.compliance.get("region", "US"))

    def to_json(self) -> str:
        data = asdict(self)
        data["compliance"] = dict(self.compliance)
        return json.dumps(data, default=str, sort_keys=True)


def _compliance_keys() -> frozenset[str]:
    from dialer.core import compliance

    return frozenset(getattr(compliance, "COMPLIANCE_KEYS", ()))


def _split(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = _compliance_keys()
    own = {k: v for k, v in raw.items() if k not in keys}
    rules = {k: v for k, v in raw.items() if k in keys}
    return own, rules


def _check_rules(rules: dict[str, Any], where: str) -> None:
    from dialer.core import compliance

    parse = getattr(compliance, "parse_campaign_rules", None)
    if parse is not None:
        parse(rules, where)


def _legal_floor(camp: CampaignDef) -> None:
    if camp.region != "US" or camp.compliance.get("override") is True:
        return
    if camp.ring_timeout < US_MIN_RING:
        raise ConfigError("ring_timeout", f"must be at least {US_MIN_RING:g} s for a US "
                          f"campaign (47 CFR 64.1200(a)(6)), got {camp.ring_timeout:g}")
    if camp.connect_deadline > US_MAX_CONNECT:
        raise ConfigError("connect_deadline", f"must be at most {US_MAX_CONNECT:g} s for a US "
                          f"campaign (47 CFR 64.1200(a)(7)), got {camp.connect_deadline:g}")


def campaign_from_mapping(raw: Any, where: str = "") -> CampaignDef:
    """Validate one campaign mapping (path prefix ``where`` for error messages)."""
    if not isinstance(raw, dict):
        raise ConfigError(where or "(top)", f"expected a campaign mapping, got {raw!r}")
    own, rules = _split(raw)
    prefix = f"{where}." if where else ""
    if "compliance" in own:
        raise ConfigError(prefix + "compliance", "unknown key (compliance keys such as "
                          "calling_hours go at the top level of the campaign)")
    _check_rules(rules, where)
    camp = build(CampaignDef, {**own, "compliance": rules} if rules else own, where)
    try:
        _legal_floor(camp)
    except ConfigError as err:
        raise ConfigError(prefix + err.path, err.message) from None
    return camp


def _from_located(located: Located) -> CampaignDef:
    try:
        return campaign_from_mapping(located.data)
    except ConfigError as err:
        raise located.locate(err) from None


def parse_campaign(text: str, source: str | None = None) -> CampaignDef:
    return _from_located(load_yaml(text, source))


def load_campaign(path: str | Path) -> CampaignDef:
    return _from_located(load_yaml_file(path))
