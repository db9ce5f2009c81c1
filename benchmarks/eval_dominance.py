"""Why a baseline point escapes point-wise dominance: the replay with the router's cost
handling and the prior cap varied one at a time (a diagnosis, no constant is chosen here).

``python -m benchmarks.eval_dominance [--seeds 0-4] [--variants now,cap100,...]
[--matrices routerbench,rb-winogrande,...]`` replays the test split of RouterBench (or of
the named matrices of :func:`benchmarks.eval_router_priors.with_train`) with every
policy the dominance check reads and prints, per matrix, variant and seed, the area of
``outcomes`` minus that of ``fixed-per-task`` and the baseline points no single point of
ours dominates (besides the matched cheapest ones). Variants (see :data:`VARIANTS`): the
prior cap, the cost reference (the dearest candidate's all-task cost per call, or the
dearest candidate's cost in the task, as before), and whether the train split's per-task
costs are imported with its outcomes. The older behaviours are restored by wrapping the
router for the run, nothing else.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.eval_router_priors import TEST_POLICIES, with_train
from outcomes.routing import _replay_router, _router
from outcomes.routing._replay import replay

VARIANTS: dict[str, tuple[float, bool, bool]] = {
    "before": (100.0, False, False),
    "cap400-task-ref-no-costs": (400.0, False, False),
    "cap400-task-ref": (400.0, False, True),
    "cap100": (100.0, True, True),
    "now": (400.0, True, True),
    "no-cap": (math.inf, True, True),
}
"""name -> (prior cap, all-task cost reference, per-task costs imported)."""


@contextmanager
def _variant(all_task_ref: bool, import_costs: bool) -> Iterator[None]:
    static, history = _router.Router._static_one, _replay_router.ReplayProfiles.history

    def task_ref(self: Any, *a: Any, **k: Any) -> Any:
        return (*static(self, *a, **k)[:-1], None)  # no reference: the task's dearest

    def no_costs(self: Any, task: str, model: str, s: float, f: float, *_: Any) -> None:
        history(self, task, model, s, f)

    try:
        if not all_task_ref:
            _router.Router._static_one = task_ref  # type: ignore[method-assign]
        if not import_costs:
            _replay_router.ReplayProfiles.history = no_costs  # type: ignore[method-assign,assignment]
        yield
    finally:
        _router.Router._static_one = static  # type: ignore[method-assign]
        _replay_router.ReplayProfiles.history = history  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_dominance")
    parser.add_argument("--seeds", default="0-4", help="first-last seed")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--matrices", default="routerbench")
    args = parser.parse_args(argv)
    first, last = (int(x) for x in args.seeds.split("-"))
    for seed in range(first, last + 1):
        matrices = with_train(seed)
        runs = itertools.product(args.variants.split(","), args.matrices.split(","))
        for name, matrix in runs:
            cap, all_task_ref, import_costs = VARIANTS[name]
            with _variant(all_task_ref, import_costs):
                rep = replay(matrices[matrix], seed=seed, policies=TEST_POLICIES, prior_cap=cap)
            checks = rep["checks"]
            matched = set(checks["baselines_matched_not_dominated"])
            row = {
                "matrix": matrix,
                "variant": name,
                "seed": seed,
                "aiq_minus_fixed": round(checks["aiq_outcomes_minus_fixed_per_task"], 4),
                "not_dominated_by_a_point": [
                    b for b in checks["baselines_not_dominated"] if b not in matched
                ],
            }
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
