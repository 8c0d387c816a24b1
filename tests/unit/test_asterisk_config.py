"""The Asterisk configuration in `asterisk-config/`, checked statically: it is parsed
here (sections, templates, `key = value`, `exten =>`/`same =>`) and held against the
engine's defaults, the contract between engine and dialplan, the simulator's
last-digit mapping and the reference traces."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from dialer.campaigns import CampaignDef, Recordings
from dialer.config import Config
from dialer.sim.model import DigitModel, Outcome

CONF = Path(__file__).resolve().parents[2] / "asterisk-config"
AGI_TARGET = re.compile(r"^agi://\$\{DIALER_AGI\}/[a-z-]+(,|$)")
GOTO_APPS = {"goto": "goto", "gosub": "goto", "gotoif": "if", "gosubif": "if"}
TERMINAL = {"hangup", "busy", "congestion", "return", "stasis"}


# ---------------------------------------------------------------- the parser

@dataclass
class Section:
    name: str
    template: bool = False
    parents: tuple[str, ...] = ()
    items: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        return next((v for k, v in reversed(self.items) if k == key), None)

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.items if k == key]


def _strip_comment(line: str) -> str:
    return re.sub(r"(?<!\\);.*", "", line).strip()


def parse_conf(path: Path) -> list[Section]:
    """Sections in file order; a template's items are copied into its children."""
    sections: list[Section] = []
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = _strip_comment(raw)
        if not line:
            continue
        head = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line)
        if head:
            opts = [o.strip() for o in (head.group(2) or "").split(",") if o.strip()]
            parents = tuple(o for o in opts if o != "!")
            inherited = [i for s in sections if s.name in parents for i in s.items]
            sections.append(Section(head.group(1), "!" in opts, parents, inherited))
            continue
        pair = re.fullmatch(r"([^=]+?)\s*=>?\s*(.*)", line)
        assert pair and sections, f"{path.name}:{lineno}: cannot parse {raw!r}"
        sections[-1].items.append((pair.group(1).strip().lower(), pair.group(2).strip()))
    return sections


def concrete(path: Path) -> dict[str, list[Section]]:
    out: dict[str, list[Section]] = {}
    for s in parse_conf(path):
        if not s.template:
            out.setdefault(s.name, []).append(s)
    return out


@dataclass(frozen=True)
class Step:
    priority: int
    label: str | None
    app: str
    data: str


Dialplan = dict[str, dict[str, list[Step]]]


def _step(prio: str, last: int, body: str) -> Step:
    m = re.fullmatch(r"(n|\d+)(?:\((\w+)\))?", prio)
    assert m, f"bad priority {prio!r}"
    number = last + 1 if m.group(1) == "n" else int(m.group(1))
    app, _, data = body.partition("(")
    return Step(number, m.group(2), app.strip(), data[:-1] if data.endswith(")") else data)


def parse_dialplan(path: Path) -> tuple[Dialplan, dict[str, str]]:
    plan: Dialplan = {}
    glob: dict[str, str] = {}
    for sec in parse_conf(path):
        if sec.name in ("general", "globals"):
            glob.update({k.upper(): v for k, v in sec.items if sec.name == "globals"})
            continue
        extens = plan.setdefault(sec.name, {})
        exten = ""
        for key, value in sec.items:
            if key == "exten":
                exten, prio, body = value.split(",", 2)
            else:
                assert key == "same", f"[{sec.name}] unexpected {key!r}"
                prio, body = value.split(",", 1)
            steps = extens.setdefault(exten, [])
            steps.append(_step(prio, steps[-1].priority if steps else 0, body))
    return plan, glob


@pytest.fixture(scope="module")
def dialplan() -> tuple[Dialplan, dict[str, str]]:
    return parse_dialplan(CONF / "extensions.conf")


# ---------------------------------------------------------------- dialplan helpers

def pattern_regex(exten: str) -> re.Pattern[str]:
    if not exten.startswith("_"):
        return re.compile(re.escape(exten))
    out, rest = "", exten[1:]
    for token in re.findall(r"\[[^\]]*\]|.", rest):
        up = token.upper()
        out += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(
            up, token if token.startswith("[") else re.escape(token))
    return re.compile(out)


