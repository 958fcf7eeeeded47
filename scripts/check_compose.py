"""Cross-checks docker-compose.yml against the services' settings and its own parts.

    python scripts/check_compose.py [docker-compose.yml]

Nobody here runs `docker compose up` (no Docker engine), and the compose schema
(`check-jsonschema --builtin-schema vendor.compose-spec`) only checks shapes, so a wrong port or
a misspelt variable would surface on someone's first start. This checks what the schema
cannot:

- variables: every ``CHORUS_*``/``OTEL_*`` variable a service sets is in docs/configuration.md,
  and every ``CHORUS_*`` one is a field of some service's settings class
  (``scripts/check_env_registry.py`` reads both);
- ports: each Chorus server exposes (``expose`` or the container side of ``ports``) exactly its
  listen port (``CHORUS_GRPC_PORT``/``CHORUS_HTTP_PORT``, else the settings' default) and its
  ``CHORUS_METRICS_PORT``, its image's build argument PORT is the listen port, and every
  ``CHORUS_<SVC>_ADDR`` / ``CHORUS_CPRO_API_URL`` names that service at that port;
- images: every image has a pinned tag (not ``latest``, no bare major), except the Chorus
  images this file builds;
- volumes: every named volume a service mounts is declared (and every declared one is used),
  every bind-mounted file or directory exists;
- dependencies: every ``depends_on`` target is a service, ``service_healthy`` waits only for
  services with a healthcheck, ``service_completed_successfully`` only for one-shot ones;
- Prometheus: the configuration mounted in the ``prometheus`` service scrapes each Chorus
  server at ``<service>:<its metrics port>`` in a job ``chorus-<service>``, scrapes nothing
  else under such a name, and its rule files are mounted.

Prints one line per problem and exits 1 if there is any. ``scripts/lint_deploy.sh`` runs it.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_env_registry  # a sibling script, not a package

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COMPOSE = ROOT / "docker-compose.yml"
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$\$")
# Tags that move: "latest" and friends, and a bare major ("16", "v3"); a release is pinned by
# its version ("16.9", "v1.27.8") or date ("RELEASE.2025-...").
FLOATING_TAGS = {"latest", "stable", "edge", "main", "master", "nightly", "dev", "mainline"}

Compose = dict[str, Any]
Settings = dict[str, dict[str, Any]]


def interpolate(value: Any) -> Any:
    """Compose's ``${VAR:-default}`` with the variables unset: the default, or empty."""
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        operator, default = match.group(2), match.group(3)
        return default if operator in {"-", ":-"} and default is not None else ""

    return INTERPOLATION.sub(substitute, value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {name: str(interpolate(value)) for name, value in env.items()}


def service_settings() -> Settings:
    """Each service's settings defaults by its name (``service_name``): ``grpc_port``,
    ``http_port``, ``metrics_port`` when it defines them."""
    found: Settings = {}
    for config in sorted(ROOT.glob("services/*/src/chorus_*/config.py")):
        module = importlib.import_module(f"{config.parent.name}.config")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, check_env_registry.ChorusSettings)
                and value is not check_env_registry.ChorusSettings
                and value.__module__ == module.__name__
            ):
                fields = value.model_fields
                name = fields["service_name"].default
                found[name] = {
                    key: fields[key].default
                    for key in ("grpc_port", "http_port", "metrics_port")
                    if key in fields
                }
    return found


def chorus_service(name: str, service: dict[str, Any]) -> str | None:
    """The Chorus service a compose service runs (its image chorus/<svc>), else None."""
    args = (service.get("build") or {}).get("args") or {}
    if isinstance(args, dict) and args.get("SERVICE"):
        return str(args["SERVICE"])
    image = str(interpolate(service.get("image", "")))
    match = re.fullmatch(r"chorus/([a-z][a-z0-9-]*)(?::.*)?", image)
    return match.group(1) if match else None


def is_server(service: dict[str, Any]) -> bool:
    """A Chorus container running `serve` (the image's default command), not a one-shot job."""
    command = service.get("command")
    return command in (None, ["serve"], "serve")


def listen_port(svc: str, env: dict[str, str], settings: Settings) -> tuple[str, int | None]:
    defaults = settings.get(svc, {})
    kind = "HTTP" if "http_port" in defaults or "CHORUS_HTTP_PORT" in env else "GRPC"
    value = env.get(f"CHORUS_{kind}_PORT", defaults.get(f"{kind.lower()}_port"))
    return kind, int(value) if value not in (None, "") else None


def metrics_port(svc: str, env: dict[str, str], settings: Settings) -> int | None:
    value = env.get("CHORUS_METRICS_PORT", settings.get(svc, {}).get("metrics_port"))
    return int(value) if value not in (None, "") else None


