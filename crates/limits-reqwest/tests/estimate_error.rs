//! The characters-per-token estimate against Qwen's tokenizer, on texts in
//! several languages and formats whose Qwen token counts
//! `scripts/qwen-token-counts.py` wrote with the tokenizer of Alibaba's
//! dashscope SDK. The estimate may overestimate (the response's usage
//! corrects it) but must not underestimate by much: an underestimate lets
//! the throttle send more than the limits.

use limits_reqwest::estimate::text_tokens;
use serde_json::Value;

#[test]
fn the_estimate_stays_near_qwens_token_counts() {
    let data = include_str!("data/qwen-token-counts.json");
    let data: Value = serde_json::from_str(data).unwrap();
    let texts = data["texts"].as_array().unwrap();
    assert!(texts.len() >= 8, "a few languages");
    let mut worst: (f64, f64) = (0.0, 0.0);
    for t in texts {
        let (language, text) = (t["language"].as_str().unwrap(), t["text"].as_str().unwrap());
        let qwen = t["qwen_tokens"].as_u64().unwrap();
        let ours = text_tokens(text);
        let error = (ours as f64 - qwen as f64) / qwen as f64;
        eprintln!(
            "{language:>10}: Qwen {qwen:4}, estimate {ours:4}, {:+.0}%",
            error * 100.0
        );
        worst = (worst.0.min(error), worst.1.max(error));
    }
    assert!(
        worst.0 >= -0.10,
        "underestimates by {:.0}%",
        -worst.0 * 100.0
    );
    assert!(worst.1 <= 0.35, "overestimates by {:.0}%", worst.1 * 100.0);
}
