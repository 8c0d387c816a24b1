"""The FastAGI guard as Asterisk sees it: when the engine's server does not list the
Asterisk host, the connection is closed at once, no hook runs, and the dialplan carries
on (Asterisk 22.10.1 reports AGISTATUS=SUCCESS for a session the server closed before
any command, as for one closed after its commands); when it does, the hook runs."""

from __future__ import annotations

import pytest

from dialer.adapters.agi.server import AgiSession, FastAgiServer
from dialer.testing.asterisk import RealAsterisk
from tests.real.conftest import PhoneFactory
from tests.real.observer import AmiWitness
from tests.real.stack import until

pytestmark = pytest.mark.real_asterisk


async def agi_status_after_star55(asterisk: RealAsterisk, phones: PhoneFactory,
                                  witness: AmiWitness, allowed: list[str]
                                  ) -> tuple[str, int, int]:
    """Dial *55 from agent1 with a FastAGI server that allows ``allowed``: the
    AGISTATUS the dialplan saw, the sessions that reached the hook, the peers refused."""
    reached: list[AgiSession] = []

    async def login(session: AgiSession) -> None:
        reached.append(session)

    server = FastAgiServer({"agent-login": login}, host="127.0.0.1",
                           port=asterisk.ports.agi, allowed_hosts=allowed)
    async with server:
        [phone] = await phones("agent1")
        await phone.dial(f"sip:*55@127.0.0.1:{asterisk.ports.sip}")
        await until(lambda: bool(witness.find("VarSet", Variable="AGISTATUS")), 10,
                    "AGISTATUS set by the *55 dialplan")
    [(_, varset)] = witness.find("VarSet", Variable="AGISTATUS")
    return varset["Value"], len(reached), server.stats["refused"]


@pytest.mark.timeout(40)
async def test_asterisk_not_in_allowed_hosts_is_refused_before_any_hook_runs(
        asterisk: RealAsterisk, phones: PhoneFactory, ami_witness: AmiWitness) -> None:
    status, sessions, refused = await agi_status_after_star55(asterisk, phones, ami_witness,
                                                              ["10.99.0.0/16"])
    assert (sessions, refused) == (0, 1)
    assert status == "SUCCESS"


@pytest.mark.timeout(40)
async def test_asterisk_in_allowed_hosts_reaches_the_hook(
        asterisk: RealAsterisk, phones: PhoneFactory, ami_witness: AmiWitness) -> None:
    status, sessions, refused = await agi_status_after_star55(asterisk, phones, ami_witness,
                                                              ["127.0.0.0/8"])
    assert (status, sessions, refused) == ("SUCCESS", 1, 0)
