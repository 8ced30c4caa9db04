"""A verifiers v1 taskset of the task: every sample as a `vf.Task`, rewarded by the hardened grader.

Needs the optional `verifiers` package (0.4.0, v1 only); nothing else in vsd_inspect imports
this module. `vf-eval` finds a taskset by a top-level module name, so it is also exported as
the module `vsd_dropout` (vf_taskset/vsd_dropout.py; put that directory on the path, or
install it as a top-level module):

    vf-eval vsd_dropout -m MODEL --env.agent.harness.id bash --env.agent.runtime.type subprocess
        --no-push [--env.taskset.difficulty hard] [--env.taskset.concepts vsd alpha]
        [--env.taskset.samples vsd-keep_p-p-plain-standard ...]

What a rollout does:

- setup writes the sample's starter files (dropout.py, test_dropout.py) through the runtime,
  into its working directory;
- the harness (any: bash, codex, ...) lets the model work there;
- the reward reads dropout.py and test_dropout.py back out of the runtime, in one exec of the
  grader's own reader (`grader/safe_read.py`, run with the runtime's python3 exactly as the
  Inspect scorer runs it in the agent's sandbox: size caps, links refused, the workspace
  listing for the tamper signals), and grades them on the host as `grade_solution` does
  (`judge.grade`, or `impossible.grade` on the impossible split): reward 1.0 or 0.0, the
  verdict's category (and outcome) and check counts as metrics (the keys of a Harbor
  export's reward.json), the verdict's summary in `trace.info["vsd_verdict"]`.

Infrastructure failures raise `vf.TaskError` (the rollout records an error, never a reward
of 0): the reader could not run or printed no listing, or the grader raised `HarnessError`.
A missing, linked or oversized file is a verdict, as everywhere else.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import verifiers.v1 as vf
from pydantic import Field

from vsd_inspect.constants import DEFAULT_DIFFICULTY
from vsd_inspect.grader import categories, impossible, safe_read
from vsd_inspect.grader.categories import HarnessError
from vsd_inspect.grader.jail import Limits
from vsd_inspect.rl import samples as rl_samples
from vsd_inspect.rl.bundle_grade import reward_metrics
from vsd_inspect.rl.samples import CAPS, WORKSPACE_FILES, RLSample

_SAFE_READ_SOURCE = Path(safe_read.__file__).read_text(encoding="utf-8")
_CAPS = {WORKSPACE_FILES[k]: CAPS[k] for k in ("candidate", "test")}
_READ_TIMEOUT = 60.0
# Gradings on the host share its cores: one at a time per core, as the Inspect scorer queues them.
_GRADINGS = threading.BoundedSemaphore(
    max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
)


def _grade_queued(*args, **kwargs) -> dict:
    with _GRADINGS:
        return rl_samples.grade(*args, **kwargs)


class VsdTaskData(vf.TaskData):
    sample_id: str = ""
    files: dict[str, str] = Field(default_factory=dict)
    """The starter workspace, {name: base64 of the bytes}; test_dropout.py is also the
    pristine visible test the grader hashes. The reference fix is never here."""
    metadata: dict = Field(default_factory=dict)
    """The sample's metadata: concept, bug, param, surface, difficulty, split, rates, ..."""

    def sample(self) -> RLSample:
        """The sample, for grading (its reference is not carried: grading never needs it)."""
        files = {name: base64.b64decode(data) for name, data in self.files.items()}
        return RLSample(self.sample_id, self.prompt_text, files, b"", self.metadata)


class VsdTaskConfig(vf.TaskConfig):
    grader_seed: int | None = None
    """Fix the hidden checks' seed; None draws a fresh one per grading (the verdict records it)."""


