"""The simulator's own record: what each call did, over AMI and ARI, bridges, a file
that survives SIGKILL, and the /_sim control API."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dialer.sim.probe import AmiProbe
from dialer.sim.record import SimRecord
from dialer.sim.record_reader import (
    Record,
    call_timelines,
    load_record,
    overfull_bridges,
    parse_record,
)
from dialer.sim.server import SimAsterisk
from tests.integration.test_sim_agents import KEY, Ari

CALLS = [("5550100", "human", "HUMAN", 16), ("5550104", "machine", "MACHINE", 16),
         ("5550106", "busy", None, 17), ("5550107", "no_answer", None, 19)]


def lines(sim: SimAsterisk) -> list[dict[str, Any]]:
    return [json.loads(line) for line in sim.record.lines]


def of_call(sim: SimAsterisk, call_id: str) -> list[dict[str, Any]]:
    return [r for r in lines(sim) if r.get("id") == call_id]


async def until(check: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def sim() -> AsyncIterator[SimAsterisk]:
    async with SimAsterisk(seed=4, speed=100).running() as s:
        yield s
        assert s.errors == []


@pytest.fixture
async def ari(sim: SimAsterisk) -> AsyncIterator[Ari]:
    async with aiohttp.ClientSession() as session:
        client = Ari(sim, session)
        ws = await session.ws_connect(sim.ari_url + "/events", params={"app": "dialer", **KEY})
        task = asyncio.get_running_loop().create_task(client.listen(ws))
        yield client
        await ws.close()
        await task


def expected_kinds(outcome: str) -> list[str]:
    answered = outcome in ("human", "machine")
    return ["originate", *(["answer", "amd"] if answered else []), "hangup"]


# ---- calls ------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "outcome", "amd", "cause"), CALLS)
async def test_an_ami_call_is_recorded_in_order(sim: SimAsterisk, number: str, outcome: str,
                                                amd: str | None, cause: int) -> None:
    probe = await AmiProbe.login(sim.host, sim.ami_port)
    probe.send(("Action", "Originate"), ("Channel", f"Local/{number}@carrier-sim"),
               ("Context", "dialer-amd"), ("Exten", "amd-event"), ("Async", "true"),
               ("Variable", "DIALER_HOLD=1,DIALER_ATTEMPT=att-1"), ("ActionID", "orig-1"))
    await probe.wait(lambda m: m.event == "Hangup" and m.get("Channel", "").endswith(";1"))
    await probe.close()
    origin = next(r for r in lines(sim) if r["kind"] == "originate")
    assert origin | {"t": 0} == {
        "t": 0, "kind": "originate", "id": origin["id"], "dial": f"Local/{number}@carrier-sim",
        "number": number, "via": "ami", "action_id": "orig-1", "attempt": "att-1",
        "agent": False, "outcome": outcome, "accepted": True, "reason": None}
    records = of_call(sim, origin["id"])
    assert [r["kind"] for r in records] == expected_kinds(outcome)
    assert [r["status"] for r in records if r["kind"] == "amd"] == ([amd] if amd else [])
    assert records[-1]["cause"] == cause
    assert all(r["number"] == number for r in records)


async def _ari_call(ari: Ari, number: str, outcome: str) -> None:
    await ari.call("POST", "/channels", endpoint=f"Local/{number}@carrier-sim", app="dialer",
                   channelId="c-1", otherChannelId="c-1;2", timeout="30")
    if outcome in ("busy", "no_answer"):
        await ari.wait("ChannelDestroyed", "c-1")
        return
    await ari.wait("StasisStart", "c-1")
    await ari.call("POST", "/channels/c-1/continue", context="dialer-amd",
                   extension="amd-stasis")
    await ari.wait("StasisStart", "c-1")
    await ari.call("DELETE", "/channels/c-1")


@pytest.mark.parametrize(("number", "outcome", "amd", "cause"), CALLS)
async def test_an_ari_call_is_recorded_in_order(sim: SimAsterisk, ari: Ari, number: str,
                                                outcome: str, amd: str | None,
                                                cause: int) -> None:
    await _ari_call(ari, number, outcome)
    await until(lambda: any(r["kind"] == "hangup" for r in of_call(sim, "c-1")))
    records = of_call(sim, "c-1")
    assert [r["kind"] for r in records] == expected_kinds(outcome)
    assert records[0]["via"] == "ari" and records[0]["action_id"] is None
    assert records[0]["outcome"] == outcome
    assert [r["status"] for r in records if r["kind"] == "amd"] == ([amd] if amd else [])
    assert records[-1]["cause"] == cause


async def test_refused_originates_are_recorded_as_not_accepted(sim: SimAsterisk,
                                                               ari: Ari) -> None:
    probe = await AmiProbe.login(sim.host, sim.ami_port)
    await probe.action("Originate", Channel="Dahdi/g1/5550100", Context="dialer-amd",
                       Exten="s", Async="true")
    await probe.action("Originate", Channel="Local/5550100@carrier-sim", Context="nowhere",
                       Exten="s", Async="true")
    await probe.close()
    await ari.call("POST", "/channels", endpoint="Local/5550101@carrier-sim", app="dialer",
                   channelId="dup", timeout="30")
    async with ari.session.post(ari.sim.ari_url + "/channels", params={
            "endpoint": "Local/5550102@carrier-sim", "app": "dialer", "channelId": "dup",
            **KEY}) as resp:
        assert resp.status == 409
    refused = [(r["dial"], r["reason"]) for r in lines(sim)
               if r["kind"] == "originate" and not r["accepted"]]
    assert refused == [("Dahdi/g1/5550100", "unknown technology"),
                       ("Local/5550100@carrier-sim",
                        "no extension 's' in context 'nowhere'"),
                       ("Local/5550102@carrier-sim", "channel id already exists")]


# ---- bridges ----------------------------------------------------------------------


async def _customer(ari: Ari, cid: str, number: str) -> None:
    """A human who answers and stays on the line (SIM_TALK) until hung up."""
    params = {"endpoint": f"Local/{number}@carrier-sim", "app": "dialer", "channelId": cid,
              **KEY}
    async with ari.session.post(ari.sim.ari_url + "/channels", params=params,
                                json={"variables": {"SIM_TALK": "3600"}}) as resp:
        assert resp.status == 200, await resp.text()
    await ari.wait("StasisStart", cid)


async def test_a_bridge_that_held_three_channels_is_flagged(sim: SimAsterisk,
                                                            ari: Ari) -> None:
    await ari.call("POST", "/channels", endpoint="PJSIP/agent1", app="dialer",
                   channelId="agent-1")
    await ari.wait("StasisStart", "agent-1")
    await ari.call("POST", "/bridges", bridgeId="hold-1", type="holding")
    await ari.call("POST", "/bridges/hold-1/addChannel", channel="agent-1")
    await _customer(ari, "cust-1", "5550100")
    await _customer(ari, "cust-2", "5550101")
    await ari.call("POST", "/bridges/hold-1/addChannel", channel="cust-1")
    await ari.call("POST", "/bridges/hold-1/play", media="sound:hello", playbackId="pb-1")
    await ari.call("POST", "/bridges/hold-1/addChannel", channel="cust-2")
    await ari.call("DELETE", "/bridges/hold-1")
    enters = [(r["id"], r["role"], r["count"]) for r in lines(sim)
              if r["kind"] == "bridge_enter"]
    assert enters == [("agent-1", "agent", 1), ("cust-1", "customer", 2),
                      ("cust-2", "customer", 3)]
    assert [r["peak"] for r in lines(sim) if r["kind"] == "bridge_destroy"] == [3]
    record = load_lines(sim)
    [flagged] = overfull_bridges(record)
    assert (flagged.bridge, flagged.peak) == ("hold-1", 3)
    assert dict(flagged.members) == {"agent-1": "agent", "cust-1": "customer",
                                     "cust-2": "customer"}
    calls = {c.id: c for c in call_timelines(record)}
    assert calls["cust-1"].agent_id == calls["cust-2"].agent_id == "agent-1"
    assert [p.playback for p in calls["cust-1"].plays] == ["pb-1"]
    assert calls["cust-2"].plays == ()


def load_lines(sim: SimAsterisk) -> Record:
    return parse_record("".join(sim.record.lines), "memory")


# ---- the file ---------------------------------------------------------------------


async def _start_sim(record: Path) -> tuple[asyncio.subprocess.Process, int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer", "sim", "--ami", "127.0.0.1:0", "--ari", "127.0.0.1:0",
        "--speed", "50", "--record", str(record), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
    m = re.search(r"AMI 127\.0\.0\.1:(\d+),.* control (http://\S+/_sim), record ", line)
    assert m, line
    return proc, int(m.group(1)), m.group(2)


async def _live_call(port: int, number: str, record: Path) -> None:
    probe = await AmiProbe.login("127.0.0.1", port)
    await probe.action("Originate", Channel=f"Local/{number}@carrier-sim",
                       Context="dialer-amd", Exten="amd-event", Async="true",
                       Variable="DIALER_HOLD=3600,SIM_TALK=3600")
    await probe.wait(lambda m: m.event == "UserEvent", timeout=10)
    await probe.close()
    await until(lambda: '"kind":"amd","id"' in record.read_text())


async def test_a_killed_simulator_leaves_a_readable_record_and_a_restart_appends(
        tmp_path: Path) -> None:
    path = tmp_path / "sim-record.jsonl"
    proc, port, _ = await _start_sim(path)
    await _live_call(port, "5550100", path)
    proc.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
    first = load_record(path)
    assert (first.runs, first.torn) == (1, ())
    with path.open("a") as f:
        f.write('{"t":1.5,"kind":"hang')  # as if the kill had cut a line short
    proc, port, _ = await _start_sim(path)
    await _live_call(port, "5550101", path)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    record = load_record(path)
    assert record.runs == 2
    assert len(record.torn) == 1
    one, two = call_timelines(record)
    assert (one.run, one.number, one.hangup) == (1, "5550100", None)
    assert one.lost is not None and one.amd is not None
    assert (two.run, two.number, two.amd and two.amd.status) == (2, "5550101", "HUMAN")
    assert two.lost is not None  # the stop line of SIGTERM


def test_opening_a_file_with_a_torn_last_line_starts_a_fresh_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"t":1.0,"kind":"sto')
    record = SimRecord()
    record.open(path)
    record.add("fault", name="drop_ami", count=0)
    record.close()
    assert path.read_text().splitlines()[1].startswith('{"t":')


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_failed_write_is_kept_and_recording_goes_on_in_memory() -> None:
    record = SimRecord()
    record.open("/dev/full")
    record.add("fault", name="drop_ami", count=0)
    record.add("fault", name="drop_ari", count=0)
    assert record.error is not None and "/dev/full" in str(record.error)
    assert record.next_index == 2


def test_a_record_file_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    with pytest.raises(OSError, match=r"simulator record .*missing"):
        SimRecord().open(tmp_path / "missing" / "r.jsonl")


# ---- the control API --------------------------------------------------------------


async def test_control_endpoints_need_the_ari_credentials(sim: SimAsterisk) -> None:
    url = sim.control_url + "/state"
    basic = "Basic " + base64.b64encode(b"dialer:dialer-secret").decode()
    async with aiohttp.ClientSession() as http:
        for params, headers, status in [({}, {}, 401), ({"api_key": "dialer:wrong"}, {}, 401),
                                        (KEY, {}, 200), ({}, {"Authorization": basic}, 200)]:
            async with http.get(url, params=params, headers=headers) as resp:
                assert resp.status == status
        async with http.post(sim.control_url + "/faults/restart") as resp:
            assert resp.status == 401
        async with http.get(sim.control_url + "/record") as resp:
            assert resp.status == 401


async def _control(http: aiohttp.ClientSession, sim: SimAsterisk, method: str, path: str,
                   **params: str) -> tuple[int, Any]:
    async with http.request(method, sim.control_url + path, params={**params, **KEY}) as resp:
        body = await resp.json() if resp.content_type == "application/json" else (
            resp.headers.copy(), await resp.text())
        return resp.status, body


async def test_control_state_shows_live_channels_and_bridges(sim: SimAsterisk,
                                                             ari: Ari) -> None:
    await ari.call("POST", "/channels", endpoint="PJSIP/agent2", app="dialer", channelId="a2")
    await ari.wait("StasisStart", "a2")
    await ari.call("POST", "/bridges", bridgeId="b-2", type="holding")
    await ari.call("POST", "/bridges/b-2/addChannel", channel="a2")
    async with aiohttp.ClientSession() as http:
        status, state = await _control(http, sim, "GET", "/state")
    assert status == 200
    assert [(c["id"], c["role"], c["bridge"], c["number"]) for c in state["channels"]] == [
        ("a2", "agent", "b-2", "agent2")]
    assert state["bridges"] == [{"id": "b-2", "type": "holding", "peak": 1,
                                 "members": [{"id": "a2", "role": "agent"}]}]


async def test_control_record_reads_from_an_index(sim: SimAsterisk) -> None:
    async with aiohttp.ClientSession() as http:
        status, (headers, text) = await _control(http, sim, "GET", "/record")
        assert status == 200
        assert [json.loads(x)["kind"] for x in text.splitlines()] == ["start"]
        assert (headers["X-Sim-Record-First"], headers["X-Sim-Record-Next"]) == ("0", "1")
        sim.drop_ami()
        _, (headers, text) = await _control(http, sim, "GET", "/record", since="1")
        assert [json.loads(x)["name"] for x in text.splitlines()] == ["drop_ami"]
        assert headers["X-Sim-Record-Next"] == "2"
        status, body = await _control(http, sim, "GET", "/record", since="-1")
        assert status == 400 and "since" in body["message"]


async def test_control_faults_act_and_are_recorded(sim: SimAsterisk, ari: Ari) -> None:
    probe = await AmiProbe.login(sim.host, sim.ami_port)
    await _customer(ari, "live-1", "5550100")
    async with aiohttp.ClientSession() as http:
        assert await _control(http, sim, "POST", "/faults/drop-ami") == (
            200, {"fault": "drop-ami", "dropped": 1})
        assert await _control(http, sim, "POST", "/faults/drop-ari") == (
            200, {"fault": "drop-ari", "dropped": 1})
        assert await _control(http, sim, "POST", "/faults/restart") == (
            200, {"fault": "restart", "lost_channels": 2, "lost_bridges": 0})
        assert await _control(http, sim, "POST", "/faults/refuse", on="false") == (
            200, {"fault": "refuse", "on": False})
    await probe.read_until_closed(2.0)
    assert probe.closed
    await probe.close()
    faults = [r["name"] for r in lines(sim) if r["kind"] == "fault"]
    assert faults == ["drop_ami", "drop_ari", "restart", "refuse"]
    assert [r["lost_channels"] for r in lines(sim) if r["kind"] == "restart"] == [2]
    [call] = call_timelines(load_lines(sim))
    assert call.lost is not None and call.hangup is None


async def test_control_stall_holds_ari_but_not_the_control_api(sim: SimAsterisk) -> None:
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        assert await _control(http, sim, "POST", "/faults/stall", seconds="0.4") == (
            200, {"fault": "stall", "seconds": 0.4})
        start = loop.time()
        status, _ = await _control(http, sim, "GET", "/state")
        assert status == 200 and loop.time() - start < 0.3
        async with http.get(sim.ari_url + "/asterisk/ping", params=KEY) as resp:
            assert resp.status == 200
        assert loop.time() - start >= 0.3
        for bad in ("-1", "nan", "x", "4000"):
            status, body = await _control(http, sim, "POST", "/faults/stall", seconds=bad)
            assert status == 400 and "seconds" in body["message"]


async def test_control_unknown_paths_and_methods_are_refused(sim: SimAsterisk) -> None:
    async with aiohttp.ClientSession() as http:
        status, body = await _control(http, sim, "GET", "/faults/nothing")
        assert status == 404 and "/_sim/faults/nothing" in body["message"]
        status, body = await _control(http, sim, "GET", "/faults/restart")
        assert status == 405 and "POST" in body["message"]
        async with http.get(f"http://{sim.ari_host}:{sim.ari_port}/_simx/state",
                            params=KEY) as resp:
            assert resp.status == 404  # outside /ari and /_sim: Asterisk's own 404
