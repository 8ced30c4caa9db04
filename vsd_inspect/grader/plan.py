"""The worker's plan for one grading: inputs, layer sessions, and the outputs they must give.

The same sessions serve every concept; what differs is the concept's hidden cases (its
`laws.draw_cases`). Each case role gets the sessions its checks need (`grader/contract.py`):

LAW case k (a large input):
  k/a      seed A: train; y1 = layer(x); y2 = layer(x); eval; yea = layer.forward(x); train;
           y3 = layer(x); BURN calls on a small input; y4, y5 = layer(x), layer(x) (late
           calls); a copy of x
  k/twin   seed A: train; another live layer of seed B draws yd = other(x); y1r = layer.forward(x)
  k/eval   seed B: eval; ye = layer(x)
IDENTITY case: the same sessions, at the identity setting.
SMALL case s (1 to a few elements, or a non-contiguous view):
  s/a      seed A: train; 60 calls (200 for ≤ 12 elements) stacked as ys, alternately
           __call__ and forward; eval; yse = layer(x); a copy of the base input
  s/twin   seed A: train; its first 20 calls again, forward first: ysr must equal them
DEFAULTS case: two layers built as `Class()` draw yn1 and yn2 from one input.
The interface probe: `training`, `train()` / `eval()`, `ValueError` outside the range.

Everything here is data for `worker.py` (which runs it in the candidate's process) and for
the judge (which knows what to expect: every output's shape and kind).
"""

from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from .lawkit import DEFAULTS, IDENTITY, LAW, SMALL, Case, base_shape, view_of

BURN = 40  # calls between y3 and y4: y4 is the 45th call of its layer
# Calls of one layer on a small input: enough that the pooled event rate has power even for a
# single element (200 draws), fewer where each call draws several; the twin repeats the first
# TWIN_CALLS of them in the other order of forward / __call__.
REPEAT_TINY, REPEAT, TWIN_CALLS, TINY = 200, 60, 20, 12


def repeats(case: Case) -> int:
    """How many calls a SMALL case's layer makes."""
    return REPEAT_TINY if int(np.prod(case.shape)) <= TINY else REPEAT


@dataclass
class Plan:
    cases: list[Case]
    inputs: dict[str, np.ndarray]  # what goes to the worker (a view's base, not the view)
    views: dict[str, dict]  # input key -> {"base": key, "view": spec}
    sessions: list[dict]
    # output name -> (the input key it relates to, kind, shape); kinds: float, stack, snapshot, flags
    outputs: dict[str, tuple[str, str, tuple]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)  # case key (or "interface") -> outputs
    flag_names: list[str] = field(default_factory=list)

    def x(self, case: Case) -> np.ndarray:
        """The array the layer is given for `case` (a view when the case has one)."""
        key = f"h_{case.key}"
        if key in self.views:
            return view_of(self.inputs[self.views[key]["base"]], self.views[key]["view"])
        return self.inputs[key]


def _with_seed(args: dict, seed: int) -> dict:
    return {**args, "seed": int(seed)}


def build(laws: ModuleType, param: str, seed: int) -> Plan:
    """The plan of one grading of `laws`' concept in parameterisation `param`."""
    cases: list[Case] = laws.draw_cases(np.random.default_rng(seed), param)
    keys = [c.key for c in cases]
    if len(set(keys)) != len(keys) or not any(c.role == SMALL for c in cases):
        raise ValueError(f"{laws.__name__}: case keys must be unique and include a small case")
    draw = np.random.default_rng([seed, 1])
    plan = Plan(cases, {}, {}, [])
    for c in cases:
        k = f"h_{c.key}"
        if c.view is not None:
            plan.inputs[f"{k}_base"] = laws.make_input(draw, c, base_shape(c.view))
            plan.views[k] = {"base": f"{k}_base", "view": list(c.view)}
            if view_of(plan.inputs[f"{k}_base"], c.view).shape != c.shape:
                raise ValueError(f"{laws.__name__}: case {c.key}'s view does not have its shape {c.shape}")
        else:
            plan.inputs[k] = laws.make_input(draw, c, c.shape)
    burn_on = next(f"h_{c.key}" for c in cases if c.role == SMALL)
    # The largest cases first (the order the worker runs them in and the judge reads them back).
    for c in sorted(cases, key=lambda c: -plan.x(c).nbytes):
        _sessions(plan, c, burn_on)
    _interface(plan, laws, param, cases)
    return plan


