# ruff: noqa: E501  (cue tables read better one language per line)
"""Cue lexicons for the rule-based follow-up classifier, per language.

Languages: English (en), German (de), Spanish (es), Portuguese (pt), French (fr),
Russian (ru), Chinese (zh), Japanese (ja). Each table maps a language to regular
expressions (matched case-insensitively) and, where they score, a weight. Patterns of
the languages written with spaces are matched on word edges; Chinese and Japanese ones
anywhere (those scripts do not separate words). All tables are read for every message:
a message need not say which language it is in, and mixed messages ("works, 谢谢") are
common.

Kinds, in the order the classifier reads them (each match is blanked out of the text, so
"doesn't work" never also counts as "work", and "error is gone" never as "error"):

* ``RESOLVED``: a failure said to be over ("no more crash", "error gone"): acceptance.
* ``STRONG_REJECT``: a failure report that counts even inside a question ("still
  broken", "same error as before", "not what I asked", a harm the answer did).
* ``REJECT``: a failure report or a correction ("wrong", "nope", an error word).
* ``EDIT``: the user changed the answer ("I just bumped ...", "had to add ...").
* ``ACCEPT``: it worked or was right ("works", "thanks", "perfect").
* ``SARCASM``: markers that turn praise around ("thanks a lot" after a harm, 🙃).
* ``NOW``: the word that opens "great, now everything is NaN" (praise, then a new state).
* ``QUESTION`` / ``REQUEST``: openings of a question or of a new request; cues inside
  such a clause do not count, except strong rejections.
"""

from __future__ import annotations

import re

Cue = tuple[str, float]
Table = dict[str, tuple[Cue, ...]]


def _wordlist(text: str) -> frozenset[str]:
    return frozenset(text.split())


SPACED = ("en", "de", "es", "pt", "fr", "ru")

RESOLVED: Table = {
    "en": (
        (
            r"(?:errors?|crash(?:es)?|issues?|problems?|warnings?|bugs?|exceptions?|the \w+ error) (?:is |are |has |have )?(?:gone|fixed|solved|resolved|disappeared)",
            1.4,
        ),
        (
            r"no (?:more|longer) (?:any )?(?:errors?|crash\w*|issues?|problems?|warnings?|exceptions?|fails?|failures?)",
            1.4,
        ),
        (
            r"(?:doesn'?t|does not|don'?t|won'?t|no longer) (?:crash|fail|break|throw|error|complain|hang)\w*(?: any ?more)?",
            1.2,
        ),
    ),
    "de": (
        (
            r"(?:fehler|problem|absturz|abstürze|warnung)\w* (?:ist |sind )?(?:weg|behoben|verschwunden)",
            1.4,
        ),
        (
            r"(?:kein(?:e|en)?) (?:fehler|absturz|abstürze|probleme?|warnung(?:en)?) mehr|stürzt nicht mehr ab",
            1.4,
        ),
    ),
    "es": (
        (
            r"ya no (?:falla|se cierra|crashea|da error|sale el error|hay error)\w*|(?:el )?error (?:desapareció|se fue)",
            1.4,
        ),
    ),
    "pt": (
        (
            r"(?:não (?:dá|deu|dando) mais (?:erro|problema)|parou de (?:dar erro|travar|quebrar)|o erro sumiu)",
            1.4,
        ),
    ),
    "fr": ((r"plus d'erreurs?|ne (?:plante|crashe) plus|l'erreur a disparu", 1.4),),
    "ru": (
        (
            r"больше не (?:падает|вылетает|ругается|ломается)|ошибк\w* (?:ушла|пропала|исчезла)|ошибок больше нет",
            1.4,
        ),
    ),
    "zh": ((r"不(?:再)?(?:报错|卡|崩|闪退)了|没(?:有)?(?:再)?报错了|错误消失了", 1.4),),
    "ja": ((r"(?:エラー|クラッシュ)(?:が|も)?(?:出なく|消え|なくな)", 1.4),),
}

