//! What staff see at a glance: the day's sales, and customers found by email or name.

use super::accounts::Customer;
use super::money::{Currency, Money};
use super::orders::{self, Order};
use super::time::Timestamp;
use super::{DomainError, DomainResult, Page, PageRequest, Permission, Principal};
use crate::store::{Store, customers as customer_store, reports as store};

const MICROS_PER_DAY: i64 = 86_400_000_000;
const BEST_SELLERS: i64 = 5;
const CUSTOMERS_FOUND: i64 = 25;

/// One UTC day of sales. Orders are those placed and not canceled; revenue is what was
/// captured minus what was refunded since.
#[derive(Debug, Clone)]
pub struct DailySales {
    pub day_start: Timestamp,
    pub orders: i64,
    /// One entry per currency sold in, most orders first.
    pub by_currency: Vec<CurrencySales>,
    /// Orders placed in each hour of the day (UTC), 24 entries.
    pub orders_by_hour: Vec<i64>,
    pub best_sellers: Vec<BestSeller>,
}

#[derive(Debug, Clone)]
pub struct CurrencySales {
    pub orders: i64,
    pub revenue: Money,
}

impl CurrencySales {
    /// Revenue per order, rounded down; `None` without orders.
    pub fn average(&self) -> Option<Money> {
        (self.orders > 0).then(|| Money::new(self.revenue.amount / self.orders, self.revenue.currency))
    }
}

#[derive(Debug, Clone)]
pub struct BestSeller {
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub revenue: Money,
}

/// Sales of the UTC day that holds `moment`.
pub async fn daily_sales(db: &Store, caller: &Principal, moment: Timestamp) -> DomainResult<DailySales> {
    caller.require(Permission::Orders)?;
    let day_start = moment.0 - moment.0.rem_euclid(MICROS_PER_DAY);
    let day_end = day_start + MICROS_PER_DAY;
    let mut conn = db.read().await?;
    let hours = store::hourly_sales(&mut conn, day_start, day_end).await?;
    let sellers = store::best_sellers(&mut conn, day_start, day_end, BEST_SELLERS).await?;

    let mut orders_by_hour = vec![0; 24];
    let mut by_currency: Vec<CurrencySales> = Vec::new();
    for row in hours {
        if let Some(slot) = usize::try_from(row.hour)
            .ok()
            .and_then(|hour| orders_by_hour.get_mut(hour))
        {
            *slot += row.orders;
        }
        let currency = stored_currency(&row.currency)?;
        match by_currency.iter_mut().find(|sales| sales.revenue.currency == currency) {
            Some(sales) => {
                sales.orders += row.orders;
                sales.revenue.amount += row.revenue;
            }
            None => by_currency.push(CurrencySales {
                orders: row.orders,
                revenue: Money::new(row.revenue, currency),
            }),
        }
    }
    by_currency.sort_by_key(|sales| std::cmp::Reverse(sales.orders));
    let best_sellers = sellers
        .into_iter()
        .map(|row| {
            Ok(BestSeller {
                revenue: Money::new(row.revenue, stored_currency(&row.currency)?),
                sku: row.sku,
                title: row.title,
                quantity: row.quantity,
            })
        })
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(DailySales {
        day_start: Timestamp(day_start),
        orders: orders_by_hour.iter().sum(),
        by_currency,
        orders_by_hour,
        best_sellers,
    })
}

fn stored_currency(code: &str) -> DomainResult<Currency> {
    Currency::parse(code).ok_or_else(|| DomainError::Internal(format!("stored currency {code:?} is not ISO 4217")))
}

/// Customers whose email or name contains `search` (case-insensitive), newest first.
pub async fn find_customers(db: &Store, caller: &Principal, search: &str) -> DomainResult<Vec<Customer>> {
    caller.require(Permission::Orders)?;
    let search = search.trim();
    if search.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = db.read().await?;
    let rows = customer_store::search_customers(&mut conn, &like_pattern(search), CUSTOMERS_FOUND).await?;
    Ok(rows.into_iter().map(Customer::from).collect())
}

/// One customer and their orders, newest first (staff).
pub async fn customer_with_orders(
    db: &Store,
    caller: &Principal,
    customer_id: &str,
    page: &PageRequest,
) -> DomainResult<(Customer, Page<Order>)> {
    caller.require(Permission::Orders)?;
    let mut conn = db.read().await?;
    let customer = customer_store::find_customer(&mut conn, customer_id)
        .await?
        .ok_or(DomainError::NotFound("customer"))?;
    drop(conn);
    let orders = orders::list_customer_orders(db, customer_id, page).await?;
    Ok((customer.into(), orders))
}

/// A LIKE pattern matching `search` anywhere in a lower-cased text.
fn like_pattern(search: &str) -> String {
    let mut pattern = String::from("%");
    for c in search.to_lowercase().chars().take(100) {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("Mug"), "%mug%");
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
    }
}
