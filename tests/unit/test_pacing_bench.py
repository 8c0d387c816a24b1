"""`dialer bench pacing`: arguments, the JSON object, the table and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialer.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
S1 = str(SCENARIOS / "S1.yaml")


def test_json_output_is_one_object_with_every_run(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "pacing", "--scenario", S1, "--pacer", "progressive", "power",
                 "--agents", "3", "--agents", "4", "--seeds", "2",
                 "--hours", "0.1", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scenario"] == "S1" and doc["hours"] == pytest.approx(0.1)
    groups = {(g["agents"], g["pacer"]) for g in doc["results"]}
    assert groups == {(3, "progressive"), (3, "power"), (4, "progressive"), (4, "power")}
    for group in doc["results"]:
        assert [run["seed"] for run in group["runs"]] == [0, 1]
        assert set(group["mean"]) >= {"talk_min_per_agent_hour", "occupancy", "abandon_rate",
                                      "worst_window_rate", "mean_wait_s",
                                      "calls_per_agent_hour"}


def test_table_lists_abandonment_per_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "pacing", "--scenario", S1, "--pacer", "progressive",
                 "--agents", "2", "--seeds", "3", "--hours", "0.05"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("scenario S1: 0.05 h, 3 seeds")
    row = lines[2].split()
    assert row[:2] == ["2", "progressive"]
    assert row[5:8] == ["0.00", "0.00", "0.00"]


def test_bad_scenario_is_one_clear_line(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(S1).read_text().replace("talk: {lognormal", "talks: {lognormal"))
    assert main(["bench", "pacing", "--scenario", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: callees.talks: unknown key" in err
    assert "Traceback" not in err


def test_unknown_pacer_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        main(["bench", "pacing", "--scenario", S1, "--pacer", "turbo"])
