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
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from outcomes.inference.conversation import FollowUp, FollowUpClassifier, RuleClassifier
from outcomes.records import ConversationVerdict as V

DATA = Path(__file__).resolve().parents[1] / "tests" / "inference" / "data"
SETS = {
    "team": "conversation_followups.jsonl",
    "dev": "conversation_dev.jsonl",
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
    bins: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    confusion: Counter[tuple[str, str]] = Counter()
    for row in rows:
        got = classifier.classify(row.followup)
        for s in (total, per_class[row.label.value], per_lang[row.lang], per_split[row.split]):
            s.add(row.label, got.verdict)
        confusion[row.label.value, got.verdict.value] += 1
        if got.verdict is not V.INCONCLUSIVE:
            b = next(i for i in range(len(BINS) - 1) if got.confidence < BINS[i + 1])
            bins[b][0] += 1
            bins[b][1] += got.verdict is row.label
            bins[b][2] += round(got.confidence * 1000)
    return {
        "total": total,
        "per_class": dict(per_class),
        "per_lang": dict(per_lang),
        "per_split": dict(per_split),
        "bins": dict(bins),
        "confusion": confusion,
    }


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
    print("  reliability (committed verdicts): confidence bin | n | mean stated | right")
    bins = result["bins"]
    assert isinstance(bins, dict)
    for b in sorted(bins):
        n, right, conf = bins[b]
        low, high = BINS[b], min(BINS[b + 1], 1.0)
        print(f"    [{low:.1f}, {high:.1f}) | {n} | {conf / 1000 / n:.2f} | {right / n:.1%}")
    confusion = result["confusion"]
    assert isinstance(confusion, Counter)
    labels = [v.value for v in V]
    print("  confusion (rows truth; columns " + " / ".join(labels) + ")")
    for t in labels:
        print(f"    {t}: " + " / ".join(str(confusion[t, p]) for p in labels))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_conversation")
    parser.add_argument("sets", nargs="*", default=["team", "dev"], choices=["team", "dev"])
    parser.add_argument("--errors", action="store_true", help="list misclassified dev rows")
    parser.add_argument("--blind", action="store_true", help="score the blind set (once)")
    args = parser.parse_args(argv)
    classifier = RuleClassifier()
    names = [*args.sets, *(["blind"] if args.blind else [])]
    for name in names:
        rows = load(name)
        print_report(name, score(rows, classifier))
        if args.errors and name != "blind":
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
