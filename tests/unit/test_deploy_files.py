"""The deploy files, checked statically (no Docker here): services, ports against the
engine config, mounted paths against the repository, and every metric a dashboard panel
or alert names against the metrics the engine defines."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from dialer.config import Config, load_config
from dialer.obs import metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = {"postgres", "asterisk", "dialer", "prometheus", "grafana"}
ASTERISK_FILES = {"manager.conf", "http.conf", "ari.conf", "pjsip.conf", "extensions.conf",
                  "amd.conf", "modules.conf"}
CONFIG_IN_CONTAINER = "/etc/dialer/dialer.yaml"
METRIC = re.compile(r"\b(dialer_[a-z0-9_]+)")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(DEPLOY / "docker-compose.yml")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def deploy_cfg() -> Config:
    return load_config(DEPLOY / "dialer.yaml", env={})


@pytest.fixture(scope="module")
def example_cfg() -> Config:
    return load_config(ROOT / "dialer.example.yaml", env={})


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append((source, target))
    return mounts


def published(service: dict[str, Any]) -> dict[int, int]:
    """Container port -> host port, for plain TCP mappings."""
    result = {}
    for entry in service.get("ports", []):
        if "/" not in entry and "-" not in entry:
            host, container = entry.rsplit(":", 1)
            result[int(container)] = int(host.rsplit(":", 1)[-1])
    return result


def exposed(service: dict[str, Any]) -> set[int]:
    return {int(p) for p in service.get("expose", [])} | set(published(service))


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` substitution."""
    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3) or ""
        if name in env:
            return env[name]
        if op == ":?":
            raise KeyError(f"{name} is required: {rest}")
        return rest
    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}", one, text)


def known_metric(name: str) -> bool:
    defined = {f.name for f in metrics.REGISTRY.collect()}
    suffixes = ("_total", "_bucket", "_count", "_sum")
    return name in defined or any(name.endswith(s) and name[: -len(s)] in defined
                                  for s in suffixes)


