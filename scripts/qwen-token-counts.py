#!/usr/bin/env python3
"""Counts the Qwen tokens of a few texts in several languages, with the
tokenizer that Alibaba's dashscope SDK ships (its qwen.tiktoken vocabulary,
offline), and writes them to crates/limits-reqwest/tests/data/qwen-token-counts.json
for the test that measures limits-reqwest's characters-per-token estimate.

Usage: pip install dashscope tiktoken && python3 scripts/qwen-token-counts.py
"""
import json
import pathlib

from dashscope.tokenizers import get_tokenizer

# Texts written for this measurement.
TEXTS = {
    "English": "The rate limits apply per account, summed over every API key the account "
    "holds. When a burst of requests arrives at once, the service may refuse some of them "
    "even though the minute's totals stay below the published thresholds.",
    "Chinese": "限流按账号计算，同一账号下所有 API Key 的调用量会合并统计。如果在很短的时间内"
    "突然发送大量请求，即使每分钟的总量没有超过限制，服务也可能拒绝其中一部分请求。",
    "Japanese": "レート制限はアカウント単位で適用され、同じアカウントのすべての API キーの"
    "呼び出しが合算されます。短時間に大量のリクエストを送ると、一部が拒否されることがあります。",
    "Korean": "요청 한도는 계정 단위로 적용되며 같은 계정의 모든 API 키 호출이 합산됩니다. "
    "짧은 시간에 많은 요청을 한꺼번에 보내면 일부 요청이 거부될 수 있습니다.",
    "French": "Les limites s'appliquent par compte, en additionnant toutes les clés d'API du "
    "compte. Une rafale soudaine de requêtes peut être refusée même si le total de la minute "
    "reste sous le seuil publié.",
    "German": "Die Ratenlimits gelten pro Konto und werden über alle API-Schlüssel des Kontos "
    "summiert. Ein plötzlicher Ansturm von Anfragen kann abgelehnt werden, auch wenn die "
    "Summe der Minute unter dem veröffentlichten Grenzwert bleibt.",
    "Spanish": "Los límites se aplican por cuenta y suman todas las claves de API de la cuenta. "
    "Una ráfaga repentina de solicitudes puede ser rechazada aunque el total del minuto quede "
    "por debajo del umbral publicado.",
    "Russian": "Ограничения действуют на уровне аккаунта и суммируют вызовы всех API-ключей "
    "аккаунта. Внезапный всплеск запросов может быть отклонён, даже если общий объём за "
    "минуту остаётся ниже опубликованного порога.",
    "Arabic": "تُطبَّق حدود المعدل على مستوى الحساب، وتُجمع استدعاءات جميع مفاتيح واجهة البرمجة "
    "في الحساب. قد تُرفض دفعة مفاجئة من الطلبات حتى لو بقي مجموع الدقيقة دون الحد المنشور.",
    "Rust code": "fn admit(state: &mut State, now: u64, tokens: u64) -> Result<(), Wait> {\n"
    "    let wait = state.next.saturating_sub(now);\n    if wait > 0 {\n"
    "        return Err(Wait(wait));\n    }\n    state.next = now + tokens * PER_TOKEN;\n    Ok(())\n}\n",
    "JSON": '{"model": "qwen-plus", "max_tokens": 256, "messages": [{"role": "user", '
    '"content": "Summarise the attached report in three bullet points."}]}',
}


def main():
    tokenizer = get_tokenizer("qwen-turbo")
    rows = [
        {"language": language, "text": text, "qwen_tokens": len(tokenizer.encode(text))}
        for language, text in TEXTS.items()
    ]
    out = pathlib.Path(__file__).resolve().parent.parent / "crates/limits-reqwest/tests/data/qwen-token-counts.json"
    header = "written by scripts/qwen-token-counts.py with dashscope's Qwen tokenizer; do not edit"
    out.write_text(json.dumps({"note": header, "texts": rows}, ensure_ascii=False, indent=1) + "\n")
    for row in rows:
        print(f"{row['language']:>10}: {row['qwen_tokens']:4} tokens, {len(row['text']):4} characters")


if __name__ == "__main__":
    main()