STRONG_REJECT: Table = {
    "en": (
        (
            r"still (?!works?|working|worked|fine|good|ok|okay|need|have|had|want|wonder|think|use|using|learning|love)\w+",
            1.7,
        ),
        (
            r"same (?:error|problem|issue|result|behaviou?r|exception|thing|traceback)(?: as (?:before|earlier|b4|last time))?|(?:error|problem|issue) as before",
            1.7,
        ),
        (
            r"not (?:really |quite |exactly )?what i (?:asked|meant|wanted|need|had in mind|was looking for)\w*|that'?s not (?:it|the (?:issue|problem|point))|not the (?:issue|problem)",
            1.7,
        ),
        (
            r"(?:doesn'?t|does not|didn'?t|did not|don'?t|isn'?t|is not|not|won'?t|wont|doesnt|didnt|dont|isnt|never) (?:seem to |seem |really |even |quite )?(?:work|working|worked|run|compile|help|fix|change|do anything|right|correct|a valid|valid)\w*|(?:that'?s|this is|it'?s) not (?:right|correct|it|valid)",
            1.6,
        ),
        (
            r"(?:can|could|would) you (?:please )?(?:make it|simplify|rewrite|redo|shorten|do it without|try again|fix it)|(?:do|make|write) it (?:work )?without|a way (?:to \w+ it |that )?without|something else|anything (?:else|milder|simpler|shorter|lighter|cheaper)|another (?:way|idea|option|approach|solution)|any (?:other|alternative)\w*|alternatives?|i already (?:have|tried|did|visited|use|do)|(?:one|something|a version) that (?:actually )?works|exit(?:s|ed)? with (?:code|status) [1-9]\d*|exit code [1-9]",
            1.6,
        ),
        (
            r"(?:it|this|that|your \w+)(?: also| just| now| then)? (?:deleted|removed|wiped|erased|overwrote|renamed|broke|killed|dropped|truncated|nuked|corrupted|moved) (?:my|all|every|the|our|everything)\w*",
            1.7,
        ),
        (r"(?:they'?re|it'?s|are|is|all) gone\b|lost (?:all|my|the)", 1.5),
    ),
    "de": (
        (
            r"(?:funktioniert|geht|klappt|läuft|startet|kompiliert|hilft)(?: \w+){0,4} (?:nicht|nichts|nich)\b|funzt nich\w*",
            1.6,
        ),
        (
            r"(?:immer noch|noch immer|weiterhin|wieder)(?: \w+){0,2} (?:nicht|kaputt|derselbe|dasselbe|der gleiche|das gleiche|die gleiche|gleiche|fehler|ab)|(?:gleiche[rns]?|derselbe|dasselbe|selbe) (?:fehler|problem)|wieder dasselbe",
            1.7,
        ),
        (r"(?:nicht|war nicht) (?:meine frage|das was ich|was ich)|ich meinte", 1.7),
        (r"(?:stürzt|bricht)(?: \w+){0,3} ab|gar nichts mehr|nichts mehr", 1.5),
    ),
    "es": (
        (
            r"no (?:me )?(?:funciona|funcionó|sirve|sirvió|anda|compila|cambia)\w*|sigue (?:sin|igual|dando|fallando|crasheando|entrando|con|el mismo)\w*|nop,? sigue",
            1.7,
        ),
        (r"(?:el )?mismo (?:error|problema)|no es lo que \w+|no era eso", 1.7),
        (r"se (?:borró|borraron|rompió|cerró|colgó)|(?:borró|rompió) (?:mi|mis|todo)", 1.5),
    ),
    "pt": (
        (
            r"não (?:funcion\w+|deu certo|rodou|resolve\w*|compila\w*|mudou)|continua (?:dando|o mesmo|com|igual|sem|quebrado)\w*|ainda (?:quebrad\w+|não|dá|dando|com|o mesmo)",
            1.7,
        ),
        (r"(?:o )?mesmo (?:erro|problema)|não (?:era|é) (?:isso|o que eu)", 1.7),
        (r"infinitamente|loop infinito|trava\w*", 1.4),
    ),
    "fr": (
        (
            r"(?:ne )?(?:marche|fonctionne|compile)(?: toujours| tjrs)? (?:pas|plus)|(?:toujours|tjrs) (?:la même|le même|les mêmes|pas|rien)|rien ne (?:change|marche|s'affiche)",
            1.7,
        ),
        (
            r"(?:même|meme) (?:erreur|problème)|(?:n'est )?pas (?:du tout )?ce que (?:je|j')|ce n'est pas (?:du tout )?ça",
            1.7,
        ),
        (r"(?:est |suis )?(?:bloqué|cassé|planté)\w*", 1.4),
    ),
    "ru": (
        (
            r"не (?:работает|рабо\w*|заработал\w*|помогло|запускается|компилируется|сработал\w*)|(?:всё|все) (?:ещё|еще|равно)|по-прежнему|опять|та же (?:ошибка|проблема)|то же самое,? что и раньше",
            1.7,
        ),
        (r"(?:это )?не то\b|ничего не (?:изменилось|поменялось|происходит)", 1.6),
        (r"(?:падает|вылетает|сломал\w*|сломано)", 1.4),
    ),
    "zh": (
        (
            r"还是(?:不|没|老样子|一样|差|报|卡|那个)|一样的(?:错误|问题)|同样的错误|没用|不是我要的|不对",
            1.7,
        ),
        (r"白屏|起不来|崩溃|闪退|删掉了|没了", 1.5),
    ),
    "ja": (
        (
            r"動きません|動かない|うごかない|直りません|直らない|まだ(?:直|動|エラー|同じ|だめ|ダメ)|同じエラー|違います|ダメ|だめでした|何も起きません",
            1.7,
        ),
        (r"消えました|起動しなく|落ちます|クラッシュ", 1.5),
    ),
}

