"""(g) Harbor trial wall time: `harbor run` on the seed's sample exported as a Harbor task
(rl/harbor_export.py), one trial per run, one run at a time, with Harbor's own reference
agents: `oracle` (the task's solve.sh; must get 1.0) and `nop` (does nothing; must get 0.0).

It runs in the Python 3.12 environment that harbor_env.sh makes, through rl/harbor_run.py (the
same code tests/rl runs Harbor with), on the Docker engine with the sandbox image, which both
of the task's containers are built from. Without either, the section says why it was skipped.
The rewards are read from each trial's result.json: `harbor run` exits 0 whatever happened.
"""

import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from vsd_inspect.bench.evals import docker_unavailable
from vsd_inspect.bench.measure import fmt_s, load_average, summary
from vsd_inspect.rl import harbor_run

if TYPE_CHECKING:
    from vsd_inspect.bench.report import Report

HARBOR_AGENTS = {"oracle": 1.0, "nop": 0.0}  # Harbor's agent -> the reward it must get
HARBOR_MAX_TRIALS = 3  # trials per agent: min(--repeat, this), 1 with --quick; a trial takes ~15 s
HARBOR_PHASES = ("environment_setup", "agent_execution", "verifier")  # as result.json names them


def harbor_trials(trials: int, report: "Report") -> dict:
    """One untimed oracle run (Harbor's imports and the page cache; each trial still builds its
    task's image, which Harbor removes at teardown), then `trials` rounds of one oracle and one
    nop run, interleaved with the order rotated."""
    from vsd_inspect.rl import harbor_export
    from vsd_inspect.rl.samples import samples_by_id
    from vsd_inspect.samples import SEED_SAMPLE

    try:
        root = harbor_run.env_path()
    except (OSError, subprocess.SubprocessError) as ex:
        return {"skipped": f"`bash vsd_inspect/rl/harbor_env.sh --path` failed: {ex}"}
    why = harbor_run.environment_problem(root) or docker_unavailable()
    if why is not None:
        return {"skipped": why}
    env = harbor_run.RLEnv(root)
    version = env.harbor_version()
    with tempfile.TemporaryDirectory(prefix="vsd-bench-harbor-") as tmp:
        [task] = harbor_export.export(samples_by_id([SEED_SAMPLE]), Path(tmp) / "dataset")

        def trial(agent: str, job_name: str) -> dict:
            config = {
                "job_name": job_name,
                "n_concurrent_trials": 1,
                "agents": [{"name": agent}],
                "tasks": [{"path": str(task)}],
            }
            return _trial_row(agent, harbor_run.run_job(env, Path(tmp), config))

        warm_up = trial("oracle", "warm-up")
        _check(report, "(g) harbor warm-up", warm_up)
        rows, loads = [], []
        for i in range(trials):
            order = list(HARBOR_AGENTS) if i % 2 == 0 else list(HARBOR_AGENTS)[::-1]
            for agent in order:
                row = trial(agent, f"{agent}-{i}")
                _check(report, f"(g) harbor {agent}", row)
                rows.append(row)
            loads.append(load_average())
    return {
        "harbor": version,
        "sample": SEED_SAMPLE,
        "command": "harbor run -c JOB.json -y",
        "trials_per_agent": trials,
        "warm_up": warm_up,
        "runs": rows,
        "agents": {agent: _agent_figures([r for r in rows if r["agent"] == agent]) for agent in HARBOR_AGENTS},
        "load_per_round": loads,
    }


def _trial_row(agent: str, job: harbor_run.HarborJob) -> dict:
    """One run's figures: its process's wall time, and from its one trial's result.json the
    trial's span, its phases' spans, its reward and its error."""
    row: dict = {"agent": agent, "wall": job.seconds, "trials": len(job.trials)}
    if len(job.trials) != 1:
        error = f"{len(job.trials)} trials in the job, not 1"
        return row | {"trial": None, "phases": {}, "reward": None, "error": error}
    [t] = job.trials
    spans = {p: t.get(p) or {} for p in HARBOR_PHASES}  # a phase the trial did not reach is null
    phases = {
        p: harbor_run.span_seconds(s["started_at"], s["finished_at"])
        for p, s in spans.items()
        if s.get("started_at") and s.get("finished_at")
    }
    error = t.get("exception_info")
    rewards = (t.get("verifier_result") or {}).get("rewards") or {}
    return row | {
        "trial": harbor_run.span_seconds(t["started_at"], t["finished_at"])
        if t.get("started_at") and t.get("finished_at")
        else None,
        "phases": phases,
        "reward": rewards.get("reward"),
        "error": None if error is None else f"{error.get('exception_type')}: {error.get('exception_message')}"[:300],
    }


def _check(report: "Report", where: str, row: dict) -> None:
    detail = f"({row['error']})" if row["error"] else ""
    report.check_reward(where, row["reward"], detail, expected=HARBOR_AGENTS[row["agent"]])


def _agent_figures(rows: list[dict]) -> dict:
    import statistics

    timed = [r for r in rows if r["trial"] is not None]
    return {
        "wall": summary([r["wall"] for r in rows]),
        "trial": summary([r["trial"] for r in timed]) if timed else None,
        "phases": {
            p: statistics.median(r["phases"][p] for r in timed if p in r["phases"])
            for p in HARBOR_PHASES
            if any(p in r["phases"] for r in timed)
        },
        "rewards": [r["reward"] for r in rows],
    }


def render_harbor(d: dict) -> list[str]:
    w = d["warm_up"]
    lines = [
        f"harbor {d['harbor']} · `{d['command']}`, one trial per run, -a AGENT on {d['sample']} "
        "(as `vsd-inspect export-harbor` writes it)",
        f"{d['trials_per_agent']} run(s) of each agent, interleaved (order rotated), after one untimed oracle run "
        f"({fmt_s(w['wall'])}, reward {w['reward']!r})",
        "",
        f"  {'agent':7} {'runs':>4} {'wall':>9} {'min':>9} {'trial':>9} {'min':>9} {'env setup':>10} {'agent':>9} "
        f"{'verifier':>9}  rewards",
    ]
    for agent, a in d["agents"].items():
        trial, phases = a["trial"] or {}, a["phases"]
        cells = [fmt_s(phases.get(p)) for p in HARBOR_PHASES]
        lines.append(
            f"  {agent:7} {a['wall']['n']:>4} {fmt_s(a['wall']['median']):>9} {fmt_s(a['wall']['min']):>9} "
            f"{fmt_s(trial.get('median')):>9} {fmt_s(trial.get('min')):>9} {cells[0]:>10} {cells[1]:>9} {cells[2]:>9}  "
            + ", ".join(map(repr, a["rewards"]))
        )
    lines += [
        "  medians and minima; wall = the whole `harbor run` process (Harbor's start-up, the image build, both",
        "  containers, the grading, the teardown); trial = the trial's started_at..finished_at in its result.json,",
        "  and its phases from the same file (verifier = the grading container's start and the grading)",
    ]
    return lines
