"""The engine as the HTTP API sees it: the :class:`ControlPort` of `dialer.api.ports`.

Campaign and pacing changes are checked against the legal bounds of the campaign's
region, applied to the running dialer at once and stored in the database.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import phonenumbers

from dialer.api import ports as p
from dialer.campaigns import US_MAX_CONNECT, US_MIN_RING, CampaignDef
from dialer.core.pacing import make_pacer
from dialer.runtime.control_agents import AgentControl
from dialer.runtime.recent import ALL
from dialer.store import attempts as attempt_store
from dialer.store import campaigns as campaign_store

if TYPE_CHECKING:
    from dialer.app import DialerApp
    from dialer.runtime.dialing import CampaignDialer

ACTION_STATUS: dict[str, p.CampaignState] = {"start": "active", "pause": "paused",
                                             "stop": "stopped"}
LEGAL = {"US": (0.03, US_MAX_CONNECT, US_MIN_RING), "CA": (0.05, 2.0, 15.0)}


class EngineControl(AgentControl):
    """Implements the API's port over a running :class:`DialerApp`."""

    def __init__(self, app: DialerApp) -> None:
        super().__init__(app)

    # ---------------------------------------------------------------- campaigns

    def _dialer(self, campaign: str) -> CampaignDialer:
        dialer = self.parts.dialers.get(campaign)
        if dialer is None:
            raise p.NotFound("campaign", campaign)
        return dialer

    def _info(self, d: CampaignDialer) -> p.CampaignInfo:
        engine = self.parts.service.engine
        logged_in = sum(1 for a in d.agents() if a.state.value != "logged_out")
        return p.CampaignInfo(d.setup.name, _state(d.setup.status), d.setup.definition.mode,
                              d.setup.rules.region, logged_in,
                              len(engine.in_flight(d.setup.name)))

    async def list_campaigns(self) -> tuple[p.CampaignInfo, ...]:
        return tuple(self._info(d) for d in self.parts.dialers.values())

    async def campaign_action(self, campaign: str, action: p.CampaignAction) -> p.CampaignInfo:
        dialer = self._dialer(campaign)
        status = ACTION_STATUS[action]
        await campaign_store.set_status(self.parts.pool, campaign, status)
        dialer.setup.status = status
        dialer.wake.set()
        return self._info(dialer)

    # ---------------------------------------------------------------- pacing

    async def get_pacing(self, campaign: str) -> p.PacingSettings:
        return _pacing(self._dialer(campaign).setup.definition,
                       self._dialer(campaign).setup.rules.abandon_target)

    async def set_pacing(self, campaign: str, update: p.PacingUpdate) -> p.PacingSettings:
        dialer = self._dialer(campaign)
        _check_legal(dialer.setup.rules.region, update)
        definition, target = _apply(dialer.setup.definition, update,
                                    dialer.setup.rules.abandon_target)
        rules = dataclasses.replace(dialer.setup.rules, abandon_target=target)
        dialer.setup = dataclasses.replace(dialer.setup, definition=definition, rules=rules)
        dialer.policy = dialer.setup.policy()
        if update.mode is not None or update.abandon_target is not None \
                or update.power_ratio is not None:
            dialer.broadcast = definition.mode == "broadcast"
            dialer.pacer = make_pacer("progressive" if dialer.broadcast else definition.mode,
                                      limit=float(target or 0.03),
                                      power_ratio=definition.pacing.power_ratio)
        await campaign_store.create(self.parts.pool, definition, update=True)
        return _pacing(definition, target)

    # ---------------------------------------------------------------- status

    async def status(self) -> p.StatusSnapshot:
        engine = self.parts.service.engine
        recent = self.app.recent
        return p.StatusSnapshot(
            at=datetime.now(UTC),
            campaigns=tuple(self._campaign_status(d) for d in self.parts.dialers.values()),
            agents=engine.agents_by_state(), outcomes_15m=recent.counts(f"outcome:{ALL}"),
            compliance_blocks=recent.counts("block"), calls_in_flight=len(engine.calls))

    def _campaign_status(self, d: CampaignDialer) -> p.CampaignStatus:
        target = float(d.setup.rules.abandon_target or 0.03)
        windows = (("rolling_30d", d.ledgers.window), ("calendar_day", d.ledgers.today))
        abandon = tuple(p.AbandonWindow(name, led.rate, target, led.live, led.abandoned)
                        for name, led in windows)
        last = d.stats.last
        engine = self.parts.service.engine
        return p.CampaignStatus(d.setup.name, _state(d.setup.status), d.setup.definition.mode,
                                last.dial_level if last else 0.0,
                                len(engine.in_flight(d.setup.name)), abandon,
                                engine.agents_by_state(d.setup.name),
                                self.app.recent.counts(f"outcome:{d.setup.name}"))

    async def readiness(self) -> p.Readiness:
        tel = self.parts.tel
        connected = tel.connected if tel else {}
        ami = connected.get("ami", False) or not self.app.cfg.ami.enabled
        keeper = self.parts.keeper
        parts = {"db": bool(self.parts.writer.db_up), "ami": bool(ami),
                 "ari": bool(connected.get("ari", False)),
                 "filter": bool(self.parts.compliance.ready()),
                 "in_step": keeper is not None and keeper.recovered.is_set()}
        detail = {k: f"{k} is down" for k, up in parts.items() if not up}
        return p.Readiness(**parts, detail=detail)

    # ---------------------------------------------------------------- lookups

    async def attempt(self, attempt_id: str) -> p.AttemptInfo:
        try:
            row = await attempt_store.attempt(self.parts.pool, attempt_id)
        except ValueError:
            row = None
        if row is None:
            raise p.NotFound("attempt", attempt_id)
        return _attempt_info(row)

    async def add_optout(self, phone: str, campaign: str | None, source: str
                         ) -> p.OptOutResult:
        region = self.parts.dialers[campaign].setup.rules.region \
            if campaign in self.parts.dialers else self.app.cfg.imports.default_region
        try:
            num = phonenumbers.parse(phone, region)
        except phonenumbers.NumberParseException as exc:
            raise p.InvalidSetting("phone", f"cannot parse {phone!r}: {exc}") from None
        if not phonenumbers.is_possible_number(num):
            raise p.InvalidSetting("phone", f"{phone!r} is not a possible phone number")
        e164 = int(f"{num.country_code}{num.national_number}")
        await self.parts.compliance.add_opt_out(e164, "api", reason=f"api: {source}")
        return p.OptOutResult(f"+{e164}", "internal", True)