class VsdTask(vf.Task[VsdTaskData, vf.State, VsdTaskConfig]):
    @property
    def key(self) -> str:
        return self.data.sample_id

    async def setup(self, trace: vf.Trace, runtime: vf.Runtime) -> None:
        for name, data in self.data.sample().files.items():
            await runtime.write(name, data)

    async def read_workspace(self, runtime: vf.Runtime) -> tuple[list[str], dict]:
        """safe_read.collect on the runtime's working directory, run there in one exec."""
        args = [str(x) for name, cap in _CAPS.items() for x in (name, cap)]
        try:
            result = await asyncio.wait_for(
                runtime.run(["python3", "-I", "-c", _SAFE_READ_SOURCE, *args], {}), _READ_TIMEOUT
            )
        except (TimeoutError, OSError, vf.SandboxError) as ex:
            raise vf.TaskError(f"reading the workspace back failed: {type(ex).__name__}: {ex}") from ex
        try:
            found = json.loads(result.stdout)
            files = [str(path) for path in found["files"]]
            read = {}
            for name in _CAPS:
                data, why = found["read"][name]
                read[name] = (None if data is None else base64.b64decode(data), None if why is None else str(why))
        except (ValueError, KeyError, TypeError) as ex:
            raise vf.TaskError(
                f"reading the workspace back failed (exit {result.exit_code}): {result.stderr.strip()[-300:]}"
            ) from ex
        return files, read

    @vf.reward(weight=1.0)
    async def solved(self, trace: vf.Trace, runtime: vf.Runtime) -> float:
        files, read = await self.read_workspace(runtime)
        (candidate, why), (test, test_why) = read[WORKSPACE_FILES["candidate"]], read[WORKSPACE_FILES["test"]]
        try:
            verdict = await asyncio.to_thread(
                _grade_queued,
                self.data.sample(),
                candidate,
                test,
                files=files,
                candidate_error=why,
                test_error=test_why,
                seed=self.config.grader_seed,
                limits=Limits(),
            )
        except HarnessError as ex:
            raise vf.TaskError(f"the grader failed: {ex}") from ex
        try:
            metrics = reward_metrics(verdict, categories.ALL, impossible.OUTCOMES)
        except ValueError as ex:
            raise vf.TaskError(f"the grader returned no verdict: {ex}") from ex
        trace.record_metrics({k: v for k, v in metrics.items() if k != "reward"})
        trace.info["vsd_verdict"] = {
            "sample": self.data.sample_id,
            "category": verdict["category"],
            "outcome": verdict.get("outcome"),
            "feedback": verdict["feedback"],
            "checks_failed": [c["name"] for c in verdict["checks"] if not c["passed"]],
            "hidden_seed": verdict["hidden_seed"],
            "signals": verdict["signals"],
            "grader_version": verdict["grader_version"],
        }
        return metrics["reward"]


class VsdTasksetConfig(vf.TasksetConfig):
    """Which samples: the Inspect task's selection (`-T difficulty= concepts= ...`)."""

    task: VsdTaskConfig = VsdTaskConfig()
    difficulty: str = DEFAULT_DIFFICULTY
    """easy, standard or hard, or several comma-separated."""
    concepts: list[str] | None = None
    """Concept folders; None for all."""
    bugs: list[str] | None = None
    """Planted bugs (bug or concept/bug); None for all."""
    params: list[str] | None = None
    """Parameterisations; None for all."""
    surfaces: list[str] | None = None
    """Starter styles; None for all."""
    split: str = "main"
    """main or impossible."""
    samples: list[str] | None = None
    """Exactly these sample ids (then the fields above are ignored)."""


def task_data(sample: RLSample) -> VsdTaskData:
    return VsdTaskData(
        id=sample.id,
        name=sample.id,
        sample_id=sample.id,
        prompt=sample.prompt,
        files={name: base64.b64encode(data).decode() for name, data in sample.files.items()},
        metadata=dict(sample.metadata),
    )


class VsdTaskset(vf.Taskset[VsdTask, VsdTasksetConfig]):
    def load(self) -> Iterator[VsdTask]:
        c = self.config
        chosen = (
            rl_samples.samples_by_id(c.samples)
            if c.samples
            else rl_samples.family_samples(c.difficulty, c.concepts, c.bugs, c.params, c.surfaces, c.split)
        )
        for sample in chosen:
            yield VsdTask(task_data(sample), self.config.task)


__all__ = ["VsdTaskset"]
