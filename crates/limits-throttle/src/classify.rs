//! What a Model Studio error response says tripped.
//!
//! The provider answers a throttled request with HTTP 429 and names the
//! limit in its error code and message, in both API styles:
//!
//! | tripped | native `code` | OpenAI-compatible `error.code` | message contains |
//! |---|---|---|---|
//! | requests | `Throttling.RateQuota` | `limit_requests` | "Requests rate limit exceeded", "You exceeded your current requests list" |
//! | tokens | `Throttling.AllocationQuota` | `insufficient_quota` | "Allocated quota exceeded", "You exceeded your current quota" |
//! | burst | `Throttling.BurstRate` | `limit_burst_rate` | "Request rate increased too quickly" |
//!
//! `insufficient_quota` is the TPM limit here, not an empty balance. A
//! free quota used up is HTTP 403, and is no rate limit.

use serde_json::Value;

/// The limit a refusal names.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tripped {
    /// The request limit (RPM, or its per-second share).
    Requests,
    /// The token limit (TPM, or its per-second share).
    Tokens,
    /// Burst protection: the request rate rose too quickly.
    Burst,
    /// A rate limit that the response does not name (generic `Throttling`,
    /// or a 429 whose body is not understood).
    Unspecified,
}

impl Tripped {
    /// A short name: `requests`, `tokens`, `burst` or `unspecified`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tripped::Requests => "requests",
            Tripped::Tokens => "tokens",
            Tripped::Burst => "burst",
            Tripped::Unspecified => "unspecified",
        }
    }
}

impl std::fmt::Display for Tripped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Codes (either API style) and the limit each names, most specific first.
const CODES: &[(&str, Tripped)] = &[
    ("Throttling.RateQuota", Tripped::Requests),
    ("limit_requests", Tripped::Requests),
    ("Throttling.AllocationQuota", Tripped::Tokens),
    ("insufficient_quota", Tripped::Tokens),
    ("Throttling.BurstRate", Tripped::Burst),
    ("limit_burst_rate", Tripped::Burst),
];

/// Phrases of the messages, compared without regard to case.
const MESSAGES: &[(&str, Tripped)] = &[
    ("requests rate limit exceeded", Tripped::Requests),
    ("you exceeded your current requests list", Tripped::Requests),
    ("allocated quota exceeded", Tripped::Tokens),
    ("you exceeded your current quota", Tripped::Tokens),
    ("request rate increased too quickly", Tripped::Burst),
];

/// Reads a Model Studio error response: `Some` with the limit that tripped
/// when it is a rate-limit refusal (HTTP 429), `None` for anything else
/// (success, a 403 for a used-up free quota, any other error).
///
/// The body may be either API style: OpenAI-compatible
/// `{"error": {"message", "type", "code"}}` or native
/// `{"code", "message", "request_id"}`; codes are read first, then the
/// message. A 429 that names nothing known is [`Tripped::Unspecified`].
///
/// ```
/// use limits_throttle::{classify, Tripped};
///
/// let native = br#"{"code": "Throttling.AllocationQuota",
///     "message": "Allocated quota exceeded, please increase your quota limit.",
///     "request_id": "b6c5d0a2-0000-0000-0000-000000000000"}"#;
/// assert_eq!(classify(429, native), Some(Tripped::Tokens));
///
/// let compatible = br#"{"error": {"message": "Request rate increased too quickly.",
///     "type": "limit_burst_rate", "code": "limit_burst_rate"}}"#;
/// assert_eq!(classify(429, compatible), Some(Tripped::Burst));
///
/// assert_eq!(classify(403, br#"{"code": "AllocationQuota.FreeTierOnly"}"#), None);
/// ```
pub fn classify(status: u16, body: &[u8]) -> Option<Tripped> {
    if status != 429 {
        return None;
    }
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return Some(by_message(&String::from_utf8_lossy(body)).unwrap_or(Tripped::Unspecified));
    };
    let error = json.get("error").unwrap_or(&json);
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let codes = [
        text(error, "code"),
        text(error, "type"),
        text(&json, "code"),
    ];
    for code in codes.iter().flatten() {
        if let Some((_, tripped)) = CODES.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)) {
            return Some(*tripped);
        }
    }
    let message = [text(error, "message"), text(&json, "message")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Some(by_message(&message).unwrap_or(Tripped::Unspecified))
}

fn by_message(message: &str) -> Option<Tripped> {
    let message = message.to_lowercase();
    MESSAGES
        .iter()
        .find(|(phrase, _)| message.contains(phrase))
        .map(|(_, tripped)| *tripped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native(code: &str, message: &str) -> Vec<u8> {
        serde_json::json!({"code": code, "message": message, "request_id": "r-1"})
            .to_string()
            .into_bytes()
    }

    fn compatible(code: Option<&str>, message: &str) -> Vec<u8> {
        serde_json::json!({"error": {"message": message, "type": code, "code": code},
            "request_id": "r-1"})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn every_documented_code_and_message_in_both_styles() {
        for (code, tripped) in CODES {
            assert_eq!(classify(429, &native(code, "")), Some(*tripped), "{code}");
            assert_eq!(
                classify(429, &compatible(Some(code), "")),
                Some(*tripped),
                "{code}"
            );
        }
        for (phrase, tripped) in MESSAGES {
            let message = format!("{}, please try again later.", phrase.to_uppercase());
            assert_eq!(
                classify(429, &native("Throttling", &message)),
                Some(*tripped)
            );
            assert_eq!(classify(429, &compatible(None, &message)), Some(*tripped));
            assert_eq!(
                classify(429, message.as_bytes()),
                Some(*tripped),
                "plain text"
            );
        }
    }

    #[test]
    fn the_code_wins_over_the_message() {
        let body = native("Throttling.RateQuota", "Allocated quota exceeded");
        assert_eq!(classify(429, &body), Some(Tripped::Requests));
    }

    #[test]
    fn unnamed_rate_limits_and_non_rate_limits() {
        assert_eq!(
            classify(429, &native("Throttling", "Too many requests")),
            Some(Tripped::Unspecified)
        );
        assert_eq!(classify(429, b""), Some(Tripped::Unspecified));
        // A used-up free quota, a bad request, a server error, success.
        let free = native("AllocationQuota.FreeTierOnly", "Allocated quota exceeded");
        assert_eq!(classify(403, &free), None);
        assert_eq!(
            classify(400, &compatible(Some("invalid_value"), "bad")),
            None
        );
        assert_eq!(classify(500, b"Internal error"), None);
        assert_eq!(classify(200, b"{}"), None);
    }
}
