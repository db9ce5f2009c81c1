# ruff: noqa: E501  (regex tables read better one cue per line)
"""Cue lexicons for the rule-based follow-up classifier (English, German, French, Spanish).

Each entry is a regular expression (matched case-insensitively on word boundaries where
it starts/ends with a word character) and a weight. Reject cues are matched first and
blanked out, so "doesn't work" never also counts as "work".
"""

from __future__ import annotations

import re

Cue = tuple[str, float]

REJECT: tuple[Cue, ...] = (
    (
        r"(?:doesn'?t|does not|didn'?t|did not|don'?t|isn'?t|is not|not) (?:seem )?(?:work|working|right|correct|valid)\w*",
        1.6,
    ),
    (r"not what i (?:asked|meant|wanted|need)\w*", 1.8),
    (r"(?:that'?s|this is|it'?s) (?:not|wrong|incorrect)", 1.4),
    (r"wrong|incorrect|mistake|misunderstood|nonsense", 1.4),
    (r"still (?:fails?|exits?|stops?|broken|doesn'?t|not|the same|crash\w*|returns?)", 1.6),
    (
        r"(?:throws?|gives?|get|getting|got|returns?) (?:an? )?(?:\w+ )?(?:error|exception|null|nan|warning)",
        1.4,
    ),
    (
        r"\b\w{0,30}error\b[:!]|\b\w{1,40}Error\b|exception|traceback|fatal:|syntax error|exit(?:s|ed)? with code",
        1.2,
    ),
    (r"fails?|failed|failing|broken|crash(?:es|ed)?", 1.1),
    (r"too (?:blunt|long|short|spicy|touristy|complicated|expensive)", 1.3),
    (r"try again|rewrite it|something else|anything (?:else|milder)|are you sure|i already", 1.3),
    (r"^(?:no|nope|nah|non|nein)\b", 1.3),
    # Asking for a different answer is a rejection of this one.
    (
        r"^(?:can|could|would) you (?:please )?(?:make|do|rewrite|simplify|change|redo|shorten|try|give)\b",
        1.4,
    ),
    (
        r"is there (?:a|another|any) (?:way|option)|any (?:other|alternative)\w*|another (?:way|idea|option|approach)|alternatives?\?|(?:do|make) it without",
        1.3,
    ),
    (
        r"i don'?t think|not sure (?:that'?s|about|it'?s|this)|not convinced|can'?t be right|shouldn'?t it|double.check",
        1.4,
    ),
    (
        r"nothing (?:changes|changed|happens|happened|at all)|shows nothing|same (?:behaviou?r|problem|result|error|issue)|still (?:running|the old|shows|gives|returns|has|the same)",
        1.4,
    ),
    (r"(?:i|we|he|she|they|my \w+) (?:hate|hates|dislike|dislikes|can'?t stand)\b", 1.0),
    (r"doesn'?t exist|there is no|i don'?t like", 0.9),
    # German
    (
        r"stimmt nicht|funktioniert nicht|geht nicht|klappt nicht|falsch|fehler|ich meinte|nicht das",
        1.5,
    ),
    (r"leider|(?:klappt|funktioniert|geht) \w+(?: \w+){0,3} nicht", 1.4),
    # French
    (r"ne (?:marche|fonctionne) pas|pas ce que|c'est faux|erreur", 1.5),
    # Spanish
    (r"no funciona|no es lo que|incorrecto|me (?:sale|da) (?:un )?error|está mal", 1.5),
    (r"sigue (?:dando|sin)|mismo (?:problema|error)", 1.4),
)