REJECT: Table = {
    "en": (
        (
            r"wrong|incorrect|mistake|misunderstood|nonsense|useless|not good|no good|not quite|doesn'?t help|not helpful|i was hoping for|i (?:said|asked for|specifically)|says something (?:else|different)|misses|is missing|are missing",
            1.4,
        ),
        (
            r"i don'?t like|(?:hates?|dislikes?|can'?t stand|can'?t have|allergic)|but (?:i'?m|we'?re|i am|we are) (?:using|on|not)",
            1.2,
        ),
        (r"(?:nope|nah|no)(?=\s*[.!]|\s*$)|^(?:nope|nah)\b", 1.3),
        (
            r"fails?|failed|failing|broken|broke|crash(?:es|ed|ing)?|hangs?|hanging|hung|freez\w+|stuck|infinite loop",
            1.2,
        ),
        (
            r"(?:returns?|gives?|shows?|prints?|does|did|changed) nothing|nothing (?:happens|happened|changed|changes|at all)|empty (?:result|list|output)",
            1.4,
        ),
        (
            r"(?:throws?|gives?|get|getting|got|returns?|raises?) (?:an? |the )?(?:\w+ )?\w*(?:error|exception|nan|none|null|warning|traceback)|every (?:value|row|field) is \w+|(?:all|are) (?:nan|null|none)",
            1.4,
        ),
        (r"errors?|exception|traceback|segfault|nan", 1.0),
        (
            r"(?:^|that'?s |it'?s |is |way |much |far )too \w+|too (?:slow|permissive|strict|complicated|complex|verbose|long|broad|loose)",
            1.3,
        ),
        (
            r"i don'?t think|are you sure|not sure (?:that|about|it|this)|not convinced|can'?t be right|i already (?:tried|did)",
            1.3,
        ),
    ),
    "de": (
        (
            r"falsch|stimmt nicht|nicht richtig|leider|kaputt|fehler\w*|quatsch|(?:nein|nee)(?=\s*[.!]|\s*$)|^(?:nein|nee)\b",
            1.4,
        ),
    ),
    "es": (
        (
            r"incorrecto|está mal|error\w*|falla\w*|(?:nop|no)(?=\s*[.!]|\s*$)|^nop\b|crashea\w*",
            1.3,
        ),
    ),
    "pt": ((r"errad\w+|erro\w*|falh\w+|quebrad\w+|não(?=\s*[.!]|\s*$)", 1.3),),
    "fr": ((r"faux|c'est faux|erreur\w*|plante\w*|non(?=\s*[.!]|\s*$)", 1.3),),
    "ru": ((r"неправильно|неверно|ошибк\w*|нет(?=\s*[.!]|\s*$)|не так|сломано", 1.4),),
    "zh": ((r"报错|错误|不行|失败|出错|有问题|卡死", 1.4),),
    "ja": ((r"エラー|失敗|おかしい|できません|できない", 1.4),),
}