def find_exten(plan: Dialplan, context: str, exten: str) -> list[Step] | None:
    if exten in plan.get(context, {}):
        return plan[context][exten]
    for name, steps in plan.get(context, {}).items():
        if pattern_regex(name).fullmatch(exten):
            return steps
    return None


def sample(exten: str) -> str:
    """A concrete extension that the (pattern) extension matches."""
    if not exten.startswith("_"):
        return exten
    tokens = re.findall(r"\[[^\]]*\]|.", exten[1:])
    pick = {"X": "5", "Z": "5", "N": "5", ".": "50100", "!": ""}
    return "".join(pick.get(t.upper(), t[1] if t.startswith("[") else t) for t in tokens)


def if_branches(text: str) -> list[str]:
    """Every value `text` can take when it holds ${IF(cond?a:b)} expressions."""
    m = re.search(r"\$\{IF\(\$\[[^\]]*\]\?", text)
    if not m:
        return [text]
    depth, i = 1, m.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    inner = text[m.end():i - 1]
    cut = _top_level_colon(inner)
    end = i + (1 if text[i:i + 1] == "}" else 0)
    return [v for part in (inner[:cut], inner[cut + 1:])
            for v in if_branches(text[:m.start()] + part + text[end:])]


def _top_level_colon(s: str) -> int:
    depth = 0
    for i, ch in enumerate(s):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == ":" and depth == 0:
            return i
    raise AssertionError(f"no ':' in IF branches {s!r}")


def goto_targets(step: Step) -> Iterator[str]:
    kind = GOTO_APPS.get(step.app.lower())
    if kind == "goto":
        yield step.data
    elif kind == "if":
        _, _, branches = step.data.partition("?")
        yield from (b for b in _split_branches(branches) if b)


def _split_branches(text: str) -> list[str]:
    return [text] if ":" not in text else [text[:_top_level_colon(text)],
                                            text[_top_level_colon(text) + 1:]]


def resolve(plan: Dialplan, context: str, exten: str, target: str) -> tuple[str, str, str]:
    """(context, exten, priority-or-label) of a Goto/Gosub target."""
    parts = re.sub(r"\(.*\)$", "", target).split(",")
    parts = [p.replace("${EXTEN}", sample(exten)) for p in parts]
    if len(parts) == 1:
        return context, exten, parts[0]
    if len(parts) == 2:
        return context, parts[0], parts[1]
    return parts[0], parts[1], parts[2]


def has_priority(steps: list[Step], where: str) -> bool:
    return any(str(s.priority) == where or s.label == where for s in steps)


def all_steps(plan: Dialplan) -> Iterator[tuple[str, str, Step]]:
    for context, extens in plan.items():
        for exten, steps in extens.items():
            for step in steps:
                yield context, exten, step


def carrier_labels(glob: dict[str, str]) -> dict[str, str]:
    return {d: glob[f"TEST_CARRIER_{d}"] for d in "0123456789"}


def wildcard_letters(exten: str) -> set[str]:
    """Lowercase n, x, z outside brackets in a pattern: meant as literal, read as wildcard."""
    if not exten.startswith("_"):
        return set()
    return set(re.sub(r"\[[^\]]*\]", "", exten[1:])) & set("nxz")


# ---------------------------------------------------------------- engine defaults

def test_ami_listens_on_the_engine_port_for_the_engine_user() -> None:
    manager = concrete(CONF / "manager.conf")
    cfg = Config()
    assert manager["general"][0].get("enabled") == "yes"
    assert int(manager["general"][0].get("port") or 0) == cfg.ami.port
    user = manager[cfg.ami.username][0]
    assert user.get("secret"), "the AMI user needs a secret"


def test_ami_user_may_read_and_send_what_the_engine_uses() -> None:
    user = concrete(CONF / "manager.conf")[Config().ami.username][0]
    read = set((user.get("read") or "").split(","))
    write = set((user.get("write") or "").split(","))
    assert "all" in read or {"call", "dialplan", "user", "agi", "system"} <= read
    assert "all" in write or {"originate", "call", "system", "reporting", "command"} <= write


