//! How many live streams (Server-Sent Events) each client address may hold open at once:
//! a stream costs a connection and a subscription for as long as the client wishes, so one
//! client must not be able to hold them all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::domain::DomainError;

#[derive(Debug, Clone)]
pub struct StreamSlots {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    per_client: usize,
}

/// One open stream; dropping it (the client left, or the server stops) frees the slot.
#[derive(Debug)]
pub struct StreamSlot {
    slots: StreamSlots,
    client: IpAddr,
}

impl StreamSlots {
    pub fn new(per_client: usize) -> Self {
        StreamSlots {
            open: Arc::default(),
            per_client,
        }
    }

    /// A slot for `client`, or 429 when it holds its limit already.
    pub fn take(&self, client: IpAddr) -> Result<StreamSlot, DomainError> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(client).or_insert(0);
        if *count >= self.per_client {
            return Err(DomainError::RateLimited { retry_after_seconds: 5 });
        }
        *count += 1;
        Ok(StreamSlot {
            slots: self.clone(),
            client,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_client_and_freed_on_drop() {
        let slots = StreamSlots::new(2);
        let me = IpAddr::from([127, 0, 0, 1]);
        let first = slots.take(me).expect("first");
        let _second = slots.take(me).expect("second");
        assert!(slots.take(me).is_err());
        assert!(
            slots.take(IpAddr::from([127, 0, 0, 2])).is_ok(),
            "others have their own"
        );
        drop(first);
        assert!(slots.take(me).is_ok());
    }
}
