//! Stock: what is on the shelf, what checkouts hold, and what can be bought.
//!
//! Invariant 1 (design.md), for every variant at every moment:
//! `0 <= reserved <= on_hand`, and `available = on_hand - reserved`.
//!
//! Every change is a [`StockMove`] applied by one conditional write
//! (`store::inventory::move_stock`) whose affected-row count decides: never a read and
//! then a write, so no concurrent checkout can slip in between. A checkout reserves its
//! lines; the reservation becomes a sale when paid, or is released when the payment fails
//! or is abandoned; a canceled order's units are restocked; staff adjust what is on hand,
//! with a reason. Rows are always taken in variant-id order ([`in_lock_order`]), so two
//! transactions over the same variants cannot deadlock on PostgreSQL.

use super::events::{self, EventKind, Notice, StockSnapshot, Subject};
use super::time::Timestamp;
use super::validate::Checks;
use super::{DomainError, DomainResult, Permission, Principal, Shortage, ids};
use crate::store::inventory::{self as store, MovedStock};
use crate::store::{Conn, Store};

/// The most units of one variant a shop may hold.
pub const MAX_STOCK: i64 = 1_000_000_000;

/// Stock of one variant (contract: inventory adjust).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockLevel {
    pub on_hand: i64,
    pub reserved: i64,
}

impl StockLevel {
    /// What can be bought now: on hand minus reserved, never below 0.
    pub fn available(self) -> i64 {
        (self.on_hand - self.reserved).max(0)
    }
}

/// One change of a variant's stock, in units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockMove {
    /// A checkout holds units: refused unless that many are available.
    Reserve(i64),
    /// A reservation that will not become a sale.
    Release(i64),
    /// A reservation becomes a sale: the units leave the shelf.
    Sell(i64),
    /// Sold units come back on the shelf (a canceled order).
    Restock(i64),
    /// Staff add (or remove) units on hand: never below what is reserved, nor 0.
    Adjust(i64),
}

impl StockMove {
    /// The change to `(on_hand, reserved)`.
    fn deltas(self) -> (i64, i64) {
        match self {
            StockMove::Reserve(units) => (0, units),
            StockMove::Release(units) => (0, -units),
            StockMove::Sell(units) => (-units, -units),
            StockMove::Restock(units) => (units, 0),
            StockMove::Adjust(units) => (units, 0),
        }
    }
}

/// Applies `movement` to a variant; `None` when it would break invariant 1 (or the
/// variant is missing).
pub(crate) async fn move_stock(
    tx: &mut Conn,
    variant_id: &str,
    movement: StockMove,
) -> DomainResult<Option<StockLevel>> {
    let (on_hand, reserved) = movement.deltas();
    // Only staff adjustments are held to the shop's maximum: a cancel must always be able
    // to put its units back.
    let max_on_hand = if matches!(movement, StockMove::Adjust(_)) {
        MAX_STOCK
    } else {
        i64::MAX
    };
    let Some(moved) = store::move_stock(tx, variant_id, on_hand, reserved, max_on_hand, Timestamp::now().0).await?
    else {
        return Ok(None);
    };
    let after = StockLevel {
        on_hand: moved.on_hand,
        reserved: moved.reserved,
    };
    let before = StockLevel {
        on_hand: moved.on_hand - on_hand,
        reserved: moved.reserved - reserved,
    };
    if after.available() != before.available() {
        announce_stock(tx, variant_id, &moved, before, after).await?;
    }
    Ok(Some(after))
}

/// Wakes the product's stock streams, and writes `inventory.low` when what can be bought
/// fell to the shop's threshold, `inventory.out_of_stock` when it fell to none.
async fn announce_stock(
    tx: &mut Conn,
    variant_id: &str,
    moved: &MovedStock,
    before: StockLevel,
    after: StockLevel,
) -> DomainResult<()> {
    let notice = Notice::Stock {
        product_id: moved.product_id.clone(),
    };
    events::announce(tx, &notice).await?;
    if after.available() >= before.available() {
        return Ok(());
    }
    let threshold = moved.low_stock_threshold;
    let snapshot = StockSnapshot {
        variant_id: variant_id.to_owned(),
        product_id: moved.product_id.clone(),
        sku: moved.sku.clone(),
        on_hand: after.on_hand,
        reserved: after.reserved,
        available: after.available(),
        low_stock_threshold: threshold,
    };
    if before.available() > threshold && after.available() <= threshold {
        events::record(tx, EventKind::InventoryLow, Subject::Stock(&snapshot)).await?;
    }
    if before.available() > 0 && after.available() == 0 {
        events::record(tx, EventKind::InventoryOutOfStock, Subject::Stock(&snapshot)).await?;
    }
    Ok(())
}