def test_ami_logins_are_refused_outside_the_permitted_networks() -> None:
    user = concrete(CONF / "manager.conf")[Config().ami.username][0]
    assert user.get("deny") == "0.0.0.0/0.0.0.0"
    assert "127.0.0.1/255.255.255.255" in user.all("permit")


def test_http_serves_ari_on_the_engine_port() -> None:
    general = concrete(CONF / "http.conf")["general"][0]
    assert general.get("enabled") == "yes"
    assert int(general.get("bindport") or 0) == urlparse(Config().ari.url).port
    assert not general.get("prefix"), "a prefix would move ARI away from /ari"


def test_ari_user_matches_the_engine_defaults() -> None:
    ari = concrete(CONF / "ari.conf")
    assert ari["general"][0].get("enabled") == "yes"
    user = ari[Config().ari.username][0]
    assert user.get("type") == "user" and user.get("password")
    assert user.get("password_format") == "plain"


def test_every_stasis_call_names_the_engine_app(dialplan: tuple[Dialplan, dict[str, str]]
                                                ) -> None:
    stasis = [s for _, _, s in all_steps(dialplan[0]) if s.app == "Stasis"]
    assert len(stasis) >= 5
    assert {s.data.split(",")[0] for s in stasis} == {Config().ari.app}