EDIT: Table = {
    "en": (
        (
            r"i (?:just |also |then |only )?(?:went with|extended|changed|modified|tweaked|adjusted|adapted|added|simplified|shortened|switched|swapped|replaced|renamed|bumped|moved|wrapped|restricted|pinned|turned|compiled|made|set|put|extracted|increased|decreased|lowered|raised|limited|converted|rewrote|refactored|combined|removed|dropped|used \S+ instead|had to)\b",
            1.5,
        ),
        (
            r"(?:had|needed) to (?:add|change|tweak|adjust|use|set|pin|put|wrap|move|rename|fillna|bump|remove|make|switch)\w*",
            1.5,
        ),
        (
            r"(?:changed|modified|tweaked|adjusted|adapted|simplified|shortened|swapped|replaced|renamed|bumped|restricted|pinned|wrapped|rewrote|refactored|switched|extended|added) (?:it|them|the|a|an|to|my|our|this|that|from|(?:\S+ ){1,3}(?:to|for|with|by|into))\b",
            1.2,
        ),
        (
            r"(?:after|once) (?:i |we )?(?:added|adding|changed|changing|moved|moving|set|setting|switched|switching|swapped|replaced|removed|wrapped|put|made)\b|with (?:a |one )?(?:small|slight|minor|tiny|little) (?:change|tweak|modification|fix|adjustment)|small tweak|slightly (?:different|modified|changed)",
            1.3,
        ),
        (
            r"(?:took|used|kept|adopted) (?:your|the|it|this|that)\b[^.!?]{0,50}\bbut\b|(?:did|used) (?:that|it|this) (?:plus|and also|with)\b|turned it into|instead(?: of)?\b|rather than|minus the|ended up (?:using|with|doing)|(?:but|though|although) i (?:used|changed|added|made|had|will|'ll|went)|i'?ll (?:follow|do|use|make|take) (?:this|that|it) but|with (?:\S+ ){1,3}added|went with",
            1.1,
        ),
        (r"(?:just )?added (?:a|an|the|some|\.|[a-z_]+\()", 1.0),
    ),
    "de": (
        (
            r"(?:hab(?:e|'s)?|habe ich|ich hab(?:e)?)(?: \S+){0,6} (?:ergänzt|dazugenommen|angepasst|geändert|umbenannt|gepackt|umgebaut|hinzugefügt|ersetzt|hochgesetzt|genommen|verwendet|eingebaut|parametrisiert)|nachdem ich|musste (?:noch |nur )?(?:\S+ ){0,4}(?:anpassen|ergänzen|ändern|hinzufügen|setzen)|statt\b|anstatt|leicht angepasst|(?:mit|nach) (?:einer )?kleiner? änderung|allerdings mit|nutze jetzt|übernommen,? aber",
            1.5,
        ),
    ),
    "es": (
        (
            r"agregué|añadí|le puse|le agregué|cambié|adapté|modifiqué|metí|ajusté|reemplacé|usé (?:\S+ ){0,4}en (?:lugar|vez)|en (?:lugar|vez) de|después de (?:agregar|cambiar|poner|añadir)|(?:pequeño|un) (?:cambio|ajuste)|con un ajuste|lo (?:adapté|modifiqué|cambié)",
            1.5,
        ),
    ),
    "pt": (
        (
            r"troquei|coloquei|mudei|adicionei|ajustei|adaptei|acrescentei|alterei|substituí|tratei|tive que|precisei|depois que (?:eu )?(?:coloquei|adicionei|mudei|troquei)|pequena (?:alteração|mudança)|(?:no|em) lugar d[eoa]|em vez de|com uma adaptação",
            1.5,
        ),
    ),
    "fr": (
        (
            r"j'ai (?:juste |dû |du |simplement )?(?:ajouté|modifié|changé|adapté|remplacé|renommé|mis|utilisé|corrigé|repris|enlevé)|après avoir|j'ai dû|au lieu d[eu]|petite modif\w*|en l'adaptant|modifié un peu",
            1.5,
        ),
    ),
    "ru": (
        (
            r"добавил\w*|поменял\w*|переделал\w*|изменил\w*|заменил\w*|переписал\w*|вместо|пришлось|после того,? как (?:я )?(?:добавил|поменял|заменил|изменил)|сделал (?:обёртку|обертку|класс)",
            1.5,
        ),
    ),
    "zh": ((r"改成|改了|加了|换成|换了|封装|稍微改|去掉|而不是|自己加|调整了|修改了", 1.5),),
    "ja": (
        (
            r"変えました|変えて|変えたら|変えています|修正|追加|まとめて|消して|アレンジ|付けて|代わりに|に変更|自分用に",
            1.5,
        ),
    ),
}

