"""Configuration: every kind of mistake gets a message naming the key, the line and
what was expected; the example file documents every key."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.campaigns import parse_campaign
from dialer.config import Config, agi_allowed_hosts, parse_config
from dialer.core.errors import ConfigError
from dialer.schema import reference

ROOT = Path(__file__).resolve().parents[2]

CONFIG_MISTAKES = [
    ("ami:\n  prot: 5038\n", 2, "ami.prot: unknown key"),
    ("ami:\n  port: five\n", 2, "ami.port: expected an integer, got 'five'"),
    ("ami:\n  port: 70000\n", 2, "ami.port: must be at most 65535"),
    ("engine:\n  lease: soon\n", 2, "engine.lease: expected a duration"),
    ("logging:\n  format: xml\n", 2, "logging.format: expected one of 'auto', 'json', 'console'"),
    ("api:\n  tokens:\n    - sha256: " + "a" * 64 + "\n", 3,
     "api.tokens[0].role: required key is missing"),
    ("ari:\n  url: localhost:8088\n", 2, "ari.url: must match"),
    ("database:\n  pool_size: 1\n  pool_size: 2\n", 3, "database.pool_size: duplicate key"),
    ("ami: [unclosed\n", 2, "not valid YAML"),
    ("- just\n- a list\n", 1, "(top): expected a mapping"),
    ("engine:\n  pacing_interval: 1s\n", 2, "engine.pacing_interval: must be at most 0.25"),
    ("agi:\n  allowed_hosts:\n    - 10.0.0.1\n    - 10.0.0.0/33\n", 4,
     "agi.allowed_hosts[1]: expected an IP address, a network (10.0.0.0/8) or a host name, "
     "got '10.0.0.0/33'"),
    ("agi:\n  allowed_hosts: [300.1.2.3]\n", 2, "agi.allowed_hosts[0]: expected an IP"),
    ("agi:\n  allowed_hosts: ['asterisk:5038']\n", 2, "agi.allowed_hosts[0]: expected an IP"),
]


@pytest.mark.parametrize(("text", "line", "message"), CONFIG_MISTAKES)
def test_config_mistake_names_key_line_and_expectation(text: str, line: int | None,
                                                       message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "site.yaml", env={})
    assert message in str(info.value)
    assert info.value.line == line
    if line is not None:
        assert str(info.value).startswith(f"site.yaml:{line}: ")


def test_config_values_merge_over_defaults() -> None:
    cfg = parse_config("ami:\n  port: 5039\nengine:\n  lease: 5m\n", env={})
    assert cfg.ami.port == 5039
    assert cfg.ami.host == "127.0.0.1"
    assert cfg.engine.lease == 300.0
    assert cfg.http == Config().http


def test_agi_answers_the_asterisk_hosts_the_config_names() -> None:
    assert Config().agi.host == "127.0.0.1"
    assert agi_allowed_hosts(Config()) == ["127.0.0.1"]
    compose = parse_config("ami:\n  host: asterisk\nari:\n  url: http://asterisk:8088\n",
                           env={})
    assert agi_allowed_hosts(compose) == ["asterisk"]
    split = parse_config("ami:\n  host: 10.0.0.5\nari:\n  url: http://[fd00::5]:8088\n",
                         env={})
    assert agi_allowed_hosts(split) == ["10.0.0.5", "fd00::5"]


def test_agi_allowed_hosts_take_addresses_networks_and_names() -> None:
    cfg = parse_config("agi:\n  allowed_hosts: [asterisk, 172.16.0.0/12, 'fd00::5']\n",
                       env={})
    assert agi_allowed_hosts(cfg) == ["asterisk", "172.16.0.0/12", "fd00::5"]


def test_secrets_come_from_environment_and_stay_out_of_repr() -> None:
    env = {"DIALER_AMI_SECRET": "s3cret-ami", "DIALER_ARI_PASSWORD": "s3cret-ari",
           "DIALER_DATABASE_URL": "postgresql://u:s3cret-db@h/d"}
    cfg = parse_config("ami:\n  secret: from-file\n", env=env)
    assert cfg.ami.secret == "s3cret-ami"
    assert cfg.ari.password == "s3cret-ari"
    assert cfg.database.url == "postgresql://u:s3cret-db@h/d"
    assert "s3cret" not in repr(cfg)


def test_example_file_is_valid_and_documents_every_key() -> None:
    text = (ROOT / "dialer.example.yaml").read_text()
    assert parse_config(text, env={}) == Config()
    for path, _doc, _default in reference(Config):
        leaf = path.rsplit(".", 1)[-1]
        assert f"{leaf}:" in text, f"dialer.example.yaml does not document {path}"


CAMPAIGN = """\
name: sales
mode: predictive
caller_id: "+12125550100"
ring_timeout: {ring}
connect_deadline: {deadline}
"""


def test_us_campaign_ring_timeout_under_15_seconds_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_campaign(CAMPAIGN.format(ring=12, deadline=2), "sales.yaml")
    assert "sales.yaml:4: ring_timeout: must be at least 15 s for a US campaign" in str(info.value)


def test_us_campaign_connect_deadline_over_2_seconds_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"sales.yaml:5: connect_deadline: must be at most 2"):
        parse_campaign(CAMPAIGN.format(ring=20, deadline=3), "sales.yaml")


def test_campaign_missing_required_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"caller_id: required key is missing"):
        parse_campaign("name: x\nmode: progressive\n", "x.yaml")


def test_campaign_with_a_bad_mode_lists_the_modes() -> None:
    with pytest.raises(ConfigError, match=r"x.yaml:2: mode: expected one of 'preview'"):
        parse_campaign('name: x\nmode: turbo\ncaller_id: "+12125550100"\n', "x.yaml")


def test_valid_campaign_keeps_its_values() -> None:
    camp = parse_campaign(CAMPAIGN.format(ring="25s", deadline="1.5s"))
    assert (camp.name, camp.mode, camp.ring_timeout, camp.connect_deadline) == \
        ("sales", "predictive", 25.0, 1.5)
    assert camp.retry.busy == 600.0
