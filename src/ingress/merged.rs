//! The consumers of one session (one per consumed queue: a sharded instance owns several) as
//! one stream. Each queue keeps its own delivery order (a person's events are all in one
//! queue); the queues are polled in turn so none starves; the stream ends when any consumer
//! ends, and the session reconnects to consume them all again.

use futures_lite::Stream;
use lapin::Consumer;
use lapin::message::Delivery;
use std::pin::Pin;
use std::task::{Context, Poll};

pub struct Merged {
    consumers: Vec<Consumer>,
    /// Which consumer is polled first next time.
    next: usize,
}

impl Merged {
    pub fn new(consumers: Vec<Consumer>) -> Self {
        Merged { consumers, next: 0 }
    }
}

impl Stream for Merged {
    type Item = lapin::Result<Delivery>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let n = self.consumers.len();
        if n == 0 {
            return Poll::Ready(None);
        }
        let start = self.next % n;
        self.next = (start + 1) % n;
        for i in 0..n {
            let consumer = &mut self.consumers[(start + i) % n];
            if let Poll::Ready(item) = Pin::new(consumer).poll_next(cx) {
                return Poll::Ready(item);
            }
        }
        Poll::Pending
    }
}