ACCEPT: Table = {
    "en": (
        (r"thanks|thank (?:you|u)|thx|thnx|tysm|ty|cheers|appreciate\w*|legend|saved my \w+", 0.8),
        (
            r"works|worked|working|(?:it|that|this|now|does|did) work|fixed|solved|did it|did the trick|does the trick|that was it|that'?s it|that'?s the one|the missing piece|like a charm|spot on|compiles?|passes|goes through|kick in",
            1.2,
        ),
        (
            r"perfect|exactly|awesome|great|excellent|brilliant|amazing|wonderful|fantastic|lgtm|looks good|ftw|shipping it|all good|all set|fine now|sorted|nice|cool|yep|yes|yay|correct|right on|good|sounds (?:good|great|delicious|perfect|nice)|delicious|yum|loved?|love it|i'?ll make (?:it|that|this)|makes sense|got it|of course",
            0.9,
        ),
        (r"👍|🎉|🙌|🚀|👌|🙏|✅|💯", 0.9),
    ),
    "de": (
        (
            r"danke\w*|vielen dank|dank dir|genau richtig|klappt|geklappt|funktioniert|läuft|perfekt|super|top|genau das|passt|hat geholfen|gelöst|das war'?s|einwandfrei|prima|spitze",
            1.1,
        ),
    ),
    "es": (
        (
            r"gracias|funciona|funcionó|funcionando|perfecto|genial|listo|quedó|resuelto|eso era|justo lo que|va bien|anda|sirvió|excelente|buenísimo|bien",
            1.1,
        ),
    ),
    "pt": (
        (
            r"valeu|obrigad[oa]|brigad[oa]|obg|funcionou|funciona|deu certo|deu bom|perfeito|era isso|resolvido|show|massa|top|certinho|rodou|exatamente",
            1.1,
        ),
    ),
    "fr": (
        (
            r"merci|(?:ça|ca) (?:marche|fonctionne|tourne)|fonctionne|parfait|nickel|impeccable|super|top|résolu|c'est bon|exactement|génial",
            1.1,
        ),
    ),
    "ru": (
        (
            r"спасибо|спс|работает|заработало|сработало|отлично|супер|класс|помогло|получилось|(?:всё|все) ок|норм\w*|то что нужно|именно то|решено|разобрался",
            1.1,
        ),
    ),
    "zh": (
        (
            r"谢谢|感谢|可以了|能用|解决了|完美|成功了|搞定|跑通|好了|没问题|就是这个|可以用|能跑|正常了|有效",
            1.1,
        ),
    ),
    "ja": (
        (
            r"ありがと|助か|できました|できた|動きました|動きます|動いて|完璧|解決|うまくいき|いけました|バッチリ|ばっちり|感謝|問題な|見つかりました",
            1.1,
        ),
    ),
}

SARCASM: Table = {
    "en": (
        (
            r"thanks a lot|thanks for nothing|what could go wrong|progress i guess|just great|oh (?:great|brilliant|perfect|wonderful|lovely)|wow,? (?:great|thanks|nice)|lovely|🙃|🙄",
            1.0,
        ),
    ),
    "de": ((r"na toll|danke auch|ganz toll", 1.0),),
    "es": ((r"qué bien|uy|🙄", 1.0),),
    "pt": ((r"nossa|que (?:ótimo|maravilha|beleza)", 1.0),),
    "fr": ((r"bravo|génial", 0.5),),
    "ru": ((r"ну (?:спасибо|супер|отлично|класс)", 1.0),),
    "zh": ((r"太棒了|真棒|厉害了", 0.5),),
    "ja": ((r"さすがですね|素晴らしい", 0.5),),
}