def test_fastagi_hooks_reach_the_engine_port(dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    plan, glob = dialplan
    assert glob["DIALER_AGI"] == f"127.0.0.1:{Config().agi.port}"
    agi = [s for _, _, s in all_steps(plan) if s.app == "AGI"]
    assert agi and all(AGI_TARGET.match(s.data) for s in agi), [s.data for s in agi]


# ---------------------------------------------------------------- the contract

def apps(steps: list[Step]) -> list[str]:
    return [s.app for s in steps]


def test_contract_contexts_have_their_extensions(dialplan: tuple[Dialplan, dict[str, str]]
                                                 ) -> None:
    plan = dialplan[0]
    wanted = {"dialer-amd": {"s", "amd-event", "amd-agi", "amd-stasis"},
              "dialer-amd-run": {"s"}, "dialer-agent": {"s"}, "dialer-agents-in": {"*55"},
              "dialer-test-carrier": {"_X."}, "dialer-test-silence": {"s"}}
    for context, extens in wanted.items():
        assert extens <= set(plan.get(context, {})), context
    assert "AMD" in apps(plan["dialer-amd-run"]["s"])


@pytest.mark.parametrize("exten,report", [("amd-stasis", None), ("amd-event", "UserEvent"),
                                          ("amd-agi", "AGI")])
def test_amd_flow_reports_then_enters_stasis_with_the_result(
        dialplan: tuple[Dialplan, dict[str, str]], exten: str, report: str | None) -> None:
    steps = dialplan[0]["dialer-amd"][exten]
    names = apps(steps)
    assert steps[0].app == "Gosub" and steps[0].data == "dialer-amd-run,s,1"
    stasis = names.index("Stasis")
    assert steps[stasis].data == "dialer,${AMDSTATUS},${AMDCAUSE}"
    if report:
        assert names.index(report) < stasis
    if report == "AGI":
        assert steps[names.index("AGI")].data == "agi://${DIALER_AGI}/amd,${AMDSTATUS},${AMDCAUSE}"


@pytest.mark.parametrize("exten", ["amd-stasis", "amd-event", "amd-agi"])
def test_amd_hangup_skips_stasis_and_hangs_up(dialplan: tuple[Dialplan, dict[str, str]],
                                              exten: str) -> None:
    steps = dialplan[0]["dialer-amd"][exten]
    check = next(s for s in steps if s.app == "GotoIf" and '"${AMDSTATUS}" = "HANGUP"' in s.data)
    label = check.data.split("?", 1)[1]
    target = next(s for s in steps if s.label == label)
    assert target.app == "Hangup"
    assert check.priority < next(s.priority for s in steps if s.app == "Stasis")


def test_exten_s_picks_the_flow_from_dialer_mode(dialplan: tuple[Dialplan, dict[str, str]]
                                                 ) -> None:
    goto = next(s for s in dialplan[0]["dialer-amd"]["s"] if s.app == "Goto")
    assert sorted(if_branches(goto.data)) == ["amd-agi,1", "amd-event,1", "amd-stasis,1"]


def test_amd_result_event_carries_the_recorded_fields_and_the_attempt(
        dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    event = next(s for s in dialplan[0]["dialer-amd"]["amd-event"] if s.app == "UserEvent")
    name, *pairs = event.data.split(",")
    fields = dict(p.split(": ", 1) for p in pairs)
    assert name == "AMDResult"
    assert fields["AMDStatus"] == "${AMDSTATUS}" and fields["AMDCause"] == "${AMDCAUSE}"
    assert fields["Attempt"] == "${DIALER_ATTEMPT}"
    assert {"AMDMs", "DialerCallId"} <= set(fields)


def test_agent_login_call_enters_stasis_as_that_agent(dialplan: tuple[Dialplan, dict[str, str]]
                                                      ) -> None:
    steps = dialplan[0]["dialer-agent"]["s"]
    assert steps[0].app == "Stasis" and steps[0].data == "dialer,agent,${DIALER_AGENT}"
    assert "Answer" not in apps(steps)


def test_star55_logs_in_over_fastagi_then_becomes_the_nailed_up_session(
        dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    steps = dialplan[0]["dialer-agents-in"]["*55"]
    names = apps(steps)
    agi, stasis = steps[names.index("AGI")], steps[names.index("Stasis")]
    assert agi.data == "agi://${DIALER_AGI}/agent-login,${CALLERID(num)}"
    assert stasis.data == "dialer,agent,${CALLERID(num)}"
    assert agi.priority < stasis.priority


def test_every_goto_and_gosub_target_exists(dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    plan = dialplan[0]
    dynamic = []
    for context, exten, step in all_steps(plan):
        for raw in goto_targets(step):
            for target in if_branches(raw):
                if "${" in re.sub(r"\(.*\)$", "", target).replace("${EXTEN}", ""):
                    dynamic.append((context, target))
                    continue
                ctx, ext, where = resolve(plan, context, exten, target)
                steps = find_exten(plan, ctx, ext)
                assert steps is not None, f"[{context}] {exten}: no {ctx},{ext}"
                assert has_priority(steps, where), f"[{context}] {exten}: no {target}"
    # the only computed target is the carrier's outcome label, checked per digit below
    assert dynamic == [("dialer-test-carrier", "${SIM_OUTCOME}")]


# ---------------------------------------------------------------- the test carrier

def walk(plan: Dialplan, glob: dict[str, str], context: str, exten: str, prio: int,
         answered: bool, seen: set[tuple[str, str, int, bool]]) -> Iterator[tuple[Step, bool]]:
    """Every step reachable from (context, exten, prio), with 'answered so far'."""
    steps = plan[context][exten]
    while (key := (context, exten, prio, answered)) not in seen:
        seen.add(key)
        step = next((s for s in steps if s.priority == prio), None)
        if step is None:
            return
        yield step, answered
        answered = answered or step.app == "Answer"
        for target in _next_targets(step, glob):
            where = resolve(plan, context, exten, target)
            sub_steps = find_exten(plan, where[0], where[1]) or []
            sub_prio = next(s.priority for s in sub_steps if has_priority([s], where[2]))
            sub_exten = next(e for e, s in plan[where[0]].items() if s is sub_steps)
            yield from walk(plan, glob, where[0], sub_exten, sub_prio, answered, seen)
        if step.app.lower() in TERMINAL or step.app == "Goto":
            return
        prio += 1


def _next_targets(step: Step, glob: dict[str, str]) -> list[str]:
    if step.data == "${SIM_OUTCOME}":
        return sorted(set(carrier_labels(glob).values()))
    return [t for raw in goto_targets(step) for t in if_branches(raw)]


def test_test_carrier_never_waits_once_answered(dialplan: tuple[Dialplan, dict[str, str]]
                                                ) -> None:
    plan, glob = dialplan
    reached = list(walk(plan, glob, "dialer-test-carrier", "_X.", 1, False, set()))
    assert any(answered for _, answered in reached)
    waits = [s for s, answered in reached if answered and s.app.lower() == "wait"]
    assert waits == [], "AMD needs audio frames: play silence files, never Wait() after Answer"
    played = {s.data for s, answered in reached if answered and s.app == "Playback"}
    assert {"dialer/silence-1", "dialer/silence-10"} <= played


def branch(plan: Dialplan, label: str) -> list[Step]:
    steps = plan["dialer-test-carrier"]["_X."]
    start = next(i for i, s in enumerate(steps) if s.label == label)
    end = next(i for i, s in enumerate(steps[start:], start)
               if s.app.lower() in TERMINAL)
    return steps[start:end + 1]


OUTCOME_LABEL = {Outcome.HUMAN: "human", Outcome.MACHINE: "machine", Outcome.BUSY: "busy",
                 Outcome.NO_ANSWER: "noanswer", Outcome.CONGESTION: "congestion",
                 Outcome.ANSWER_HANGUP: "hangup1"}


def test_test_carrier_maps_each_digit_like_the_simulator(
        dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    plan, glob = dialplan
    model = DigitModel(seed=1)
    labels = carrier_labels(glob)
    for digit, label in labels.items():
        assert OUTCOME_LABEL[model.plan(f"555010{digit}", 0.0).outcome] == label, digit
        assert branch(plan, label), label


@pytest.mark.parametrize("label,first,ring,answers", [
    ("human", "Ringing", "RAND(2,8)", True), ("machine", "Ringing", "RAND(3,10)", True),
    ("hangup1", "Ringing", "RAND(2,6)", True), ("busy", "Busy", None, False),
    ("congestion", "Congestion", None, False), ("noanswer", "Ringing", None, False)])
def test_test_carrier_outcome_behaves_as_designed(
        dialplan: tuple[Dialplan, dict[str, str]], label: str, first: str, ring: str | None,
        answers: bool) -> None:
    steps = branch(dialplan[0], label)
    assert steps[0].app == first
    assert ("Answer" in apps(steps)) is answers
    if ring:
        assert ring in next(s.data for s in steps if s.app == "Wait")


def test_test_carrier_outcome_audio(dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    plan = dialplan[0]
    played = {label: [s.data for s in branch(plan, label) if s.app == "Playback"]
              for label in ("human", "machine", "hangup1")}
    assert played["human"] == ["dialer/hello-${SIM_DIGIT}"]
    assert played["machine"] == ["dialer/greeting-${SIM_DIGIT}&dialer/beep"]
    assert played["hangup1"] == ["dialer/silence-1"]
    talk = next(s.data for s in branch(plan, "human") if s.label == "human_talk")
    assert "RAND(20,60)" in talk


def test_unanswered_number_rings_past_the_longest_ring_timeout(
        dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    longest = next(f.metadata["max"] for f in dataclasses.fields(CampaignDef)
                   if f.name == "ring_timeout")
    wait = next(s for s in branch(dialplan[0], "noanswer") if s.app == "Wait")
    assert int(wait.data) > longest


# ---------------------------------------------------------------- patterns

def test_pattern_check_catches_a_literal_n_read_as_a_wildcard() -> None:
    assert wildcard_letters("_agent.") == {"n"}
    assert wildcard_letters("_age[n]t.") == set()
    assert pattern_regex("_age[n]t.").fullmatch("agent1")
    assert not pattern_regex("_agent.").fullmatch("agent1")


def test_no_pattern_uses_n_x_or_z_as_a_letter(dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    bad = {(ctx, ext) for ctx, extens in dialplan[0].items() for ext in extens
           if wildcard_letters(ext)}
    assert bad == set(), "n, x and z are wildcards in a pattern: write [n], [x], [z]"


def test_agent_patterns_match_agent_names(dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    for context in ("dialer-connect", "agents"):
        assert find_exten(dialplan[0], context, "agent1") is not None, context


# ---------------------------------------------------------------- amd.conf

def test_amd_decides_within_about_two_seconds_of_the_greeting() -> None:
    """What is checked, in ms: a person is declared after_greeting_silence (<= 1000)
    after they stop speaking, so at least 1 s of the 2 s rule is left for the bridge;
    a person is declared at most greeting + after_greeting_silence (<= 2200) after they
    start speaking; a silent line is decided after initial_silence (<= 2000); and the
    ceiling total_analysis_time (<= 3000) still lets the longest greeting of a person
    who speaks at once be classified (>= greeting + after_greeting_silence)."""
    amd = {k: int(v) for k, v in concrete(CONF / "amd.conf")["general"][0].items}
    assert amd["after_greeting_silence"] <= 1000
    assert amd["greeting"] + amd["after_greeting_silence"] <= 2200
    assert amd["initial_silence"] <= 2000
    assert amd["greeting"] + amd["after_greeting_silence"] <= amd["total_analysis_time"] <= 3000
    assert amd["total_analysis_time"] >= amd["initial_silence"]


def test_amd_conf_sets_every_setting_of_amd() -> None:
    amd = concrete(CONF / "amd.conf")["general"][0]
    keys = {"initial_silence", "greeting", "after_greeting_silence", "total_analysis_time",
            "min_word_length", "between_words_silence", "maximum_number_of_words",
            "maximum_word_length", "silence_threshold"}
    assert {k for k, _ in amd.items} == keys


# ---------------------------------------------------------------- pjsip.conf, modules.conf

def test_pjsip_has_agent_and_carrier_templates() -> None:
    templates = {s.name: s for s in parse_conf(CONF / "pjsip.conf") if s.template}
    assert templates["agent-endpoint"].get("type") == "endpoint"
    assert templates["agent-endpoint"].get("context") == "dialer-agents-in"
    assert templates["carrier-endpoint"].get("type") == "endpoint"


def test_agent_and_carrier_endpoints_name_a_transport_so_rtp_binds_to_its_address() -> None:
    sections = parse_conf(CONF / "pjsip.conf")
    transports = {s.name for s in sections if s.get("type") == "transport"}
    templates = {s.name: s for s in sections if s.template}
    for name in ("agent-endpoint", "carrier-endpoint"):
        assert templates[name].get("transport") in transports, name


def test_carrier_identify_matches_addresses_that_parse_without_a_lookup() -> None:
    # res_pjsip drops an identify whose host name does not resolve at load
    identify = [s for ss in concrete(CONF / "pjsip.conf").values() for s in ss
                if s.get("type") == "identify"]
    assert identify
    for section in identify:
        for match in section.all("match"):
            ipaddress.ip_network(match, strict=False)


def test_modules_conf_names_no_module_removed_before_asterisk_22() -> None:
    modules = concrete(CONF / "modules.conf")["modules"][0]
    named = set(modules.all("noload")) | set(modules.all("require"))
    assert not named & {"chan_mgcp.so", "chan_skinny.so", "chan_sip.so", "app_macro.so",
                        "chan_vpb.so", "res_monitor.so", "app_osplookup.so"}


def test_agent_endpoints_give_their_name_as_caller_id_number() -> None:
    pjsip = concrete(CONF / "pjsip.conf")
    for n in range(1, 5):
        name = f"agent{n}"
        types = {s.get("type") for s in pjsip[name]}
        assert types == {"endpoint", "auth", "aor"}, name
        endpoint = next(s for s in pjsip[name] if s.get("type") == "endpoint")
        assert (endpoint.get("callerid") or "").endswith(f"<{name}>")


def test_default_dial_template_reaches_a_carrier_endpoint() -> None:
    template = next(f.default for f in dataclasses.fields(CampaignDef)
                    if f.name == "dial_template")
    tech, _, rest = str(template).partition("/")
    endpoint = rest.split("@", 1)[1]
    assert tech == "PJSIP"
    assert "endpoint" in {s.get("type") for s in concrete(CONF / "pjsip.conf")[endpoint]}


def test_every_endpoint_context_exists(dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    contexts = {s.get("context") for ss in concrete(CONF / "pjsip.conf").values() for s in ss
                if s.get("type") == "endpoint"}
    assert contexts and contexts <= set(dialplan[0])


APP_MODULE = {"AMD": "app_amd.so", "AGI": "res_agi.so", "Stasis": "app_stasis.so",
              "Gosub": "app_stack.so", "Return": "app_stack.so", "While": "app_while.so",
              "EndWhile": "app_while.so", "UserEvent": "app_userevent.so",
              "Playback": "app_playback.so", "SendDTMF": "app_senddtmf.so",
              "Dial": "app_dial.so", "Verbose": "app_verbose.so", "Read": "app_read.so"}
BUILTIN = {"Answer", "Busy", "Congestion", "Goto", "GotoIf", "Hangup", "NoOp", "Ringing",
           "Set", "Wait"}


def test_modules_conf_requires_what_the_dialer_uses(dialplan: tuple[Dialplan, dict[str, str]]
                                                    ) -> None:
    modules = concrete(CONF / "modules.conf")["modules"][0]
    assert modules.get("autoload") == "yes"
    required = set(modules.all("require"))
    used = {s.app for _, _, s in all_steps(dialplan[0])}
    assert used - BUILTIN <= set(APP_MODULE), used - BUILTIN - set(APP_MODULE)
    needed = {APP_MODULE[a] for a in used - BUILTIN} | {
        "res_ari.so", "res_stasis.so", "res_http_websocket.so", "chan_pjsip.so",
        "res_ari_channels.so", "res_ari_bridges.so", "res_ari_playbacks.so",
        "res_ari_events.so", "pbx_config.so", "func_rand.so", "func_logic.so"}
    assert needed <= required, needed - required
    assert not required & set(modules.all("noload"))


# ---------------------------------------------------------------- README

def sound_files(plan: Dialplan, glob: dict[str, str]) -> set[str]:
    digits = {label: [d for d, lbl in carrier_labels(glob).items() if lbl == label]
              for label in set(carrier_labels(glob).values())}
    out: set[str] = set()
    for _, _, step in all_steps(plan):
        if step.app != "Playback":
            continue
        for name in step.data.split("&"):
            use = digits["human"] if "hello" in name else digits["machine"]
            out |= {name.replace("${SIM_DIGIT}", d) for d in use}
    return out


def test_readme_lists_every_sound_file(dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    readme = (CONF / "README.md").read_text()
    rec = Recordings()
    names = sound_files(*dialplan) | {rec.safe_harbor, rec.optout_confirm,
                                      "dialer/machine-message"}
    assert {"dialer/hello-0", "dialer/greeting-5", "dialer/beep"} <= names
    assert {n for n in names if n not in readme} == set()


def test_readme_explains_a_dry_run_against_the_test_carrier() -> None:
    readme = (CONF / "README.md").read_text()
    for needle in ('dial_template: "Local/{number}@dialer-test-carrier"', "dialer run -c",
                   "manager show connected", "ari show apps", "module show like amd",
                   "DIALER_AMI_SECRET", "DIALER_ARI_PASSWORD", "espeak-ng", "sox"):
        assert needle in readme, needle


# ---------------------------------------------------------------- the reference traces

def recorded_newexten(traces: Path) -> Iterator[dict[str, str]]:
    files = [*sorted((traces / "ami").glob("*.jsonl")),
             traces / "fastagi" / "fastagi-ami-side.jsonl",
             traces / "amd" / "amd-accuracy-ami.jsonl"]
    for path in files:
        for line in path.read_text().splitlines():
            headers = dict(json.loads(line)["headers"])
            if headers.get("Event") == "Newexten":
                yield headers


@pytest.mark.parametrize("recorded,ours,exten", [
    ("carrier-sim", "dialer-test-carrier", "_X."), ("dialer-amd-run", "dialer-amd-run", "s")])
def test_dialplan_runs_the_recorded_applications_at_the_recorded_priorities(
        traces: Path, dialplan: tuple[Dialplan, dict[str, str]], recorded: str, ours: str,
        exten: str) -> None:
    steps = {s.priority: s.app for s in dialplan[0][ours][exten]}
    seen = {(int(h["Priority"]), h["Application"]) for h in recorded_newexten(traces)
            if h["Context"] == recorded and not h["Application"].startswith("AppDial")}
    assert len(seen) >= 5
    assert {(p, app) for p, app in seen if steps.get(p) != app} == set()


def test_amd_result_event_reuses_the_recorded_field_names(
        traces: Path, dialplan: tuple[Dialplan, dict[str, str]]) -> None:
    recorded = next(h["AppData"] for h in recorded_newexten(traces)
                    if h["Application"] == "UserEvent")
    ours = next(s.data for s in dialplan[0]["dialer-amd"]["amd-event"] if s.app == "UserEvent")
    names = [p.split(":")[0] for p in recorded.split(",")]
    assert [p.split(":")[0] for p in ours.split(",")][:len(names)] == names
