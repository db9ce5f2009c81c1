"""Score the conversation follow-up classifier on the labeled sets.

``python -m benchmarks.eval_conversation [team] [dev] [--errors] [--blind]``

Prints, per set: accuracy, coverage (share of follow-ups it commits on), precision when
committing, recall per class, accuracy per language and a reliability table (committed
verdicts binned by stated confidence: how often each bin was right). ``--errors`` lists
the misclassified development follow-ups (never blind ones). The blind set
(``conversation_blind.jsonl``) is scored only with ``--blind``: it was written before the
rules of issue 20 changed and is scored once, at the end, never while tuning.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from outcomes.inference._conversation_calibration import Curve, calibrated, fit
from outcomes.inference.conversation import (
    FollowUp,
    FollowUpClassifier,
    Reading,
    RuleClassifier,
)
from outcomes.records import ConversationVerdict as V

DATA = Path(__file__).resolve().parents[1] / "tests" / "inference" / "data"
SETS = {
    "team": "conversation_followups.jsonl",
    "dev": "conversation_dev.jsonl",
    "calib": "conversation_calib.jsonl",
    "blind": "conversation_blind.jsonl",
}
BINS = (0.0, 0.6, 0.7, 0.8, 0.9, 1.01)


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    split: str
    lang: str
    followup: FollowUp
    label: V
    tags: tuple[str, ...]


def load(name: str) -> list[Row]:
    """The rows of labeled set ``name`` (``team``, ``dev`` or ``blind``)."""
    lines = (DATA / SETS[name]).read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        r = json.loads(line)
        fu = FollowUp(r["question"], r["response"], r["next"], r["after"])
        out.append(Row(r["id"], r["split"], r["lang"], fu, V(r["label"]), tuple(r.get("tags", ()))))
    return out


@dataclass
class Score:
    n: int = 0
    correct: int = 0
    committed: int = 0
    committed_right: int = 0

    def add(self, truth: V, got: V) -> None:
        self.n += 1
        self.correct += got is truth
        if got is not V.INCONCLUSIVE:
            self.committed += 1
            self.committed_right += got is truth

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


def score(rows: Sequence[Row], classifier: FollowUpClassifier) -> dict[str, object]:
    """Everything the report prints, as numbers."""
    total = Score()
    per_class: dict[str, Score] = defaultdict(Score)
    per_lang: dict[str, Score] = defaultdict(Score)
    per_split: dict[str, Score] = defaultdict(Score)
    triples: list[tuple[V, V, float]] = []
    confusion: Counter[tuple[str, str]] = Counter()
    for row in rows:
        got = classifier.classify(row.followup)
        for s in (total, per_class[row.label.value], per_lang[row.lang], per_split[row.split]):
            s.add(row.label, got.verdict)
        confusion[row.label.value, got.verdict.value] += 1
        triples.append((row.label, got.verdict, got.confidence))
    return {
        "total": total,
        "per_class": dict(per_class),
        "per_lang": dict(per_lang),
        "per_split": dict(per_split),
        "triples": triples,
        "confusion": confusion,
    }


def print_reliability(triples: Sequence[tuple[V, V, float]]) -> None:
    """Committed verdicts binned by stated confidence: how many, stated, how often right."""
    print("  reliability (committed verdicts): confidence bin | n | mean stated | right")
    for low, high in itertools.pairwise(BINS):
        part = [(t, p, c) for t, p, c in triples if p is not V.INCONCLUSIVE and low <= c < high]
        if part:
            mean = sum(c for _, _, c in part) / len(part)
            right = sum(t is p for t, p, _ in part) / len(part)
            print(f"    [{low:.1f}, {min(high, 1.0):.1f}) | {len(part)} | {mean:.2f} | {right:.1%}")


def print_report(name: str, result: dict[str, object]) -> None:
    total = result["total"]
    assert isinstance(total, Score)
    precision = total.committed_right / total.committed if total.committed else 0.0
    print(
        f"== {name}: n={total.n} accuracy={total.accuracy:.1%} "
        f"coverage={total.committed / total.n:.1%} precision_committed={precision:.1%}"
    )
    per_class = result["per_class"]
    assert isinstance(per_class, dict)
    print("  recall: " + "  ".join(f"{k}={v.accuracy:.2f}" for k, v in sorted(per_class.items())))
    for key in ("per_split", "per_lang"):
        part = result[key]
        assert isinstance(part, dict)
        if len(part) > 1:
            print(
                f"  {key[4:]}: "
                + "  ".join(f"{k}={v.correct}/{v.n}" for k, v in sorted(part.items()))
            )
    triples = result["triples"]
    assert isinstance(triples, list)
    print_reliability(triples)
    confusion = result["confusion"]
    assert isinstance(confusion, Counter)
    labels = [v.value for v in V]
    print("  confusion (rows truth; columns " + " / ".join(labels) + ")")
    for t in labels:
        print(f"    {t}: " + " / ".join(str(confusion[t, p]) for p in labels))


FOLDS = 5
THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(9))


def reading(classifier: RuleClassifier, fu: FollowUp) -> Reading:
    """The reading the rules commit on: the next message's, else the one after it."""
    first = classifier.read(fu.question, fu.response, fu.next_message)
    if first.verdict is V.INCONCLUSIVE and fu.after_next is not None:
        return classifier.read(fu.question, fu.response, fu.after_next)
    return first


