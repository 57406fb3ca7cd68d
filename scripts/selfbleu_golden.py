"""Golden values for gtr's self-BLEU (Sources/Training/ThoughtDiversity.swift).

Self-BLEU of a set of texts: every text is the hypothesis once, all the others are its references, scored with
NLTK's sentence_bleu (bigram weights (0.5, 0.5), smoothing method 1, whitespace tokens); the mean over texts.
Writes Tests/TrainingTests/Fixtures/selfbleu.json. Needs `pip install nltk`.
"""
import json
import sys

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

SETS = {
    "identical": ["I see 10, 9, 3 and 8. I start with 10."] * 4,
    "varied": [
        "I see 10, 9, 3 and 8. A solution is 10+8+9-3 = 24. I begin with 10.",
        "The cards are 4, 6, 2 and 3; 4*6*(3-2) makes 24, so the first token is 4.",
        "My cards: A, K, 5 and 5 (values 1, 10, 5, 5). No formula makes 24.",
        "On the table: 7, 7, 2 and 1. (7+7-2)*... I will try brackets first.",
        "Current number 3, target 1: go down with '-'.",
    ],
    "near_collapse": [
        "The formula 10+8 is not 24 yet; next is '+' as the next operator.",
        "The formula 10+8+9 is not 24 yet; next is '-' as the next operator.",
        "The formula 10 is not 24 yet; next is '+' as the next operator.",
        "The formula 10+8+9-3 equals 24, so I finish with '='.",
    ],
    "short_and_empty": ["go", "go up", "", "up go up", "down"],
    "no_shared_words": ["alpha beta gamma", "delta epsilon zeta", "eta theta iota kappa"],
    "single_words": ["a", "b", "a"],
}


def self_bleu(texts):
    words = [t.split() for t in texts]
    if len(words) < 2:
        return 1.0
    smooth = SmoothingFunction().method1
    total = 0.0
    for i, hyp in enumerate(words):
        refs = [w for j, w in enumerate(words) if j != i]
        total += sentence_bleu(refs, hyp, weights=(0.5, 0.5), smoothing_function=smooth)
    return total / len(words)


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore")  # NLTK warns about zero counts; the values are what we compare
    out = {name: {"texts": texts, "self_bleu": self_bleu(texts)} for name, texts in SETS.items()}
    path = sys.argv[1] if len(sys.argv) > 1 else "Tests/TrainingTests/Fixtures/selfbleu.json"
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    for k, v in out.items():
        print(f"{k}: {v['self_bleu']:.6f}")
