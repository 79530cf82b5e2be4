"""Fuzz decode → route → apply for a given time: the properties of tests/fuzzing.py, run for longer
than CI can, with the executions counted.

Each target (one per decoder entry point, and ``ingest``: batches through the gateway's batch
processor on a real database) gets an equal share of ``--seconds``; within it, Hypothesis runs round
after round of ``--chunk`` examples, each round with a new seed (``--seed`` makes the run
repeatable). A failure is shrunk by Hypothesis and printed once per distinct bug (exception type and
where it was raised) with a line of Python that reproduces it. Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings

from tests.fuzzing import Target, decoder_targets, ingest_target

TARGET_NAMES = ["zigbee2mqtt", "native", "rtl433", "decoder", "serial", "dc09", "contact_id", "ingest"]


def one_round(target: Target, examples: int, round_seed: int) -> None:
    config = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        verbosity=Verbosity.quiet,
        phases=[Phase.generate, Phase.target, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )

    @seed(round_seed)
    @config
    @given(target.strategy)
    def prop(case: Any) -> None:
        target.check(case)

    prop()


def fuzz(target: Target, seconds: float, chunk: int, rng: random.Random) -> tuple[float, int]:
    """Rounds until ``seconds`` are used; answers (seconds taken, rounds that failed)."""
    start = time.monotonic()
    failed = 0
    while time.monotonic() - start < seconds:
        try:
            one_round(target, chunk, rng.randrange(2**32))
        except Exception:  # the failure and its smallest input are in target.failures
            failed += 1
    return time.monotonic() - start, failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=600, help="total time, shared by the targets (default 600)")
    ap.add_argument("--smoke", action="store_true", help="a quick run: 2 seconds per target")
    ap.add_argument("--targets", default=",".join(TARGET_NAMES), help=f"comma-separated, of {TARGET_NAMES}")
    ap.add_argument("--chunk", type=int, default=200, help="examples per Hypothesis round (default 200)")
    ap.add_argument("--seed", type=int, default=None, help="repeatable run (default: random)")
    ap.add_argument("--db", default=None, help="database URL for the ingest target (default: a fresh SQLite file)")
    args = ap.parse_args(argv)

    # The batch processor logs each message it dead-letters after a store failure; the property
    # reports those as failures with their input, so the log would only repeat them.
    logging.getLogger("gateway").setLevel(logging.CRITICAL + 1)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    unknown = set(names) - set(TARGET_NAMES)
    if unknown:
        ap.error(f"unknown targets: {sorted(unknown)}")
    total = 2.0 * len(names) if args.smoke else args.seconds
    chunk = min(args.chunk, 50) if args.smoke else args.chunk
    run_seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(run_seed)

    targets = decoder_targets()
    engine = None
    with tempfile.TemporaryDirectory(prefix="shewu-fuzz-") as tmp:
        if "ingest" in names:
            from gateway.storage.db import create_schema, make_engine

            engine = make_engine(args.db or f"sqlite:///{Path(tmp) / 'fuzz.db'}")
            create_schema(engine)
            targets["ingest"] = ingest_target(engine)
        print(f"fuzzing {', '.join(names)} for {total:.0f} s in all (seed {run_seed}, {chunk} examples a round)")
        print(f"{'target':<12} {'executions':>11} {'seconds':>8} {'exec/s':>8} {'failures':>9}  outcomes")
        rows = []
        for name in names:
            target = targets[name]
            took, _ = fuzz(target, total / len(names), chunk, rng)
            common = ", ".join(f"{k} {v * 100 / max(1, sum(target.outcomes.values())):.0f}%"
                               for k, v in target.outcomes.most_common(4))
            print(f"{name:<12} {target.executions:>11} {took:>8.1f} {target.executions / took:>8.0f} "
                  f"{len(target.failures):>9}  {common}", flush=True)
            rows.append(target)
        if engine is not None:
            engine.dispose()
    executions = sum(t.executions for t in rows)
    failures = [(t, key, detail, case) for t in rows for key, (detail, case) in t.failures.items()]
    print(f"total: {executions} executions, {len(failures)} distinct failures")
    for target, key, detail, case in failures:
        print(f"\n[{target.name}] {key}\n  {detail}\n  reproduce: {target.reproduce(case)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
