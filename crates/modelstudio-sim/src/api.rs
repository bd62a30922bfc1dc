//! The shapes of Model Studio's requests and answers, for the three
//! endpoints the simulator serves, in both API styles.

use serde_json::{json, Value};

use crate::rules::Reason;

/// Which API a request came in through.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Style {
    /// `/compatible-mode/v1/chat/completions`.
    Chat,
    /// `/compatible-mode/v1/embeddings`.
    Embeddings,
    /// `/api/v1/services/aigc/text-generation/generation`.
    Native,
}

/// Completion tokens when a request names no maximum.
pub const DEFAULT_COMPLETION: u64 = 16;

/// What a request asks for: its model and its usage, computed
/// deterministically from the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked {
    /// The `model` field.
    pub model: String,
    /// Input tokens: a quarter of the text's bytes, rounded up, plus 4 a message.
    pub input: u64,
    /// Output tokens: the request's maximum, else [`DEFAULT_COMPLETION`]
    /// (0 for embeddings).
    pub output: u64,
    /// A streamed answer (chat only).
    pub stream: bool,
    /// The last chunk of a stream carries the usage.
    pub include_usage: bool,
}

fn text_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// The tokens of a list of messages (`content` strings, or parts with `text`).
fn messages_tokens(messages: Option<&Value>) -> u64 {
    let Some(messages) = messages.and_then(Value::as_array) else {
        return 0;
    };
    messages
        .iter()
        .map(|m| {
            let content = match m.get("content") {
                Some(Value::String(s)) => text_tokens(s),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .map(text_tokens)
                    .sum(),
                _ => 0,
            };
            content + 4
        })
        .sum()
}

/// Reads a request body; the error says what is missing.
pub fn parse(style: Style, body: &Value) -> Result<Asked, String> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("the body has no string `model`")?
        .to_string();
    let number = |v: Option<&Value>| v.and_then(Value::as_u64);
    let (input, output) = match style {
        Style::Chat => (
            messages_tokens(body.get("messages")),
            number(body.get("max_completion_tokens"))
                .or(number(body.get("max_tokens")))
                .unwrap_or(DEFAULT_COMPLETION),
        ),
        Style::Embeddings => {
            let input = match body.get("input") {
                Some(Value::String(s)) => text_tokens(s),
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(text_tokens)
                    .sum(),
                _ => return Err("the body has no `input`".into()),
            };
            (input, 0)
        }
        Style::Native => (
            messages_tokens(body.pointer("/input/messages")),
            number(body.pointer("/parameters/max_tokens")).unwrap_or(DEFAULT_COMPLETION),
        ),
    };
    Ok(Asked {
        model,
        input,
        output,
        stream: style == Style::Chat && body.get("stream") == Some(&Value::Bool(true)),
        include_usage: body.pointer("/stream_options/include_usage") == Some(&Value::Bool(true)),
    })
}

/// An error body in the request's style.
pub fn error(style: Style, code: &str, message: &str, request_id: &str) -> Value {
    match style {
        Style::Native => json!({"code": code, "message": message, "request_id": request_id}),
        _ => json!({
            "error": {"message": message, "type": code, "code": code},
            "request_id": request_id,
        }),
    }
}

/// The 429 body for `reason`, with the provider's codes and messages.
pub fn refusal(style: Style, reason: Reason, request_id: &str) -> Value {
    let (native, compatible, message) = match reason {
        Reason::Rpm | Reason::Rps | Reason::Submit | Reason::Query => (
            "Throttling.RateQuota",
            "limit_requests",
            "Requests rate limit exceeded, please try again later.",
        ),
        Reason::Tpm | Reason::Tps => (
            "Throttling.AllocationQuota",
            "insufficient_quota",
            if style == Style::Native {
                "Allocated quota exceeded, please increase your quota limit."
            } else {
                "You exceeded your current quota, please check your plan and billing details."
            },
        ),
        Reason::Burst => (
            "Throttling.BurstRate",
            "limit_burst_rate",
            "Request rate increased too quickly. To ensure system stability, please adjust \
             your client logic to scale requests more smoothly over time.",
        ),
        // Undocumented: the generic code of the provider's list (see
        // `crate::tasks`).
        Reason::Concurrency => ("Throttling", "Throttling", "Requests throttling triggered."),
    };
    let code = if style == Style::Native {
        native
    } else {
        compatible
    };
    error(style, code, message, request_id)
}

/// A success body in the request's style, with its usage.
pub fn success(style: Style, asked: &Asked, request_id: &str) -> Value {
    let total = asked.input + asked.output;
    match style {
        Style::Chat => json!({
            "id": request_id,
            "object": "chat.completion",
            "model": asked.model,
            "choices": [{"index": 0, "finish_reason": "length",
                "message": {"role": "assistant", "content": "simulated"}}],
            "usage": {"prompt_tokens": asked.input, "completion_tokens": asked.output,
                "total_tokens": total},
        }),
        Style::Embeddings => json!({
            "object": "list",
            "model": asked.model,
            "data": [{"object": "embedding", "index": 0, "embedding": [0.0, 0.0, 0.0]}],
            "usage": {"prompt_tokens": asked.input, "total_tokens": total},
            "id": request_id,
        }),
        Style::Native => json!({
            "output": {"text": "simulated", "finish_reason": "length"},
            "usage": {"input_tokens": asked.input, "output_tokens": asked.output,
                "total_tokens": total},
            "request_id": request_id,
        }),
    }
}

/// A streamed chat answer as server-sent events: two content chunks, the
/// usage chunk when asked for, and `[DONE]`.
pub fn stream(asked: &Asked, request_id: &str) -> String {
    let chunk = |content: &str| {
        json!({"id": request_id, "object": "chat.completion.chunk", "model": asked.model,
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
    };
    let mut events = vec![chunk("simu"), chunk("lated")];
    if asked.include_usage {
        events.push(json!({"id": request_id, "object": "chat.completion.chunk",
            "model": asked.model, "choices": [],
            "usage": {"prompt_tokens": asked.input, "completion_tokens": asked.output,
                "total_tokens": asked.input + asked.output}}));
    }
    let mut text: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    text.push_str("data: [DONE]\n\n");
    text
}
