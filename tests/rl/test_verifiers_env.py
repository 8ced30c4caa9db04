"""The verifiers 0.4.0 taskset (vsd_inspect/rl/verifiers_env.py), offline: `vf-eval` with the
bash harness in the subprocess runtime against a scripted OpenAI-compatible server on
127.0.0.1 — a scripted fix gets 1.000, a no-op 0.000 — and infrastructure failures raise
instead of scoring 0. Needs the Python 3.12 environment (vsd_inspect/rl/harbor_env.sh) and
PyPI (the bash harness installs its chat program's packages with uv on first use)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vsd_inspect.rl.samples import samples_by_id

pytestmark = pytest.mark.slow

HERE = Path(__file__).absolute().parent

UNIT = r"""
import asyncio, json, sys
import verifiers.v1 as vf
from verifiers.v1.runtimes import ProgramResult
from verifiers.v1.runtimes.subprocess import SubprocessConfig, SubprocessRuntime
from vsd_inspect.grader.categories import HarnessError
from vsd_inspect.rl import verifiers_env
from vsd_inspect.rl.verifiers_env import VsdTaskset, VsdTasksetConfig

class Trace:  # the two things the reward touches
    def __init__(self): self.metrics, self.info = {}, {}
    def record_metrics(self, values): self.metrics.update(values)

class Fake:
    def __init__(self, result): self.result = result
    async def run(self, argv, env): return self.result

async def main():
    out = {}
    tasks = list(VsdTaskset(VsdTasksetConfig(difficulty="hard", concepts=["vsd"], bugs=["keep_p", "sqrt_p"],
                                             params=["p"], surfaces=["plain"])))
    out["ids"] = [t.data.id for t in tasks]
    out["keys"] = [t.key for t in tasks]
    out["prompt_has_contract"] = "test_dropout.py" in tasks[0].data.prompt and "dropout.py" in tasks[0].data.prompt
    task = tasks[0]
    rt = SubprocessRuntime(SubprocessConfig())
    await rt.start()
    try:
        await task.setup(None, rt)
        out["written"] = sorted(p.name for p in rt.workdir.iterdir())
        trace = Trace()
        out["starter_reward"] = await task.solved(trace, rt)
        out["starter_category"] = trace.info["vsd_verdict"]["category"]
        out["metric_keys"] = sorted(trace.metrics)
        (rt.workdir / "dropout.py").write_bytes(open(sys.argv[1], "rb").read())
        trace = Trace()
        out["fixed_reward"] = await task.solved(trace, rt)
        (rt.workdir / "test_dropout.py").unlink()
        trace = Trace()
        out["deleted_test_reward"] = await task.solved(trace, rt)
        out["deleted_test_category"] = trace.info["vsd_verdict"]["category"]
        def broken(*a, **k): raise HarnessError("the worker could not be started")
        verifiers_env._grade_queued = broken
        try:
            await task.solved(Trace(), rt)
            out["harness"] = "scored"
        except vf.TaskError as ex:
            out["harness"] = str(ex)
    finally:
        await rt.stop()
    for name, result in {"no_python": ProgramResult(127, "", "python3: not found"),
                         "garbage": ProgramResult(0, "hello", "")}.items():
        try:
            await task.solved(Trace(), Fake(result))
            out[name] = "scored"
        except vf.TaskError as ex:
            out[name] = str(ex)
    print(json.dumps(out))

asyncio.run(main())
"""


def _reference(tmp_path: Path, sample_id: str) -> Path:
    path = tmp_path / f"{sample_id}.py"
    path.write_bytes(samples_by_id([sample_id])[0].reference)
    return path


def test_taskset_setup_reward_and_failures(rl_env, tmp_path: Path) -> None:
    fix = _reference(tmp_path, "vsd-keep_p-p-plain-hard")
    proc = rl_env.run([str(rl_env.python), "-c", UNIT, str(fix)], timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ids"] == out["keys"] == ["vsd-keep_p-p-plain-hard", "vsd-sqrt_p-p-plain-hard"]
    assert out["prompt_has_contract"]
    assert out["written"] == ["dropout.py", "test_dropout.py"]
    assert (out["starter_reward"], out["starter_category"]) == (0.0, "tests_failed")
    assert "verdict_category_tests_failed" in out["metric_keys"] and "reward" not in out["metric_keys"]
    assert out["fixed_reward"] == 1.0
    assert (out["deleted_test_reward"], out["deleted_test_category"]) == (0.0, "test_modified")
    assert out["harness"].startswith("the grader failed: the worker could not be started")
    assert out["no_python"].startswith("reading the workspace back failed (exit 127)")
    assert out["garbage"].startswith("reading the workspace back failed (exit 0)")


FIXED, OTHER = "vsd-scale_mean-p-plain-standard", "vsd-keep_p-p-plain-standard"


@pytest.fixture(scope="module")
def scripted_server(tmp_path_factory):
    """The scripted OpenAI-compatible server on 127.0.0.1; stops with the module (or by itself)."""
    d = tmp_path_factory.mktemp("scripted")
    port_file, log = d / "port", d / "requests.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "scripted_openai.py"), "--fix-file", str(_reference(d, FIXED)),
         "--port-file", str(port_file), "--log", str(log), "--lifetime", "1800"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not port_file.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the scripted server did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port_file.read_text()}/v1", log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _vf_eval(rl_env, tmp_path: Path, base_url: str, model: str, samples: list[str]) -> list[dict]:
    """One `vf-eval` run on these samples; its traces (traces.jsonl holds one episode per line,
    each with its agents' traces)."""
    env = {**rl_env.environ(), "VSD_SCRIPTED_KEY": "unused"}
    proc = rl_env.run(
        [rl_env.bin("vf-eval"), "vsd_dropout", "-m", model, "-c", "2", "--env.taskset.samples", *samples,
         "--env.agent.harness.id", "bash", "--env.agent.runtime.type", "subprocess", "--no-push", "--no-rich",
         "--client.base-url", base_url, "--client.api-key-var", "VSD_SCRIPTED_KEY",
         "-o", str(tmp_path / "vf"), "--run.dir", model],
        env=env, timeout=1200,
    )
    path = tmp_path / "vf" / model / "traces.jsonl"
    assert proc.returncode == 0 and path.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    episodes = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert all(e["ok"] and e["errors"] == [] for e in episodes), [e["errors"] for e in episodes]
    return [trace for e in episodes for trace in e["traces"]]


def test_vf_eval_scripted_fix_gets_1_and_noop_gets_0(rl_env, scripted_server, tmp_path: Path) -> None:
    base_url, log = scripted_server
    expected = {"scripted-fix": {FIXED: "passed"}, "scripted-nop": {FIXED: "no_sqrt", OTHER: "tests_failed"}}
    for model, categories in expected.items():
        traces = _vf_eval(rl_env, tmp_path, base_url, model, list(categories))
        got = {t["info"]["vsd_verdict"]["sample"]: t["info"]["vsd_verdict"]["category"] for t in traces}
        assert got == categories
        for trace in traces:
            assert trace["errors"] == [], trace["errors"]
            category = trace["info"]["vsd_verdict"]["category"]
            assert trace["rewards"]["solved"]["score"] == (1.0 if category == "passed" else 0.0)
            assert trace["metrics"][f"verdict_category_{category}"] == 1.0
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    fix = [r for r in requests if r["model"] == "scripted-fix"]
    assert [r["finish"] for r in fix] == ["tool_calls", "stop"]  # one bash call, then the summary
    assert all(r["stream"] for r in requests)