NEUTRAL: Table = {
    "en": (
        (
            r"handl\w* (?:the |any |all )?(?:errors?|exceptions?)|error handling|(?:no|zero|without) (?:false positives?|warnings?|errors?)(?= and| so|,|\.|$)",
            0.0,
        ),
    ),
    "de": ((r"fehlerbehandlung|fehler (?:abfangen|behandeln)", 0.0),),
    "es": ((r"manejar (?:los )?errores|manejo de errores", 0.0),),
    "pt": ((r"tratar (?:os )?erros|tratamento de erros?", 0.0),),
    "fr": ((r"gérer les erreurs|gestion des erreurs", 0.0),),
    "ru": ((r"обработк\w* ошибок|обрабатывать ошибки", 0.0),),
    "zh": ((r"错误处理|处理错误|异常处理", 0.0),),
    "ja": ((r"エラー処理|例外処理", 0.0),),
}
"""Phrases that name errors without reporting one ("handle errors"): blanked first."""

WAITING: Table = {
    "en": (
        (
            r"i'?ll (?:try|check|test|look|have a look|let you know|report back|get back)|let me (?:try|check|test|see)|will (?:try|check|test)|(?:try|trying|checking|testing|deploying)(?: it)?(?: now| later| tomorrow)?$|later|tomorrow|on (?:mon|tues|wednes|thurs|fri|satur|sun)day|brb|one sec",
            0.0,
        ),
    ),
    "de": (
        (r"probier\w*|teste (?:ich|das)|schau\w* (?:ich|mal)|morgen|später|gleich|moment", 0.0),
    ),
    "es": ((r"lo pruebo|déjame prob\w+|probaré|mañana|luego|más tarde|un momento", 0.0),),
    "pt": ((r"vou (?:testar|ver|tentar)|amanhã|depois|mais tarde|perai|pera", 0.0),),
    "fr": (
        (
            r"je (?:teste|regarde|reviens|vais tester|vais essayer)|demain|plus tard|ce soir|attends",
            0.0,
        ),
    ),
    "ru": ((r"попробую|проверю|гляну|посмотрю|завтра|позже|вечером|подожди", 0.0),),
    "zh": ((r"试一下|试试|晚点|明天|稍后|等一下|稍等", 0.0),),
    "ja": ((r"試してみ|明日|後で|確認します|待って", 0.0),),
}
"""Waiting to try: a thanks beside it is politeness, not a verdict."""

NOW: dict[str, str] = {
    "en": r"(?:now|it also|and now|and it|it just|so now)",
    "de": r"(?:jetzt|nun)",
    "es": r"ahora",
    "pt": r"agora",
    "fr": r"maintenant",
    "ru": r"теперь",
    "zh": r"现在",
    "ja": r"今度は",
}

QUESTION: dict[str, str] = {
    "en": r"(?:how|what|whats|what'?s|why|when|where|which|who|what about|is there|any idea|(?:does|do|is|are|was|will|would|should|could|can|may|might)\s+(?:this|it|that|i|you|we|they|the|my|these|those)\b)",
    "de": r"(?:wie|was|warum|wieso|weshalb|wann|wo|welche\w*|geht das|gilt das|gibt es|(?:ist|sind|kann|muss|soll) (?:das|es|ich|man|der|die))",
    "es": r"(?:¿|cómo|qué|por qué|cuál|cuándo|dónde|tengo que|se puede|y si)",
    "pt": r"(?:como (?:faço|eu|que|se)|qual|quais|por que|quando|onde|o que|preciso|tem como|e se|dá pra)",
    "fr": r"(?:comment|pourquoi|quel\w*|quand|où|c'est quoi|est-ce|est ce|je dois|et (?:si|sur))",
    "ru": r"(?:как|что|почему|зачем|когда|где|какой|какая|чем|а (?:это|как|что|если)|нужно ли|можно ли)",
    "zh": r"(?:怎么|为什么|什么|哪|如何|是否|能不能|可不可以)",
    "ja": r"(?:なぜ|どう|何|どこ|いつ)",
}
"""Openings of a question when the message has no question mark."""

