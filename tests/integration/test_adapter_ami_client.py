"""The AMI client over real sockets against a small fake Asterisk that answers with the
recorded bytes (tests/fixtures/adapters/ami-*-recv.raw)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from dialer.adapters.ami import actions
from dialer.adapters.ami import events as ev
from dialer.adapters.ami.client import (
    AmiClient,
    AmiConfig,
    AmiConnectionLost,
    AmiDuplicateOriginate,
    AmiLoginError,
    AmiNotConnected,
    ClientEvent,
)
from dialer.adapters.ami.protocol import Message, Parser, parse_stream
from dialer.adapters.backoff import Backoff, Connected, Disconnected

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"
SECRET = "dialer-secret"
CHALLENGE = "104456034"


def recorded(name: str) -> list[Message]:
    return parse_stream((FIXTURES / name).read_bytes())


LOGIN_OK = recorded("ami-00-login-ok-ping-logoff-recv.raw")
LOGIN_BAD = recorded("ami-01-login-bad-password-recv.raw")
MD5 = recorded("ami-02-login-md5-challenge-recv.raw")
BUSY = recorded("ami-16-originate-5550106-busy-recv.raw")


def with_id(msg: Message, action_id: str) -> Message:
    return Message(tuple((k, action_id if k == "ActionID" else v) for k, v in msg.headers))


def find(msgs: list[Message], **match: str) -> Message:
    return next(m for m in msgs if all(m.get(k) == v for k, v in match.items()))


class RecordingBackoff(Backoff):
    def __init__(self, initial: float, maximum: float, jitter: float) -> None:
        super().__init__(initial=initial, maximum=maximum, jitter=jitter)
        self.delays: list[float] = []

    def delay(self) -> float:
        self.delays.append(super().delay())
        return self.delays[-1]


class FakeAmi:
    """Speaks AMI from recorded messages; records every action of every connection."""

    def __init__(self) -> None:
        self.sessions: list[list[Message]] = []
        self.originate = "queue"
        self.answer_ping = True
        self.answer_login = True
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> FakeAmi:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        self.drop_all()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.server.wait_closed()

    def drop_all(self) -> None:
        for writer in self._writers:
            writer.close()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        seen: list[Message] = []
        self.sessions.append(seen)
        writer.write(LOGIN_OK[0].to_bytes())
        parser = Parser()
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                for msg in parser.feed(data):
                    seen.append(msg)
                    if not await self._answer(msg, writer):
                        writer.close()
                        return
        writer.close()

    async def _answer(self, msg: Message, writer: asyncio.StreamWriter) -> bool:
        aid = msg.action_id or ""
        name = (msg.action or "").lower()
        handler = getattr(self, f"_on_{name}", None)
        if handler is None:
            writer.write(Message.of(("Response", "Error"), ("ActionID", aid),
                                    ("Message", "Invalid/unknown command")).to_bytes())
            return True
        replies, keep = await handler(msg, aid)
        writer.write(b"".join(m.to_bytes() for m in replies))
        return bool(keep)

    async def _on_login(self, msg: Message, aid: str) -> tuple[list[Message], bool]:
        if not self.answer_login:
            return [], True
        key = hashlib.md5((CHALLENGE + SECRET).encode()).hexdigest()
        if msg.get("Secret") == SECRET or msg.get("Key") == key:
            return [with_id(LOGIN_OK[1], aid), LOGIN_OK[2], LOGIN_OK[3]], True
        await asyncio.sleep(0.05)
        return [with_id(find(LOGIN_BAD, ActionID="login-bad"), aid)], False

    async def _on_challenge(self, msg: Message, aid: str) -> tuple[list[Message], bool]:
        return [with_id(find(MD5, ActionID="chal-1"), aid)], True

    async def _on_ping(self, msg: Message, aid: str) -> tuple[list[Message], bool]:
        if not self.answer_ping:
            return [], True
        return [with_id(find(LOGIN_OK, ActionID="ping-1"), aid)], True

    async def _on_logoff(self, msg: Message, aid: str) -> tuple[list[Message], bool]:
        return [with_id(find(LOGIN_OK, ActionID="logoff-1"), aid)], False

    async def _on_originate(self, msg: Message, aid: str) -> tuple[list[Message], bool]:
        if self.originate == "silent":
            return [], True
        if self.originate == "drop":
            return [], False
        start = BUSY.index(find(BUSY, ActionID="orig-5550106"))
        tail = BUSY[start:] if self.originate == "busy" else BUSY[start:start + 1]
        return [with_id(m, aid) if m.action_id else m for m in tail], True

    async def _on_coreshowchannels(self, msg: Message, aid: str
                                   ) -> tuple[list[Message], bool]:
        item = [("Event", "CoreShowChannel"), ("ActionID", aid),
                ("Channel", "Local/5550101@carrier-sim-0000000d;1"), ("ChannelState", "6"),
                ("ChannelStateDesc", "Up"), ("Context", "dialer-amd"), ("Exten", "s"),
                ("Uniqueid", "1795863461.26"), ("Linkedid", "1795863461.26"),
                ("Application", "Wait"), ("ApplicationData", "120"),
                ("Duration", "00:01:09"), ("BridgeId", "")]
        return [Message.of(("Response", "Success"), ("ActionID", aid),
                           ("EventList", "start"), ("Message", "Channels will follow")),
                Message.of(("Event", "Hangup"), ("Channel", "Local/broken;1")),
                Message.of(("Event", "Newstate"), ("Channel", "Local/x;1"),
                           ("ChannelState", "6"), ("ChannelStateDesc", "Up"),
                           ("Uniqueid", "1.1"), ("Linkedid", "1.1")),
                Message(tuple(item)),
                Message.of(("Event", "CoreShowChannelsComplete"), ("ActionID", aid),
                           ("EventList", "Complete"), ("ListItems", "1"))], True


def config(port: int, **kw: object) -> AmiConfig:
    base: dict[str, object] = dict(port=port, secret=SECRET, ping_interval=30.0,
                                   backoff_initial=0.01, backoff_max=0.05)
    base.update(kw)
    return AmiConfig(**base)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(client: AmiClient) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(client.run())
    try:
        yield task
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)


async def next_of(stream: AsyncIterator[ClientEvent], kind: type, timeout: float = 3.0
                  ) -> ClientEvent:
    async with asyncio.timeout(timeout):
        async for item in stream:
            if isinstance(item, kind):
                return item
    raise AssertionError(f"stream ended before a {kind.__name__}")


def request() -> actions.OriginateRequest:
    return actions.OriginateRequest(attempt_id=uuid.uuid4(), channel="Local/5550106@carrier-sim",
                                    context="dialer-amd", exten="s")


async def test_plain_login_connects_and_delivers_typed_events() -> None:
    async with FakeAmi() as fake:
        client = AmiClient(config(fake.port, auth="plain"))
        async with running(client):
            stream = client.events()
            assert isinstance(await next_of(stream, Connected), Connected)
            booted = await next_of(stream, ev.FullyBooted)
            assert booted == ev.FullyBooted(status="Fully Booted")
        login = fake.sessions[0][0]
        assert (login["Action"], login["Username"], login["Secret"]) == ("Login", "dialer",
                                                                         SECRET)


async def test_md5_login_answers_the_challenge_without_sending_the_secret() -> None:
    async with FakeAmi() as fake:
        client = AmiClient(config(fake.port, auth="md5"))
        async with running(client):
            await client.wait_connected(3)
        challenge, login = fake.sessions[0][:2]
        assert challenge["Action"] == "Challenge" and challenge["AuthType"] == "MD5"
        assert login["Key"] == hashlib.md5((CHALLENGE + SECRET).encode()).hexdigest()
        assert "Secret" not in login


async def test_refused_login_raises_and_is_not_retried() -> None:
    async with FakeAmi() as fake:
        client = AmiClient(config(fake.port, auth="plain", secret="wrong-secret"))
        with pytest.raises(AmiLoginError, match="Authentication failed"):
            await asyncio.wait_for(client.run(), 5)
        assert len(fake.sessions) == 1


async def test_send_while_disconnected_fails_at_once_and_sends_nothing() -> None:
    client = AmiClient(config(1))
    with pytest.raises(AmiNotConnected, match="Originate not sent"):
        await client.originate(request())


async def test_dropped_connection_fails_the_pending_future() -> None:
    async with FakeAmi() as fake:
        fake.originate = "drop"
        client = AmiClient(config(fake.port))
        async with running(client):
            await client.wait_connected(3)
            with pytest.raises(AmiConnectionLost, match="Originate"):
                await asyncio.wait_for(client.originate(request()), 3)
            assert client.pending_count == 0


async def test_originate_pending_at_disconnect_is_not_resent_after_reconnect() -> None:
    async with FakeAmi() as fake:
        fake.originate = "silent"
        client = AmiClient(config(fake.port))
        async with running(client):
            stream = client.events()
            await next_of(stream, Connected)
            pending = asyncio.create_task(client.originate(request()))
            while not any(m.action == "Originate" for m in fake.sessions[0]):
                await asyncio.sleep(0.005)
            fake.drop_all()
            with pytest.raises(AmiConnectionLost):
                await asyncio.wait_for(pending, 3)
            assert isinstance(await next_of(stream, Disconnected), Disconnected)
            again = await next_of(stream, Connected)
            assert isinstance(again, Connected) and again.session == 2
            await client.send(actions.ping())
        assert len(fake.sessions) == 2
        assert [m.action for m in fake.sessions[1]] == ["Challenge", "Login", "Ping", "Logoff"]


async def test_unanswered_ping_forces_a_reconnect() -> None:
    async with FakeAmi() as fake:
        fake.answer_ping = False
        client = AmiClient(config(fake.port, ping_interval=0.05, ping_timeout=0.1))
        async with running(client):
            stream = client.events()
            await next_of(stream, Connected)
            lost = await next_of(stream, Disconnected)
            assert isinstance(lost, Disconnected) and "AmiPingTimeout" in lost.reason
            again = await next_of(stream, Connected)
            assert isinstance(again, Connected) and again.session == 2


async def test_reconnect_backs_off_exponentially_up_to_the_bound() -> None:
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        backoff = RecordingBackoff(initial=0.01, maximum=0.04, jitter=0.0)
        client = AmiClient(config(port), backoff=backoff)
        async with running(client):
            while len(backoff.delays) < 5:
                await asyncio.sleep(0.01)
        assert backoff.delays[:5] == [0.01, 0.02, 0.04, 0.04, 0.04]


async def test_backoff_restarts_from_initial_after_a_good_session() -> None:
    async with FakeAmi() as fake:
        backoff = RecordingBackoff(initial=0.01, maximum=1.0, jitter=0.0)
        client = AmiClient(config(fake.port), backoff=backoff)
        async with running(client):
            stream = client.events()
            for _ in range(3):
                await next_of(stream, Connected)
                fake.drop_all()
            await next_of(stream, Connected)
        assert backoff.delays[:3] == [0.01, 0.01, 0.01]


async def test_busy_originate_is_queued_then_reported_with_its_action_id() -> None:
    async with FakeAmi() as fake:
        fake.originate = "busy"
        client = AmiClient(config(fake.port))
        req = request()
        async with running(client):
            stream = client.events()
            await next_of(stream, Connected)
            reply = await client.originate(req)
            assert reply.success and reply.message == "Originate successfully queued"
            outcome = await next_of(stream, ev.OriginateResponse)
            assert isinstance(outcome, ev.OriginateResponse)
            assert actions.attempt_from_action_id(outcome.action_id) == req.attempt_id
            assert outcome.reason is ev.OriginateReason.BUSY
            hangup = await next_of(stream, ev.Hangup)
            assert isinstance(hangup, ev.Hangup) and hangup.cause == 0
        sent = next(m for m in fake.sessions[0] if m.action == "Originate")
        assert sent["Async"] == "true" and sent["ChannelId"] == str(req.attempt_id)


async def test_list_action_collects_its_items_while_other_events_flow_on() -> None:
    async with FakeAmi() as fake:
        client = AmiClient(config(fake.port))
        async with running(client):
            stream = client.events()
            await next_of(stream, Connected)
            reply = await client.send(actions.core_show_channels())
            broken = await next_of(stream, ev.OtherEvent)
            while isinstance(broken, ev.OtherEvent) and broken.name == "SuccessfulAuth":
                broken = await next_of(stream, ev.OtherEvent)
            state = await next_of(stream, ev.Newstate)
        assert reply.success and len(reply.items) == 1
        (item,) = reply.items
        assert isinstance(item, ev.CoreShowChannel) and item.duration == 69
        assert isinstance(broken, ev.OtherEvent) and broken.name == "Hangup"
        assert isinstance(state, ev.Newstate) and state.state_desc == "Up"


async def test_channels_lists_live_channels_for_reconciliation() -> None:
    async with FakeAmi() as fake:
        client = AmiClient(config(fake.port))
        async with running(client):
            await client.wait_connected(3)
            (channel,) = await client.channels()
        assert channel.channel.endswith(";1") and channel.application == "Wait"


async def test_error_response_is_returned_not_raised() -> None:
    async with FakeAmi() as fake:
        client = AmiClient(config(fake.port))
        async with running(client):
            await client.wait_connected(3)
            reply = await client.send(actions.Action("NoSuchAction"))
        assert not reply.success and reply.status == "Error"


async def test_secret_never_appears_in_logs() -> None:
    async with FakeAmi() as fake:
        with capture_logs() as logs:
            client = AmiClient(config(fake.port, auth="plain"))
            async with running(client):
                await client.wait_connected(3)
                fake.drop_all()
                await asyncio.sleep(0.05)
    assert logs and SECRET not in repr(logs)
    assert SECRET not in repr(client.config)


async def test_close_logs_off_and_ends_the_event_stream() -> None:
    async with FakeAmi() as fake:
        client = AmiClient(config(fake.port))
        async with running(client):
            await client.wait_connected(3)
        assert fake.sessions[0][-1].action == "Logoff"
        remaining = [e async for e in client.events()]
        assert isinstance(remaining[-1], Disconnected)


async def test_close_during_an_unanswered_login_stops_the_client() -> None:
    async with FakeAmi() as fake:
        fake.answer_login = False
        client = AmiClient(config(fake.port, login_timeout=30.0))
        task = asyncio.create_task(client.run())
        while not any(m.action == "Login" for s in fake.sessions for m in s):
            await asyncio.sleep(0.005)
        await client.close()
        await asyncio.wait_for(task, 2)
        assert not client.connected and client.pending_count == 0


async def test_a_second_originate_for_the_same_attempt_is_refused_even_after_reconnect(
        ) -> None:
    async with FakeAmi() as fake:
        client = AmiClient(config(fake.port))
        req = request()
        async with running(client):
            stream = client.events()
            await next_of(stream, Connected)
            await client.originate(req)
            fake.drop_all()
            await next_of(stream, Disconnected)
            await next_of(stream, Connected)
            with pytest.raises(AmiDuplicateOriginate, match=str(req.attempt_id)):
                await client.originate(req)
        originates = [m for s in fake.sessions for m in s if m.action == "Originate"]
        assert len(originates) == 1