EDIT: tuple[Cue, ...] = (
    (
        r"i (?:changed|modified|tweaked|adjusted|adapted|added|simplified|shortened|switched|had to|used \w+ (?:but|instead))",
        1.5,
    ),
    (
        r"(?:changed|modified|tweaked|adjusted|adapted|simplified|shortened) (?:it|the|to|a bit|slightly|a lot)",
        1.2,
    ),
    (r"with a (?:small|slight|minor) (?:change|tweak|modification)|small tweak|slightly", 1.2),
    (
        r"ended up (?:using|with|doing)|kept (?:your|the|most|it)|swapped|minus the|rewrote|extended it|(?:once|after) (?:i |moving|adding|setting|changing|switching)|moved (?:it|the)",
        1.2,
    ),
    (r"instead(?: of)?\b|rather than", 1.0),
    (
        r"\b(?:but|though|although) i (?:used|changed|added|made|had|will|'ll)|, but i\b|i'?ll (?:follow|do) (?:this|that) but|will do that but|with \w+ added",
        1.0,
    ),
    (r"used (?:your|it|itemgetter|the)\b.{0,80} but\b|used it with|used it but", 0.9),
    # German, French, Spanish
    (r"angepasst|geändert|statt\b", 1.3),
    (r"j'ai (?:modifié|changé|adapté)|au lieu de|un peu", 1.2),
    (r"cambié|modifiqué|en lugar de|aunque lo", 1.3),
)

ACCEPT: tuple[Cue, ...] = (
    (r"thanks|thank you|thx|\bty\b|cheers|appreciate", 0.7),
    (r"perfect|exactly|awesome|great|excellent|brilliant|delicious|yum", 0.9),
    (r"works?|worked|working|fixed|solved|did it|did the trick|running", 1.1),
    (
        r"nice|cool|got it|makes sense|looks good|sounds (?:good|great|delicious)|that'?s it|yes|done|matches",
        0.7,
    ),
    (r"approved|i'?ll make|i have all", 0.9),
    (r"loved|all set|sorted\b|problem solved|👍|🎉", 0.9),
    # German, French, Spanish
    (r"danke|super|klappt|hat (?:funktioniert|geklappt)|perfekt|genau richtig", 1.0),
    (r"merci|parfait|ça (?:marche|fonctionne)|fonctionne|impeccable|nickel", 1.0),
    (r"gracias|funcion[aó]|perfecto|genial|listo|impecable", 1.0),
)

BUILD = re.compile(
    r"^(?:and|now|next|also|ok(?:ay)?|great|nice|cool|so|then|y|et|und)\b|\b(?:next question|now how|and how|how do i (?:then|also)|can you also|can i also)\b",
    re.IGNORECASE,
)
"""A follow-up that builds on the answer (asks the next step)."""

WAITING = re.compile(
    r"^(?:(?:ok|okay|alright|sure)[,.!]?\s+)?(?:ok|okay|hmm+|brb|one sec|checking|trying(?: now)?|let me (?:try|see|check|test)\w*.{0,80}|i'?ll (?:try|check|test) .{0,80}|.{0,80}(?:later|tomorrow|on monday|get back to you|check with).{0,80})[.!]*$",
    re.IGNORECASE,
)
"""Low-information follow-ups: wait for the next turn before judging."""

CONTRAST = re.compile(r"\b(?:but|though|however|aber|mais|pero)\b", re.IGNORECASE)

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "you",
        "me",
        "my",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "and",
        "or",
        "is",
        "are",
        "be",
        "do",
        "does",
        "how",
        "what",
        "why",
        "can",
        "could",
        "would",
        "should",
        "it",
        "this",
        "that",
        "please",
        "pls",
        "in",
        "by",
        "from",
        "at",
        "as",
        "my",
        "your",
        "we",
        "our",
        "wie",
        "ich",
        "die",
        "der",
        "das",
        "und",
        "in",
        "mit",
        "ein",
        "eine",
        "comment",
        "je",
        "la",
        "le",
        "les",
        "un",
        "une",
        "de",
        "en",
        "es",
        "el",
        "los",
        "las",
        "que",
        "y",
        "cómo",
        "como",
    ]
)


def compile_cues(cues: tuple[Cue, ...]) -> tuple[tuple[re.Pattern[str], float], ...]:
    out: list[tuple[re.Pattern[str], float]] = []
    for pattern, weight in cues:
        lead = (
            r"\b"
            if re.match(r"[\w(]", pattern) and not pattern.startswith(("\\", "^", "(?"))
            else ""
        )
        out.append((re.compile(lead + pattern, re.IGNORECASE), weight))
    return tuple(out)