QUESTION_END = re.compile(r"(?:[?？]|吗|呢|ですか|ますか|でしょうか|か)\s*$")

REQUEST: dict[str, str] = {
    "en": r"(?:(?:ok(?:ay)?|so|and|now|next|also|then)[ ,]+)*(?:now |also |next |then )?(?:do the same|same for|same thing|(?:can|could|would) you (?:also |now |please )?(?:add|show|make|do|write|explain|handle|convert|give|help)|(?:add|make|write|show|handle|convert|explain|give|do) (?:me |it |this |that |the |a |an |some |logging|support|tests?|the same)|unrelated|now what about|what about)",
    "de": r"(?:und jetzt|jetzt (?:bitte )?(?:noch|das|dasselbe)|mach (?:das|bitte|mal)|(?:das )?gleiche für|dasselbe für|als nächstes)",
    "es": r"(?:ahora haz|haz lo mismo|lo mismo para|ahora,? ¿)",
    "pt": r"(?:agora faz|faz o mesmo|o mesmo p(?:ara|ra)|agora como)",
    "fr": r"(?:maintenant fais|fais (?:la même chose|pareil)|pareil pour|la même chose pour|et pour)",
    "ru": r"(?:теперь сделай|сделай то же|то же самое для|а теперь|теперь как)",
    "zh": r"(?:那现在|同样的方法|也这样|怎么写|再帮我)",
    "ja": r"(?:同じこと|お願いします|でもやって|次は|次に)",
}
"""Openings of a new request: what follows is new work, not a verdict on this answer."""

TYPO_VOCAB: tuple[str, ...] = (
    "work",
    "works",
    "worked",
    "working",
    "thanks",
    "thank",
    "still",
    "broken",
    "doesnt",
    "didnt",
    "awesome",
    "change",
    "changed",
    "perfect",
    "fixed",
    "error",
    "again",
    "nothing",
    "danke",
    "funktioniert",
    "klappt",
    "geklappt",
    "perfekt",
    "fehler",
    "gracias",
    "funciona",
    "funcionó",
    "perfecto",
    "sigue",
    "funcionou",
    "obrigado",
    "obrigada",
    "perfeito",
    "funciona",
    "merci",
    "marche",
    "fonctionne",
    "parfait",
    "toujours",
    "работает",
    "спасибо",
    "заработало",
    "сработало",
    "отлично",
    "ошибка",
)
"""Words a typo is corrected to (one edit away, same first letter, four letters or more)."""

TYPO_PROTECT = _wordlist(
    "words word fork forks worm worms wore worn worse wars warms worth workers worker "
    "thing think thinks than then there these chains stall skill spill stile stills "
    "broke token brother fixes mixed fixer error's "
    "charge fixes noting broker danker dance dank marches marched march mercy march merch "
    "again against agains gain "
    "change chance changes range"
)
"""Real words one edit away from a vocabulary word: never "corrected"."""


def compile_table(table: Table) -> tuple[tuple[re.Pattern[str], float], ...]:
    """One pattern per cue; spaced languages get word edges at both ends."""
    out: list[tuple[re.Pattern[str], float]] = []
    for lang, cues in table.items():
        for pattern, weight in cues:
            out.append((_compile(lang, pattern), weight))
    return tuple(out)


def compile_openings(openings: dict[str, str]) -> re.Pattern[str]:
    """One pattern matching any language's opening at the start of a clause."""
    parts = [(rf"{body}(?!\w)" if lang in SPACED else body) for lang, body in openings.items()]
    return re.compile(r"^\s*(?:" + "|".join(parts) + ")", re.IGNORECASE)


def _compile(lang: str, pattern: str) -> re.Pattern[str]:
    if lang in SPACED:
        pattern = rf"(?<!\w)(?:{pattern})(?!\w)"
    return re.compile(pattern, re.IGNORECASE)


STOPWORDS = _wordlist(
    "a an the i you me my to of in on for with and or is are be do does how what why can "
    "could would should it this that please pls by from at as your we our "
    "wie ich die der das und mit ein eine comment je la le les un une de en es el los las "
    "que y cómo como"
)
"""Words left out when comparing a follow-up with the question (re-ask detection)."""