def test_compose_runs_engine_postgres_asterisk_prometheus_and_grafana(
        compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= SERVICES
    assert "22" in compose["services"]["asterisk"]["image"]


def test_deploy_config_is_valid_and_points_at_the_compose_services(
        compose: dict[str, Any], deploy_cfg: Config) -> None:
    services = set(compose["services"])
    assert deploy_cfg.ami.host in services
    assert urlparse(deploy_cfg.ari.url).hostname in services
    assert deploy_cfg.http.host == "0.0.0.0" and deploy_cfg.agi.host == "0.0.0.0"
    assert deploy_cfg.database.url is None, "the DSN and its password come from the environment"
    assert deploy_cfg.ami.secret is None and deploy_cfg.ari.password is None


def test_deploy_ports_match_the_config_defaults(deploy_cfg: Config, example_cfg: Config) -> None:
    assert (deploy_cfg.http.port, deploy_cfg.ami.port, deploy_cfg.agi.port) == (
        example_cfg.http.port, example_cfg.ami.port, example_cfg.agi.port) == (8080, 5038, 4573)
    assert urlparse(deploy_cfg.ari.url).port == urlparse(example_cfg.ari.url).port == 8088
    assert deploy_cfg.ari.app == example_cfg.ari.app


def test_compose_ports_match_the_engine_config(compose: dict[str, Any],
                                               deploy_cfg: Config) -> None:
    services = compose["services"]
    assert published(services["dialer"])[deploy_cfg.http.port] == deploy_cfg.http.port
    assert deploy_cfg.agi.port in exposed(services["dialer"])
    assert deploy_cfg.ami.port in exposed(services["asterisk"])
    assert urlparse(deploy_cfg.ari.url).port in exposed(services["asterisk"])
    assert 5432 in exposed(services["postgres"])


def test_engine_gets_its_secrets_from_the_environment(compose: dict[str, Any]) -> None:
    env = compose["services"]["dialer"]["environment"]
    for var in ("DIALER_DATABASE_URL", "DIALER_AMI_SECRET", "DIALER_ARI_PASSWORD"):
        assert var in env
    dsn = urlparse(interpolate(env["DIALER_DATABASE_URL"], {"POSTGRES_PASSWORD": "pw-from-env"}))
    assert (dsn.hostname, dsn.port, dsn.path) == ("postgres", 5432, "/dialer")
    assert dsn.password == "pw-from-env", "the password comes from the environment"
    for var in ("DIALER_AMI_SECRET", "DIALER_ARI_PASSWORD"):
        assert interpolate(env[var], {var: "from-env"}) == "from-env"


def test_engine_runs_the_mounted_config(compose: dict[str, Any]) -> None:
    dialer = compose["services"]["dialer"]
    assert dialer["command"] == ["run", "-c", CONFIG_IN_CONTAINER]
    assert ("./dialer.yaml", CONFIG_IN_CONTAINER) in bind_mounts(dialer)
    assert compose["services"]["migrate"]["command"][:2] == ["db", "migrate"]


def test_every_mounted_path_exists_in_the_repository(compose: dict[str, Any]) -> None:
    missing = [f"{name}: {source}" for name, service in compose["services"].items()
               for source, _ in bind_mounts(service) if not (DEPLOY / source).exists()]
    assert missing == [], "compose mounts files the repository does not have"


def test_asterisk_gets_every_config_file_it_needs(compose: dict[str, Any]) -> None:
    mounts = dict(bind_mounts(compose["services"]["asterisk"]))
    mounted = {Path(source).name for source in mounts}
    assert mounted == ASTERISK_FILES
    for source, target in mounts.items():
        assert Path(source).parent.name == "asterisk-config"
        assert target == f"/etc/asterisk/{Path(source).name}"


def test_prometheus_scrapes_the_engine_and_loads_the_rules(
        compose: dict[str, Any], deploy_cfg: Config) -> None:
    prom = load(DEPLOY / "prometheus.yml")
    (job,) = [j for j in prom["scrape_configs"] if j["job_name"] == "dialer"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == [f"dialer:{deploy_cfg.http.port}"]
    mounts = dict((t, s) for s, t in bind_mounts(compose["services"]["prometheus"]))
    for rule_file in prom["rule_files"]:
        assert rule_file in mounts
        assert (DEPLOY / mounts[rule_file]).is_file()


def alert_rules() -> dict[str, dict[str, Any]]:
    groups = load(DEPLOY / "alerts.yml")["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_alerts_cover_abandonment_connections_filter_and_loop_lag() -> None:
    rules = alert_rules()
    wanted = {"DialerAbandonNearTarget": "dialer_abandon_target",
              "DialerAmiDisconnected": "dialer_ami_connected",
              "DialerAriDisconnected": "dialer_ari_connected",
              "DialerDatabaseDown": "dialer_db_up",
              "DialerFilterStale": "dialer_filter_age_seconds",
              "DialerEventLoopLag": "dialer_event_loop_lag_seconds"}
    for alert, metric in wanted.items():
        assert metric in rules[alert]["expr"], alert
        assert rules[alert]["labels"]["severity"] in ("warning", "critical")
        assert rules[alert]["annotations"]["summary"]


def test_alerts_name_only_metrics_the_engine_defines() -> None:
    for name, rule in alert_rules().items():
        for metric in METRIC.findall(rule["expr"]):
            assert known_metric(metric), f"{name}: {metric}"


def dashboard() -> dict[str, Any]:
    return json.loads((DEPLOY / "grafana" / "dialer.json").read_text())  # type: ignore[no-any-return]


def test_dashboard_is_importable_and_uses_its_datasource_variable() -> None:
    dash = dashboard()
    assert dash["uid"] and dash["title"] == "Dialer" and dash["id"] is None
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dash["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"


def test_dashboard_covers_the_operations_view() -> None:
    exprs = " ".join(t["expr"] for p in dashboard()["panels"] for t in p.get("targets", []))
    for metric in ("dialer_calls_total", "dialer_calls_in_flight", "dialer_abandon_ratio",
                   "dialer_abandon_target", "dialer_agents", "dialer_answer_to_bridge_seconds",
                   "dialer_compliance_blocks_total", "dialer_dial_level", "dialer_ami_connected",
                   "dialer_ari_connected", "dialer_db_up", "dialer_event_loop_lag_seconds"):
        assert metric in exprs, metric
    for metric in METRIC.findall(exprs):
        assert known_metric(metric), metric


def test_grafana_provisioning_points_at_prometheus_and_the_dashboard(
        compose: dict[str, Any]) -> None:
    grafana = dict((t, s) for s, t in bind_mounts(compose["services"]["grafana"]))
    provider = load(DEPLOY / "grafana/provisioning/dashboards/dialer.yml")["providers"][0]
    dashboards_dir = provider["options"]["path"]
    assert grafana[f"{dashboards_dir}/dialer.json"] == "./grafana/dialer.json"
    (source,) = load(DEPLOY / "grafana/provisioning/datasources/prometheus.yml")["datasources"]
    prom_port = published(compose["services"]["prometheus"])
    assert urlparse(source["url"]).hostname == "prometheus"
    assert urlparse(source["url"]).port in prom_port


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines
            if ln and not ln.startswith("#")]


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last:]


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck(deploy_cfg: Config) -> None:
    instructions = dockerfile_instructions()
    assert sum(op == "FROM" for op, _ in instructions) >= 2
    final = final_stage(instructions)
    (user,) = [arg for op, arg in final if op == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    (health,) = [arg for op, arg in final if op == "HEALTHCHECK"]
    assert f"127.0.0.1:{deploy_cfg.http.port}/healthz" in health
    entry = json.loads(next(arg for op, arg in final if op == "ENTRYPOINT"))
    cmd = json.loads(next(arg for op, arg in final if op == "CMD"))
    assert entry + cmd == ["dialer", "run", "-c", CONFIG_IN_CONTAINER]
    assert any(arg.endswith(CONFIG_IN_CONTAINER) for op, arg in final if op == "COPY")


def test_dockerfile_copies_only_what_exists_and_is_not_ignored() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert ".venv" in ignored and ".git" in ignored
    for op, arg in dockerfile_instructions():
        if op != "COPY" or arg.startswith("--from"):
            continue
        for source in arg.split()[:-1]:
            assert (ROOT / source).exists(), source
            hits = [p for p in ignored if fnmatch(source, p) or source.startswith(f"{p}/")]
            assert hits == [], f"{source} is excluded by .dockerignore {hits}"
