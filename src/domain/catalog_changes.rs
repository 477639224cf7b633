//! What this process has heard of changes to the public catalog, so that caches of its
//! answers (`app::caching`) know when one is out of date. Checkouts move stock all the
//! time and touch few products, so stock is followed per product: a checkout storm on one
//! product leaves every other product's answers cached. Anything else (a product's
//! fields, prices, images, categories, the shop's currencies) changes the whole catalog.
//!
//! A clock ticks at each change heard. An answer remembers the tick before it was read
//! from the database; it is current while no change it depends on has a later tick.
//! Changes are heard after their commit, so an answer read after a tick saw the change.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::events::{EventKind, Notice};

/// Products whose stock changes are remembered one by one; past this many, the map starts
/// over as a change of the whole catalog (so a catalog of millions costs bounded memory).
const FOLLOWED_PRODUCTS: usize = 100_000;

/// How long a kept answer is served at most: a write nobody announced (a `backroom
/// import` into the SQLite file of a running server) is seen after this.
pub const LONGEST_KEPT: Duration = Duration::from_secs(1);

/// When an answer was read: the clock's tick before the read, and the time.
#[derive(Debug, Clone, Copy)]
pub struct ReadMark {
    tick: u64,
    at: Instant,
}

#[derive(Debug, Default)]
pub struct CatalogChanges {
    clock: AtomicU64,
    /// The tick of the last change to the whole catalog.
    catalog: AtomicU64,
    /// Each product's last change of stock.
    stock: Mutex<HashMap<String, u64>>,
}

impl CatalogChanges {
    /// The tick to remember for an answer about to be read.
    pub fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// The mark to keep with an answer about to be read.
    pub fn mark(&self) -> ReadMark {
        ReadMark {
            tick: self.now(),
            at: Instant::now(),
        }
    }

    /// Whether an answer read at `mark` about `products` may still be served: no change
    /// it depends on heard since, and younger than [`LONGEST_KEPT`].
    pub fn still_current(&self, mark: ReadMark, products: &[String]) -> bool {
        mark.at.elapsed() < LONGEST_KEPT && self.unchanged_since(mark.tick, products)
    }

    /// Whether an answer read at `tick` about `products` (their stock included) is current.
    pub fn unchanged_since(&self, tick: u64, products: &[String]) -> bool {
        if products.is_empty() {
            return self.catalog.load(Ordering::SeqCst) <= tick;
        }
        // The catalog's tick is read under the lock: the map starts over (and the catalog
        // changes) under it, so no product's change is lost between the two reads.
        let stock = self.stock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.catalog.load(Ordering::SeqCst) <= tick
            && products
                .iter()
                .all(|product| stock.get(product).is_none_or(|changed| *changed <= tick))
    }

    /// Takes in one notice of a commit (this process's or, on PostgreSQL, another's).
    pub fn observe(&self, notice: &Notice) {
        match notice {
            Notice::Event { kind, .. } if changes_the_catalog(kind) => self.catalog_changed(),
            Notice::Catalog | Notice::Gap => self.catalog_changed(),
            Notice::Stock { product_id } => self.stock_changed(product_id),
            _ => {}
        }
    }

    /// [`Self::observe`] of a notice as the database carries it; one that does not parse
    /// may have been anything, so it counts as a change of the whole catalog.
    pub fn observe_payload(&self, payload: &str) {
        match serde_json::from_str::<Notice>(payload) {
            Ok(notice) => self.observe(&notice),
            Err(_) => self.catalog_changed(),
        }
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn catalog_changed(&self) {
        let tick = self.tick();
        self.catalog.fetch_max(tick, Ordering::SeqCst);
    }

    fn stock_changed(&self, product_id: &str) {
        let tick = self.tick();
        let mut stock = self.stock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if stock.len() >= FOLLOWED_PRODUCTS && !stock.contains_key(product_id) {
            stock.clear();
            self.catalog.fetch_max(tick, Ordering::SeqCst);
        }
        stock.insert(product_id.to_owned(), tick);
    }
}

fn changes_the_catalog(kind: &str) -> bool {
    matches!(
        EventKind::parse(kind),
        Some(EventKind::ProductCreated | EventKind::ProductUpdated)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock(product: &str) -> Notice {
        Notice::Stock {
            product_id: product.to_owned(),
        }
    }

    #[test]
    fn an_answer_is_current_until_a_change_it_depends_on() {
        let changes = CatalogChanges::default();
        let read_at = changes.now();
        let products = ["prod_a".to_owned()];
        assert!(changes.unchanged_since(read_at, &products));
        changes.observe(&stock("prod_b"));
        assert!(changes.unchanged_since(read_at, &products), "another product's stock");
        changes.observe(&Notice::Cart {
            cart_id: "cart_1".to_owned(),
        });
        assert!(changes.unchanged_since(read_at, &products), "a cart");
        changes.observe(&stock("prod_a"));
        assert!(!changes.unchanged_since(read_at, &products), "its own stock");
        assert!(changes.unchanged_since(read_at, &[]), "an answer about no product");

        let read_again = changes.now();
        assert!(changes.unchanged_since(read_again, &products));
        changes.observe_payload(r#"{"notice":"event","id":"evt_1","kind":"product.updated","subject_id":"prod_c"}"#);
        assert!(
            !changes.unchanged_since(read_again, &[]),
            "a product's change is the catalog's"
        );
        let after = changes.now();
        changes.observe(&Notice::Gap);
        assert!(
            !changes.unchanged_since(after, &[]),
            "missed notices may have been anything"
        );
        let last = changes.now();
        changes.observe_payload("not a notice");
        assert!(!changes.unchanged_since(last, &[]));
    }

    #[test]
    fn too_many_followed_products_start_over_as_a_catalog_change() {
        let changes = CatalogChanges::default();
        for n in 0..FOLLOWED_PRODUCTS {
            changes.observe(&stock(&format!("prod_{n}")));
        }
        let read_at = changes.now();
        changes.observe(&stock("prod_new"));
        assert!(!changes.unchanged_since(read_at, &[]), "the map started over");
        assert_eq!(changes.stock.lock().expect("lock").len(), 1);
    }
}
