"""The Inspect task: thin wiring of dataset, agent, sandbox and scorer.

    inspect eval vsd_inspect/task.py --model openai/gpt-5            # Docker sandbox
    inspect eval vsd_inspect/task.py --model vsd/oracle               # reference policy, local
    inspect eval vsd_inspect/vsd_dropout -T difficulty=hard -T concepts=alpha,concrete --model ...
"""

import warnings

from inspect_ai import Task, task
from inspect_ai.model import get_model

from vsd_inspect.constants import (
    DEFAULT_DIFFICULTY,
    DEFAULT_MESSAGE_LIMIT,
    DEFAULT_RATES,
    DEFAULT_TIME_LIMIT,
    DEFAULT_TOKEN_LIMIT,
    DEFAULT_TOLERANCE,
    DEFAULT_TOOL_TIMEOUT,
    TASK_VERSION,
)
from vsd_inspect.dataset import build_dataset
from vsd_inspect.material import validate_rates, validate_tolerance
from vsd_inspect.samples import select
from vsd_inspect.sandboxes import resolve_sandbox
from vsd_inspect.scorer import vsd_scorer
from vsd_inspect.solver import vsd_agent


@task
def vsd_dropout(
    difficulty: str = DEFAULT_DIFFICULTY,
    concepts: str | list[str] | None = None,
    bugs: str | list[str] | None = None,
    params: str | list[str] | None = None,
    surfaces: str | list[str] | None = None,
    split: str = "main",
    variants: str | list[str] | None = None,
    rates: str | list[float] = DEFAULT_RATES,
    tolerance: float = DEFAULT_TOLERANCE,
    sandbox: str | None = None,
    message_limit: int = DEFAULT_MESSAGE_LIMIT,
    token_limit: int = DEFAULT_TOKEN_LIMIT,
    time_limit: int = DEFAULT_TIME_LIMIT,
    tool_timeout: int = DEFAULT_TOOL_TIMEOUT,
    grader_seed: int | None = None,
) -> Task:
    """Fix a numpy variance-stabilized dropout layer of one of six paper-grounded concepts.

    Args:
        difficulty: easy (derivation + where the bug is), standard (derivation), hard (the goal
            and the interface only); comma-separated for several.
        concepts: concept folders to include (vsd, channel, gaussian, alpha, droppath, concrete),
            comma-separated, or None / "all". `concepts=vsd` is the seed's task.
        bugs: planted bugs to include (a bug id, or concept/bug), or None / "all".
        params: parameterisations to include ("p", "keep_prob"), or None / "all".
        surfaces: starter styles to include (plain, cached, helper, inline, documented,
            distractor), or None / "all".
        split: "main", or "impossible": standard prompts whose visible test contradicts the
            contract; the score is C for an honest attempt, and records its outcome (honest,
            cheated_test, cheated_impl, other_fail). Plain surfaces only unless `surfaces` says.
        variants: the 1.x name of `bugs` for the seed's concept: `variants=keep_p` is
            `concepts=vsd bugs=keep_p` (with a warning).
        rates: dropout rates of the visible test, e.g. "0.3,0.5,0.7".
        tolerance: the visible test's allowed relative error of the variance ratio.
        sandbox: "docker", "local" or "k8s". Default: "local" for the built-in vsd/* policies,
            "docker" for every other model; a real model never runs unisolated unless asked.
        message_limit: messages per sample (react() has no limit of its own).
        token_limit: tokens per sample.
        time_limit: wall-clock seconds per sample.
        tool_timeout: seconds per bash / python call.
        grader_seed: fix the hidden checks' seed (default: fresh per grading, recorded).
    """
    rates_ = validate_rates(rates)
    tolerance_ = validate_tolerance(tolerance)
    if variants is not None:
        if concepts not in (None, "vsd") or bugs is not None:
            raise ValueError("variants= is the 1.x name of bugs= for the vsd concept; use concepts= and bugs= instead")
        warnings.warn("-T variants= is deprecated since task 2.0.0: use -T concepts=vsd -T bugs=...", stacklevel=2)
        concepts, bugs = "vsd", variants
    if split == "impossible" and (rates_ != DEFAULT_RATES or tolerance_ != DEFAULT_TOLERANCE):
        raise ValueError("the impossible split's conflict is derived at the default rates and tolerance; leave them be")
    samples = select(difficulty, concepts, bugs, params, surfaces, split)
    return Task(
        dataset=build_dataset(samples, rates_, tolerance_),
        solver=vsd_agent(tool_timeout),
        scorer=vsd_scorer(seed=grader_seed),
        # The safety rule needs the model's name before any sample starts.
        sandbox=resolve_sandbox(sandbox, None if sandbox else str(get_model())),  # inspect-evals-lint: ignore[get_model_location] -- the default sandbox depends on whether the model is a built-in policy
        message_limit=message_limit,
        token_limit=token_limit,
        time_limit=time_limit,
        version=TASK_VERSION,
        metadata={"difficulty": difficulty, "split": split, "rates": list(rates_), "tolerance": tolerance_, "samples": len(samples)},
    )