def _out(plan: Plan, group: str, name: str, x_key: str, kind: str, shape: tuple) -> str:
    plan.outputs[name] = (x_key, kind, tuple(shape))
    plan.groups.setdefault(group, []).append(name)
    return name


def _sessions(plan: Plan, c: Case, burn_on: str) -> None:
    k = f"h_{c.key}"
    shape = c.shape
    a, b = _with_seed(c.args, c.seeds[0]), _with_seed(c.args, c.seeds[1])

    def out(suffix: str, kind: str = "float", shp: tuple = shape) -> str:
        return _out(plan, c.key, f"{k}_{suffix}", k, kind, shp)

    if c.role in (LAW, IDENTITY):
        plan.sessions += [
            {
                "id": f"{k}/a",
                "args": a,
                "steps": [
                    ["train"],
                    ["call", k, out("y1")],
                    ["call", k, out("y2")],
                    ["eval"],
                    ["forward", k, out("yea")],
                    ["train"],
                    ["call", k, out("y3")],
                    ["burn", burn_on, BURN],
                    ["call", k, out("y4")],
                    ["call", k, out("y5")],
                    ["snapshot", k, out("after", "snapshot")],
                ],
            },
            {"id": f"{k}/twin", "args": a, "steps": [["train"], ["other", b, k, out("yd")], ["forward", k, out("y1r")]]},
            {"id": f"{k}/eval", "args": b, "steps": [["eval"], ["call", k, out("ye")]]},
        ]
    elif c.role == SMALL:
        base = plan.views[k]["base"] if k in plan.views else k
        base_shape_ = plan.inputs[base].shape
        calls = repeats(c)
        plan.sessions += [
            {
                "id": f"{k}/a",
                "args": a,
                "steps": [
                    ["train"],
                    ["repeat", k, calls, out("ys", "stack", (calls, *shape)), False],
                    ["eval"],
                    ["call", k, out("yse")],
                    ["snapshot", base, _out(plan, c.key, f"{k}_after", base, "snapshot", base_shape_)],
                ],
            },
            {"id": f"{k}/twin", "args": a, "steps": [["train"], ["repeat", k, TWIN_CALLS, out("ysr", "stack", (TWIN_CALLS, *shape)), True]]},
        ]
    elif c.role == DEFAULTS:
        plan.sessions += [
            {"id": f"{k}/default-1", "args": {}, "steps": [["call", k, out("yn1")]]},
            {"id": f"{k}/default-2", "args": {}, "steps": [["call", k, out("yn2")]]},
        ]
    else:
        raise ValueError(f"unknown case role {c.role!r}")


def _interface(plan: Plan, laws: ModuleType, param: str, cases: list[Case]) -> None:
    """Flags the judge reads: training True at first, eval()/train() return the layer and set
    it, each out-of-range argument set raises ValueError, each valid extreme constructs."""
    probe = next(c for c in cases if c.role == LAW)
    bad, good = laws.bad_args(param), laws.good_args(param)
    plan.flag_names = [
        "`training` is True at first",
        "eval() returns the layer and clears `training`",
        "train() returns the layer and sets `training`",
        *(f"{_fmt(args)} raises ValueError" for args in bad),
        *(f"{_fmt(args)} is accepted" for args in good),
    ]
    plan.sessions.append(
        {
            "id": "interface",
            "kind": "interface",
            "args": _with_seed(probe.args, probe.seeds[1]),
            "bad": [_with_seed(a, 0) for a in bad],
            "good": [_with_seed(a, 0) for a in good],
            "flags": _out(plan, "interface", "i_flags", "", "flags", (len(plan.flag_names),)),
        }
    )


def _fmt(args: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())