/// Reserves every line's units, in lock order. On a shortage it lists every short line
/// (untitled: the caller knows the lines' titles); the caller's transaction must then be
/// dropped, which rolls back the reservations that did succeed.
pub(crate) async fn reserve_lines(tx: &mut Conn, lines: &[(String, i64)]) -> DomainResult<Result<(), Vec<Shortage>>> {
    let mut shortages = Vec::new();
    for (variant_id, quantity) in in_lock_order(lines) {
        if move_stock(tx, variant_id, StockMove::Reserve(*quantity))
            .await?
            .is_none()
        {
            let available = store::find_stock(tx, variant_id)
                .await?
                .map_or(0, |(on_hand, reserved)| StockLevel { on_hand, reserved }.available());
            shortages.push(Shortage {
                variant_id: variant_id.clone(),
                title: String::new(),
                requested: *quantity,
                available,
            });
        }
    }
    Ok(if shortages.is_empty() { Ok(()) } else { Err(shortages) })
}

/// Applies `movement(quantity)` to every line, in lock order. These moves take back what
/// an earlier move gave, so a refusal means the stock was corrupted.
pub(crate) async fn move_lines(
    tx: &mut Conn,
    lines: &[(String, i64)],
    movement: fn(i64) -> StockMove,
) -> DomainResult<()> {
    for (variant_id, quantity) in in_lock_order(lines) {
        if move_stock(tx, variant_id, movement(*quantity)).await?.is_none() {
            return Err(DomainError::Internal(format!(
                "{:?} of {quantity} refused for variant {variant_id}: its stock breaks invariant 1",
                movement(*quantity)
            )));
        }
    }
    Ok(())
}

/// Lines in the one order in which variant rows are locked (by variant id).
fn in_lock_order(lines: &[(String, i64)]) -> Vec<&(String, i64)> {
    let mut sorted: Vec<_> = lines.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
}

/// Adds `delta` (negative to remove) to a variant's stock on hand, with a reason for the
/// ledger.
///
/// # Errors
/// `Conflict` when on hand would fall below zero or below what is reserved.
#[tracing::instrument(skip(db, caller))]
pub async fn adjust_stock(
    db: &Store,
    caller: &Principal,
    variant_id: &str,
    delta: i64,
    reason: &str,
) -> DomainResult<StockLevel> {
    caller.require(Permission::Inventory)?;
    let mut checks = Checks::default();
    let reason = checks.text("reason", reason, 500);
    if !(-MAX_STOCK..=MAX_STOCK).contains(&delta) {
        checks.fail("delta", format!("must be between -{MAX_STOCK} and {MAX_STOCK}"));
    }
    checks.finish()?;
    let mut tx = db.write().await?;
    let Some(level) = move_stock(&mut tx, variant_id, StockMove::Adjust(delta)).await? else {
        return Err(match store::find_stock(&mut tx, variant_id).await? {
            None => DomainError::NotFound("variant"),
            Some((on_hand, reserved)) => DomainError::conflict(refused_adjustment(on_hand, reserved, delta)),
        });
    };
    if delta != 0 {
        store::insert_adjustment(
            &mut tx,
            &ids::new_id("adj"),
            variant_id,
            delta,
            &reason,
            caller.staff_id(),
            Timestamp::now().0,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(level)
}

/// Why staff cannot change the stock by `delta`, in the words of the shop floor.
fn refused_adjustment(on_hand: i64, reserved: i64, delta: i64) -> String {
    if delta > 0 {
        return format!(
            "a variant holds at most {MAX_STOCK} units: you can add up to {}",
            MAX_STOCK - on_hand
        );
    }
    let held = match reserved {
        0 => String::new(),
        1 => " (1 is held by a checkout in progress)".to_owned(),
        n => format!(" ({n} are held by checkouts in progress)"),
    };
    format!(
        "only {on_hand} on hand{held}: you can remove up to {}",
        on_hand - reserved
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_adjustment_says_how_far_it_can_go() {
        assert_eq!(refused_adjustment(3, 0, -5), "only 3 on hand: you can remove up to 3");
        assert_eq!(
            refused_adjustment(3, 1, -5),
            "only 3 on hand (1 is held by a checkout in progress): you can remove up to 2"
        );
        assert_eq!(
            refused_adjustment(MAX_STOCK - 2, 0, 5),
            format!("a variant holds at most {MAX_STOCK} units: you can add up to 2")
        );
    }

    #[test]
    fn every_move_keeps_its_meaning() {
        assert_eq!(StockMove::Reserve(3).deltas(), (0, 3));
        assert_eq!(StockMove::Release(3).deltas(), (0, -3));
        assert_eq!(StockMove::Sell(3).deltas(), (-3, -3));
        assert_eq!(StockMove::Restock(3).deltas(), (3, 0));
        assert_eq!(StockMove::Adjust(-2).deltas(), (-2, 0));
    }

    #[test]
    fn available_is_never_negative() {
        assert_eq!(
            StockLevel {
                on_hand: 5,
                reserved: 2
            }
            .available(),
            3
        );
        assert_eq!(
            StockLevel {
                on_hand: 0,
                reserved: 0
            }
            .available(),
            0
        );
    }
}