def cross_validated(rows: Sequence[Row]) -> list[tuple[V, V, float]]:
    """``(truth, rule verdict, confidence)`` per row, each fitted without its own fold."""
    classifier = RuleClassifier()
    readings = [reading(classifier, r.followup) for r in rows]
    out: list[tuple[V, V, float]] = []
    for fold in range(FOLDS):
        train = [
            (rd.strength, rd.verdict is r.label)
            for i, (r, rd) in enumerate(zip(rows, readings, strict=True))
            if i % FOLDS != fold and rd.verdict is not V.INCONCLUSIVE
        ]
        steps = fit(train)
        for i, (r, rd) in enumerate(zip(rows, readings, strict=True)):
            if i % FOLDS == fold:
                conf = 0.0 if rd.verdict is V.INCONCLUSIVE else calibrated(rd.strength, steps)
                out.append((r.label, rd.verdict, conf))
    return out


def choose_threshold(predictions: Sequence[tuple[V, V, float]]) -> tuple[float, float, float]:
    """The abstention threshold with the best accuracy whose precision stays >= 0.9."""
    best = (THRESHOLDS[0], -1.0, 0.0)
    for tau in THRESHOLDS:
        got = [(t, p if c >= tau else V.INCONCLUSIVE) for t, p, c in predictions]
        accuracy = sum(t is p for t, p in got) / len(got)
        made = [(t, p) for t, p in got if p is not V.INCONCLUSIVE]
        precision = sum(t is p for t, p in made) / len(made) if made else 0.0
        if precision >= 0.9 and accuracy > best[1]:
            best = (tau, accuracy, precision)
    return best


def refit() -> tuple[Curve, float]:
    """Fit the calibration on the calibration set; print its cross-validated quality."""
    rows = load("calib")
    predictions = cross_validated(rows)
    tau, accuracy, precision = choose_threshold(predictions)
    print(f"cross-validated ({FOLDS} folds) on calib: threshold {tau}")
    print(f"  accuracy {accuracy:.1%}, precision when committing {precision:.1%}")
    print_reliability([(t, p, c) for t, p, c in predictions if c >= tau])
    classifier = RuleClassifier()
    points = []
    for r in rows:
        rd = reading(classifier, r.followup)
        if rd.verdict is not V.INCONCLUSIVE:
            points.append((rd.strength, rd.verdict is r.label))
    curve = fit(points)
    print(f"CALIBRATION: Curve = {curve!r}")
    print(f"ABSTAIN_BELOW = {tau}")
    return curve, tau


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_conversation")
    parser.add_argument("sets", nargs="*", help="team, dev, calib (default: team dev)")
    parser.add_argument("--fit", action="store_true", help="refit the calibration on calib")
    parser.add_argument("--errors", action="store_true", help="list misclassified dev rows")
    parser.add_argument("--blind", action="store_true", help="score the blind set (once)")
    args = parser.parse_args(argv)
    if args.fit:
        refit()
        return 0
    if set(args.sets) - {"team", "dev", "calib"}:
        parser.error("sets are team, dev and calib (the blind set only with --blind)")
    classifier = RuleClassifier()
    names = [*(args.sets or ["team", "dev"]), *(["blind"] if args.blind else [])]
    for name in names:
        rows = load(name)
        print_report(name, score(rows, classifier))
        if args.errors and name not in ("blind", "calib"):
            for row in rows:
                got = classifier.classify(row.followup)
                if got.verdict is not row.label:
                    text = (row.followup.next_message or "").replace("\n", "⏎")[:110]
                    print(
                        f"  x {row.id} {row.lang} {row.label.value[:8]:8} -> "
                        f"{got.verdict.value[:8]:8} {got.confidence:.2f} {text!r} {got.cues}"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
