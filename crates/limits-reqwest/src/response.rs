//! Reading a response without losing it: a 429's reason, a whole body, a
//! stream's usage as it passes.

use bytes::Bytes;
use limits_throttle::{classify, Permit};
use reqwest::{Response, StatusCode};
use reqwest_middleware::Result;

use crate::estimate::usage_tokens;
use crate::stream::UsageStream;

/// A response's rate limit: a 429 whose body [`classify`] reads, handed on
/// rebuilt with what tripped; any other answer as it is, with `None`.
pub(crate) async fn rate_limited(
    response: Response,
) -> Result<(Response, Option<limits_throttle::Tripped>)> {
    if response.status() != StatusCode::TOO_MANY_REQUESTS {
        return Ok((response, None));
    }
    let (response, body) = buffered(response).await?;
    let tripped = classify(StatusCode::TOO_MANY_REQUESTS.as_u16(), &body);
    Ok((response, tripped))
}

/// Reads a whole (small) body, and a response with the same status,
/// headers and body to hand on.
pub(crate) async fn buffered(response: Response) -> Result<(Response, Bytes)> {
    let head = head(&response);
    let body = response.bytes().await?;
    Ok((rebuild(head, body.clone()), body))
}

/// A response's status, version and headers, without its body.
fn head(response: &Response) -> http::Response<()> {
    let mut head = http::Response::new(());
    *head.status_mut() = response.status();
    *head.version_mut() = response.version();
    *head.headers_mut() = response.headers().clone();
    head
}

/// A response to hand on: a head, with `body`.
fn rebuild(head: http::Response<()>, body: impl Into<reqwest::Body>) -> Response {
    Response::from(head.map(|()| body.into()))
}

/// Reconciles a successful call with its usage: a JSON body is read whole
/// (and handed on), a stream is watched as it passes and reconciled when it
/// ends.
pub(crate) async fn settle(response: Response, permit: Permit<'_>) -> Result<Response> {
    let is_stream = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if is_stream {
        let head = head(&response);
        let stream = UsageStream::new(response.bytes_stream(), permit.into_owned());
        return Ok(rebuild(head, reqwest::Body::wrap_stream(stream)));
    }
    // A body that breaks off is the caller's error; the estimate stands.
    let (response, body) = buffered(response).await?;
    if let Some(used) = serde_json::from_slice(&body)
        .ok()
        .and_then(|json| usage_tokens(&json))
    {
        let _ = permit.reconcile(used).await;
    }
    Ok(response)
}
