//! A session's outbox: what the PortalSessionHandler queues for one
//! connection's task, bounded, in order.
//!
//! It does what a bounded `tokio::sync::mpsc` channel of one sender does,
//! in a tenth of the memory. An idle mpsc channel holds its shared state
//! (padded to cache lines) and a first block of 32 slots from the start:
//! about 2.5 KiB for every connection, a third of what the portal spent on
//! one (heaptrack, 10,000 sessions, docs/benchmarks.md). An outbox is a
//! `VecDeque` behind a mutex with a `Notify`: about 150 bytes idle, and the
//! queue's buffer is given back when a burst has drained. The hub is its
//! only sender; the connection's task its only receiver.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Buffer kept by an empty queue; a bigger one (after a burst) is given back.
const KEEP_CAPACITY: usize = 4;

struct Shared<T> {
    queue: Mutex<VecDeque<T>>,
    capacity: usize,
    /// The receiver waits here; a send or the sender's drop wakes it.
    notify: Notify,
    sender_gone: AtomicBool,
    receiver_gone: AtomicBool,
}

/// A new outbox that holds at most `capacity` items.
pub(crate) fn outbox<T>(capacity: usize) -> (OutboxSender<T>, OutboxReceiver<T>) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(VecDeque::new()),
        capacity: capacity.max(1),
        notify: Notify::new(),
        sender_gone: AtomicBool::new(false),
        receiver_gone: AtomicBool::new(false),
    });
    (
        OutboxSender {
            shared: shared.clone(),
        },
        OutboxReceiver { shared },
    )
}

/// The hub's end.
pub(crate) struct OutboxSender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> OutboxSender<T> {
    /// Queues `item`; gives it back when the queue is full (a client that
    /// stopped reading) or the receiver is gone.
    pub(crate) fn try_send(&self, item: T) -> Result<(), T> {
        if self.shared.receiver_gone.load(Ordering::Acquire) {
            return Err(item);
        }
        {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            if q.len() >= self.shared.capacity {
                return Err(item);
            }
            q.push_back(item);
        }
        self.shared.notify.notify_one();
        Ok(())
    }
}

impl<T> Drop for OutboxSender<T> {
    fn drop(&mut self) {
        self.shared.sender_gone.store(true, Ordering::Release);
        self.shared.notify.notify_one();
    }
}

/// The connection task's end.
pub(crate) struct OutboxReceiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> OutboxReceiver<T> {
    /// The next item, if one is queued now.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        let item = q.pop_front();
        if q.is_empty() && q.capacity() > KEEP_CAPACITY {
            q.shrink_to(KEEP_CAPACITY);
        }
        item
    }

    /// The next item, waiting for one; `None` once the sender is gone and
    /// everything it queued has been taken.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        loop {
            if let Some(item) = self.try_recv() {
                return Some(item);
            }
            if self.shared.sender_gone.load(Ordering::Acquire) {
                // Anything queued before the drop was seen above, or now.
                return self.try_recv();
            }
            // A send between the check and here left a permit: no wake-up is lost.
            self.shared.notify.notified().await;
        }
    }
}

impl<T> Drop for OutboxReceiver<T> {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
        let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_bounded_and_in_order() {
        let (tx, mut rx) = outbox(3);
        for i in 0..3 {
            assert!(tx.try_send(i).is_ok());
        }
        assert_eq!(tx.try_send(3), Err(3), "full");
        assert_eq!(rx.try_recv(), Some(0));
        assert!(tx.try_send(4).is_ok(), "room again");
        let got: Vec<_> = std::iter::from_fn(|| rx.try_recv()).collect();
        assert_eq!(got, vec![1, 2, 4]);
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn a_gone_receiver_refuses_and_a_gone_sender_ends_after_the_rest() {
        let (tx, rx) = outbox(4);
        drop(rx);
        assert_eq!(tx.try_send(1), Err(1));
        let (tx, mut rx) = outbox(4);
        tx.try_send("last words").unwrap();
        drop(tx);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            assert_eq!(rx.recv().await, Some("last words"));
            assert_eq!(rx.recv().await, None);
        });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_receiver_wakes_for_each_item_from_another_thread() {
        let (tx, mut rx) = outbox(16);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(i) = rx.recv().await {
                got.push(i);
            }
            got
        });
        for i in 0..1000 {
            while tx.try_send(i).is_err() {
                tokio::task::yield_now().await;
            }
        }
        drop(tx);
        let got = reader.await.unwrap();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn a_drained_burst_gives_its_buffer_back() {
        let (tx, mut rx) = outbox(1000);
        for i in 0..500 {
            tx.try_send(i).unwrap();
        }
        while rx.try_recv().is_some() {}
        let cap = tx.shared.queue.lock().unwrap().capacity();
        assert!(cap <= KEEP_CAPACITY, "{cap}");
    }
}
