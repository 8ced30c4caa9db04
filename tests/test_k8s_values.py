"""vsd_inspect/sandbox/values.yaml against what inspect-k8s-sandbox expects.

No cluster: the values are checked against the built-in chart's values schema and
the package's own null-value check, and compared with what the package's
compose-to-values converter makes of compose.yaml.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

k8s_sandbox = pytest.importorskip("k8s_sandbox")
from k8s_sandbox._helm import validate_no_null_values  # noqa: E402
from k8s_sandbox.compose import convert_compose_to_helm_values  # noqa: E402
from k8s_sandbox.compose._converter import ComposeConverterError  # noqa: E402

SANDBOX_DIR = Path(__file__).resolve().parents[1] / "vsd_inspect" / "sandbox"
VALUES = SANDBOX_DIR / "values.yaml"
COMPOSE = SANDBOX_DIR / "compose.yaml"
CHART = Path(k8s_sandbox.__file__).parent / "resources" / "helm" / "agent-env"

IMAGE = "vsd-inspect-sandbox:1"
WORKDIRS = {"default": "/home/agent/work", "grader": "/home/agent/grading"}
RESOURCES = {
    "limits": {"cpu": "1", "memory": "1Gi"},
    "requests": {"cpu": "1", "memory": "1Gi"},
}
SECURITY_CONTEXT = {
    "runAsUser": 1000,
    "runAsGroup": 1000,
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
}
# compose keys with no counterpart in the converter (and in a pod spec)
COMPOSE_ONLY_KEYS = {"pids_limit"}


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def converted(compose: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The converter's values for compose.yaml less the keys it cannot map."""
    stripped = copy.deepcopy(compose)
    for service in stripped["services"].values():
        for key in COMPOSE_ONLY_KEYS:
            service.pop(key)
    path = tmp_path_factory.mktemp("compose") / "compose.yaml"
    path.write_text(yaml.safe_dump(stripped))
    logging.getLogger("k8s_sandbox").setLevel(logging.ERROR)  # "Ignoring `build`" etc.
    return convert_compose_to_helm_values(path)


def _quantity(value: str | int | float) -> float:
    """A Kubernetes quantity ("1", "500m", "1Gi") or Docker byte value ("1g") as a number."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|g|)", str(value))
    assert m, f"unexpected quantity {value!r}"
    scale = {"": 1, "m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 2**10, "g": 2**30}
    return float(m.group(1)) * scale[m.group(2)]


def _helm_merge(base: Any, override: Any) -> Any:
    """Helm's coalescing of user values over chart defaults: maps merge, the rest replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _helm_merge(base.get(key), value)
        return merged
    return copy.deepcopy(override)


def test_values_match_the_chart_schema(values: dict[str, Any]) -> None:
    # Helm validates the chart's defaults coalesced with the given values.
    validate_no_null_values(values, str(VALUES))
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    jsonschema.validate(_helm_merge(defaults, values), schema)
    with pytest.raises(jsonschema.ValidationError):  # the schema does bite
        broken = copy.deepcopy(values)
        broken["services"]["grader"]["networkIsolated"] = "yes"
        jsonschema.validate(_helm_merge(defaults, broken), schema)


def test_no_network(values: dict[str, Any]) -> None:
    assert values["allowDomains"] == []
    assert values["allowDomainsPorts"] == []
    assert values["allowEntities"] == []
    assert values["allowCIDR"] == []
    assert values["networkPolicy"] == {"enabled": True}
    assert "networks" not in values
    for service in values["services"].values():
        assert service["networkIsolated"] is True
        assert "networks" not in service


def test_services(values: dict[str, Any]) -> None:
    assert list(values["services"]) == ["default", "grader"]
    for name, service in values["services"].items():
        assert service["image"] == IMAGE
        assert service["imagePullPolicy"] == "IfNotPresent"
        assert service["command"] == ["tail", "-f", "/dev/null"]
        assert service["args"] == []
        assert service["workingDir"] == WORKDIRS[name]
        assert service["resources"] == RESOURCES
        assert service["securityContext"] == SECURITY_CONTEXT
        assert service["dnsRecord"] is False


def test_values_mirror_compose(values: dict[str, Any], compose: dict[str, Any], converted: dict[str, Any]) -> None:
    assert set(converted) == {"services"}  # no networks, volumes or allowances
    assert list(converted["services"]) == list(values["services"]) == list(compose["services"])
    for name, ours in values["services"].items():
        theirs = converted["services"][name]
        src = compose["services"][name]
        assert theirs["image"] == ours["image"] == src["image"]
        assert theirs["workingDir"] == ours["workingDir"] == src["working_dir"]
        assert theirs["networkIsolated"] is True
        # what runs: converter emits args + `command: null` (image entrypoint, none here)
        assert theirs["command"] is None
        assert theirs["args"] == ours["command"] + ours["args"] == src["command"]
        # limits: compose cpus 1.0 / mem_limit 1g == 1 cpu / 1Gi, requests == limits
        for section in ("limits", "requests"):
            for key in ("cpu", "memory"):
                assert _quantity(theirs["resources"][section][key]) == _quantity(ours["resources"][section][key])
        assert _quantity(ours["resources"]["limits"]["memory"]) == _quantity(src["mem_limit"]) == 2**30
        assert _quantity(ours["resources"]["limits"]["cpu"]) == src["cpus"] == 1.0
        # identity and privileges: ours adds runAsNonRoot on top
        assert theirs["securityContext"] == {
            "runAsUser": 1000,
            "runAsGroup": 1000,
            "allowPrivilegeEscalation": False,
        }
        assert {k: ours["securityContext"][k] for k in theirs["securityContext"]} == theirs["securityContext"]
        assert ours["securityContext"]["runAsNonRoot"] is True


def test_compose_itself_is_refused_by_the_converter() -> None:
    # Why values.yaml exists: the k8s provider cannot take compose.yaml as is.
    with pytest.raises(ComposeConverterError, match=r"Unsupported key\(s\) in 'service': \{'pids_limit'\}"):
        convert_compose_to_helm_values(COMPOSE)
