//! How many of something each client address may hold open at once: connections, and live
//! streams (Server-Sent Events). Each costs a file descriptor and memory for as long as
//! the client wishes, so one client must not be able to hold them all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Clone)]
pub struct ClientSlots {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    per_client: usize,
}

/// One thing held open; dropping it (the client left, or the server stops) frees the slot.
#[derive(Debug)]
pub struct ClientSlot {
    slots: ClientSlots,
    client: IpAddr,
}

impl ClientSlots {
    pub fn new(per_client: usize) -> Self {
        ClientSlots {
            open: Arc::default(),
            per_client,
        }
    }

    /// A slot for `client`, or `None` when it holds its limit already.
    pub fn take(&self, client: IpAddr) -> Option<ClientSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(client).or_insert(0);
        if *count >= self.per_client {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            slots: self.clone(),
            client,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(PoisonError::into_inner);
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
        let slots = ClientSlots::new(2);
        let me = IpAddr::from([127, 0, 0, 1]);
        let first = slots.take(me).expect("first");
        let _second = slots.take(me).expect("second");
        assert!(slots.take(me).is_none());
        assert!(
            slots.take(IpAddr::from([127, 0, 0, 2])).is_some(),
            "others have their own"
        );
        drop(first);
        assert!(slots.take(me).is_some());
    }
}
