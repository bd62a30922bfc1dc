//! A streamed answer, watched as it passes: the last `usage` its events
//! carry (`stream_options.include_usage`) reconciles the permit when the
//! stream ends, before the reader sees the end. Nothing is buffered but
//! the one line being read.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use limits_throttle::Permit;

use crate::estimate::usage_tokens;

type Inner = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A permit's reconcile under way.
type Reconciling = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The body of a streamed answer, passed through unchanged.
pub(crate) struct UsageStream {
    inner: Inner,
    /// The end of the last chunk that did not end a line.
    partial: Vec<u8>,
    used: Option<u64>,
    permit: Option<Permit<'static>>,
    /// The reconcile started at the end, until it is done.
    reconciling: Option<Reconciling>,
}

impl UsageStream {
    pub fn new(
        inner: impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
        permit: Permit<'static>,
    ) -> Self {
        UsageStream {
            inner: Box::pin(inner),
            partial: Vec::new(),
            used: None,
            permit: Some(permit),
            reconciling: None,
        }
    }

    fn watch(&mut self, chunk: &[u8]) {
        self.partial.extend_from_slice(chunk);
        let Some(last_newline) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let complete: Vec<u8> = self.partial.drain(..=last_newline).collect();
        for line in complete.split(|&b| b == b'\n') {
            let Some(data) = line.strip_prefix(b"data:") else {
                continue;
            };
            if let Some(used) = serde_json::from_slice(data.trim_ascii())
                .ok()
                .and_then(|json| usage_tokens(&json))
            {
                self.used = Some(used);
            }
        }
    }

    /// At the end: the reconcile with the usage seen, if one was seen;
    /// without one, the estimate stands.
    fn finish(&mut self) -> Option<Reconciling> {
        let (Some(permit), Some(used)) = (self.permit.take(), self.used) else {
            return None;
        };
        Some(Box::pin(async move {
            let _ = permit.reconcile(used).await;
        }))
    }
}

impl Drop for UsageStream {
    /// A stream dropped while its reconcile is under way: the reconcile
    /// goes on, on the runtime.
    fn drop(&mut self) {
        if let Some(reconciling) = self.reconciling.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(reconciling);
            }
        }
    }
}

impl Stream for UsageStream {
    type Item = reqwest::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.reconciling.is_none() {
            let polled = self.inner.as_mut().poll_next(cx);
            match &polled {
                Poll::Ready(Some(Ok(chunk))) => {
                    let chunk = chunk.clone();
                    self.watch(&chunk);
                    return polled;
                }
                Poll::Ready(None) => match self.finish() {
                    Some(reconciling) => self.reconciling = Some(reconciling),
                    None => return polled,
                },
                _ => return polled,
            }
        }
        let Some(reconciling) = self.reconciling.as_mut() else {
            return Poll::Ready(None);
        };
        match reconciling.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.reconciling = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