def _attempt_info(row: dict[str, Any]) -> p.AttemptInfo:
    return p.AttemptInfo(
        id=row["id"], campaign=row["campaign_name"], phone=f"+{row['phone']}",
        created_at=row["created_at"], outcome=row["outcome"],
        verdict=_verdict(row["compliance"], row["originated_at"]), agent=row["agent_name"],
        answered_at=row["answered_at"], bridged_at=row["bridged_at"],
        ended_at=row["ended_at"], amd_status=row["amd_status"],
        hangup_cause=row["hangup_cause"])


def _state(status: str) -> p.CampaignState:
    return status if status in ("active", "paused", "stopped") else "paused"  # type: ignore[return-value]


def _pacing(d: CampaignDef, target: float | None) -> p.PacingSettings:
    return p.PacingSettings(d.mode, float(target or 0.03), float(d.connect_deadline),
                            float(d.ring_timeout), d.pacing.max_dial_level, d.pacing.power_ratio)


def _check_legal(region: str, u: p.PacingUpdate) -> None:
    max_target, max_connect, min_ring = LEGAL.get(region, LEGAL["US"])
    if u.abandon_target is not None and u.abandon_target > max_target:
        raise p.InvalidSetting("abandon_target", f"at most {max_target} in {region}")
    if u.connect_deadline_s is not None and u.connect_deadline_s > max_connect:
        raise p.InvalidSetting("connect_deadline_s", f"at most {max_connect:g} s in {region}")
    if u.ring_timeout_s is not None and u.ring_timeout_s < min_ring:
        raise p.InvalidSetting("ring_timeout_s", f"at least {min_ring:g} s in {region}")
    if u.mode is not None and u.mode not in p.PACING_MODES:
        raise p.InvalidSetting("mode", f"one of {', '.join(p.PACING_MODES)}")


def _apply(d: CampaignDef, u: p.PacingUpdate, target: float | None
           ) -> tuple[CampaignDef, float | None]:
    pacing = dataclasses.replace(
        d.pacing, **{k: v for k, v in (("max_dial_level", u.max_dial_level),
                                       ("power_ratio", u.power_ratio)) if v is not None})
    changes: dict[str, Any] = {"pacing": pacing}
    if u.mode is not None:
        changes["mode"] = u.mode
    if u.connect_deadline_s is not None:
        changes["connect_deadline"] = u.connect_deadline_s
    if u.ring_timeout_s is not None:
        changes["ring_timeout"] = u.ring_timeout_s
    if u.abandon_target is not None:
        target = u.abandon_target
        changes["compliance"] = {**d.compliance, "abandon_target": target}
    return dataclasses.replace(d, **changes), target


def _verdict(compliance: Any, at: datetime | None) -> p.Verdict:
    data = compliance if isinstance(compliance, dict) else json.loads(compliance or "{}")
    details = tuple(p.VerdictDetail(d.get("reason", ""), d.get("message", ""), d.get("ref"))
                    for d in data.get("details", ()))
    return p.Verdict(bool(data.get("allowed", True)), tuple(data.get("reasons", ())), details,
                     at)

