"""`dialer sim` argument checks."""

from __future__ import annotations

import pytest

from dialer.cli import main
from dialer.cmd import CliError
from dialer.cmd.sim import host_port


@pytest.mark.parametrize("text", ["5038", "localhost:", ":5038", "host:port", "h:70000"])
def test_bad_listen_address_names_the_option(text: str) -> None:
    with pytest.raises(CliError, match="--ami: expected HOST:PORT"):
        host_port(text, "--ami")


def test_listen_address_accepts_ipv6_in_brackets() -> None:
    assert host_port("[::1]:5038", "--ami") == ("::1", 5038)


def test_missing_scenario_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sim", "--ami", "127.0.0.1:0", "--ari", "127.0.0.1:0",
                 "--scenario", "/nonexistent/scenario.yaml"])
    assert code == 2
    assert "--scenario" in capsys.readouterr().err


def test_speed_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sim", "--speed", "0"])
    assert "must be above 0" in capsys.readouterr().err