def container_ports(service: dict[str, Any]) -> set[int]:
    """Container-side ports of ``expose`` and ``ports`` (short and long syntax)."""
    ports: set[int] = set()
    for entry in service.get("expose") or []:
        ports.add(int(str(interpolate(entry)).split("/")[0]))
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.add(int(interpolate(entry["target"])))
        else:
            ports.add(int(str(interpolate(entry)).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def servers(compose: Compose) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(compose name, Chorus service, definition) of each Chorus server."""
    for name, service in (compose.get("services") or {}).items():
        svc = chorus_service(name, service)
        if svc and is_server(service):
            yield name, svc, service


# --- the checks: each yields problems ------------------------------------------------------


def check_variables(compose: Compose, path: Path, settings: Settings) -> Iterator[str]:
    documented = check_env_registry.registry_names()
    defined = check_env_registry.settings_names() | check_env_registry.IMAGE_ONLY
    for name, service in (compose.get("services") or {}).items():
        for variable in sorted(environment(service)):
            if not check_env_registry.NAME.fullmatch(variable):
                continue
            if variable not in documented:
                yield f"{name}: {variable} is not in docs/configuration.md"
            elif variable.startswith("CHORUS_") and variable not in defined:
                yield f"{name}: {variable} is not a setting of any service"


RELAYED = {"CHORUS_CPRO_API_URL": "cpro-api", "CHORUS_PORTAL_BACKEND_URL": "portal"}
"""The base URLs the gateway relays to, and the server each must name."""


def check_ports(compose: Compose, path: Path, settings: Settings) -> Iterator[str]:
    where: dict[str, tuple[str, int | None, int | None]] = {}
    for name, svc, service in servers(compose):
        env = environment(service)
        if svc not in settings:
            yield f"{name}: runs chorus/{svc}, which is no service of services/*"
            continue
        kind, port = listen_port(svc, env, settings)
        metrics = metrics_port(svc, env, settings)
        where[name] = (kind, port, metrics)
        if not metrics:
            yield f"{name}: no metrics port (CHORUS_METRICS_PORT unset or 0): nothing to scrape"
        if port is not None and port == metrics:
            yield f"{name}: CHORUS_{kind}_PORT and CHORUS_METRICS_PORT are both {port}"
        wanted = {p for p in (port, metrics) if p}
        declared = container_ports(service)
        for missing in sorted(wanted - declared):
            yield f"{name}: port {missing} is not in its expose/ports ({sorted(declared)})"
        for extra in sorted(declared - wanted):
            yield (
                f"{name}: exposes {extra}, which is neither CHORUS_{kind}_PORT ({port}) nor"
                f" CHORUS_METRICS_PORT ({metrics})"
            )
        build_port = ((service.get("build") or {}).get("args") or {}).get("PORT")
        if build_port is not None and int(interpolate(build_port)) != port:
            yield f"{name}: build argument PORT {build_port} is not CHORUS_{kind}_PORT ({port})"
    for name, service in (compose.get("services") or {}).items():
        for variable, value in environment(service).items():
            if match := re.fullmatch(r"CHORUS_([A-Z]+)_ADDR", variable):
                target = match.group(1).lower()
                if target not in where:
                    yield f"{name}: {variable} names {target}, which is no Chorus server here"
                    continue
                expected = f"{target}:{where[target][1]}"
                if value != expected:
                    yield f"{name}: {variable}={value}, but {target} listens on {expected}"
            elif variable in RELAYED and value:
                target = RELAYED[variable]
                if target not in where:
                    yield f"{name}: {variable} is set but no {target} server runs"
                    continue
                expected = f"http://{target}:{where[target][1]}"
                if value.rstrip("/") != expected:
                    yield f"{name}: {variable}={value}, but {target} listens on {expected}"


def check_images(compose: Compose, path: Path, settings: Settings) -> Iterator[str]:
    services = compose.get("services") or {}
    built = {str(interpolate(s.get("image"))) for s in services.values() if s.get("build")}
    for name, service in services.items():
        if "image" not in service:
            if not service.get("build"):
                yield f"{name}: neither image nor build"
            continue
        image = str(interpolate(service["image"]))
        if image in built:
            continue
        reference, _, digest = image.partition("@")
        repository, _, tag = reference.rpartition(":")
        if "/" in tag or not repository:  # a registry port, not a tag
            repository, tag = reference, ""
        if digest:
            continue
        if not tag:
            yield f"{name}: image {image} has no tag (pin one)"
        elif tag.lower() in FLOATING_TAGS:
            yield f"{name}: image {image} is not pinned ({tag} moves)"
        elif re.fullmatch(r"v?\d+", tag):
            yield f"{name}: image {image} is not pinned (a bare version {tag} moves)"


def volume_mounts(service: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(type, source, target) of each mount, short and long syntax."""
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            yield entry.get("type", "volume"), str(entry.get("source", "")), str(entry["target"])
            continue
        parts = str(interpolate(entry)).split(":")
        if len(parts) == 1:
            yield "volume", "", parts[0]  # anonymous
            continue
        source, target = parts[0], parts[1]
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        yield kind, source, target


def check_volumes(compose: Compose, path: Path, settings: Settings) -> Iterator[str]:
    declared = set((compose.get("volumes") or {}).keys())
    used: set[str] = set()
    for name, service in (compose.get("services") or {}).items():
        for kind, source, target in volume_mounts(service):
            if kind == "volume" and source:
                used.add(source)
                if source not in declared:
                    yield f"{name}: volume {source} is not declared under volumes:"
            elif kind == "bind" and source.startswith(".") and not (path.parent / source).exists():
                yield f"{name}: bind mount {source} (for {target}) does not exist"
    for unused in sorted(declared - used):
        yield f"volumes: {unused} is declared but no service mounts it"


def has_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck")
    if check is None:
        # Chorus images have a HEALTHCHECK of their own (deploy/docker/Dockerfile).
        return chorus_service("", service) is not None
    return not check.get("disable", False) and check.get("test") not in (["NONE"], "NONE")


def check_dependencies(compose: Compose, path: Path, settings: Settings) -> Iterator[str]:
    services = compose.get("services") or {}
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, spec in depends.items():
            if target not in services:
                yield f"{name}: depends on {target}, which is no service"
                continue
            condition = (spec or {}).get("condition", "service_started")
            if condition == "service_healthy" and not has_healthcheck(services[target]):
                yield f"{name}: waits for {target} to be healthy, but {target} has no healthcheck"
            if condition == "service_completed_successfully" and services[target].get(
                "restart", "no"
            ) not in ("no", '"no"'):
                yield f"{name}: waits for {target} to complete, but {target} restarts"


def prometheus_config(compose: Compose, path: Path) -> tuple[Path, PurePosixPath] | None:
    """The host file mounted as the prometheus service's configuration, and its container path."""
    service = (compose.get("services") or {}).get("prometheus")
    if service is None:
        return None
    target = PurePosixPath("/etc/prometheus/prometheus.yml")
    for argument in service.get("command") or []:
        if str(argument).startswith("--config.file="):
            target = PurePosixPath(str(argument).split("=", 1)[1])
    for kind, source, mount in volume_mounts(service):
        if kind == "bind" and PurePosixPath(mount) == target:
            return path.parent / source, target
    return None


def check_prometheus(compose: Compose, path: Path, settings: Settings) -> Iterator[str]:
    found = prometheus_config(compose, path)
    if found is None:
        yield "prometheus: no prometheus service with its configuration bind-mounted"
        return
    config_path, container_path = found
    if not config_path.is_file():
        return  # check_volumes reports it
    config = yaml.safe_load(config_path.read_text()) or {}
    jobs: dict[str, list[str]] = {}
    for job in config.get("scrape_configs") or []:
        targets = [t for static in job.get("static_configs") or [] for t in static["targets"]]
        jobs[job["job_name"]] = targets
    expected: dict[str, str] = {}
    for name, svc, service in servers(compose):
        metrics = metrics_port(svc, environment(service), settings)
        if metrics:
            expected[f"chorus-{svc}"] = f"{name}:{metrics}"
    for job, target in sorted(expected.items()):
        if job not in jobs:
            yield f"prometheus: no scrape job {job} (for {target})"
        elif jobs[job] != [target]:
            yield f"prometheus: job {job} scrapes {jobs[job]}, but the service serves {target}"
    for job in sorted(set(jobs) - set(expected)):
        if job.startswith("chorus-"):
            yield f"prometheus: job {job} scrapes {jobs[job]}, which is no Chorus server here"
    mounts = {
        PurePosixPath(target): source
        for kind, source, target in volume_mounts(compose["services"]["prometheus"])
        if kind == "bind"
    }
    for pattern in config.get("rule_files") or []:
        rule_path = container_path.parent / pattern
        if rule_path not in mounts and not any(rule_path.is_relative_to(m) for m in mounts):
            yield f"prometheus: rule file {rule_path} is not mounted into the container"


CHECKS: dict[str, Callable[[Compose, Path, Settings], Iterator[str]]] = {
    "variables": check_variables,
    "ports": check_ports,
    "images": check_images,
    "volumes": check_volumes,
    "dependencies": check_dependencies,
    "prometheus": check_prometheus,
}


def problems(path: Path, only: list[str] | None = None) -> list[str]:
    compose = yaml.safe_load(path.read_text())
    settings = service_settings()
    found = []
    for name, check in CHECKS.items():
        if only is None or name in only:
            found.extend(f"{path.name}: {problem}" for problem in check(compose, path, settings))
    return found


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_COMPOSE
    found = problems(path)
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
