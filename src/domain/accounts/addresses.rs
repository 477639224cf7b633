//! A customer's saved addresses, offered at checkout.

use crate::domain::time::Timestamp;
use crate::domain::validate::{Address, Checks};
use crate::domain::{DomainError, DomainResult, Principal, ids};
use crate::store::Store;
use crate::store::customers::{self as store, AddressRow};

/// How many addresses a customer may keep.
pub const MAX_SAVED_ADDRESSES: usize = 20;

#[derive(Debug, Clone)]
pub struct SavedAddress {
    pub id: String,
    pub address: Address,
    pub created_at: Timestamp,
}

impl TryFrom<AddressRow> for SavedAddress {
    type Error = DomainError;

    fn try_from(row: AddressRow) -> DomainResult<Self> {
        let address = serde_json::from_str(&row.address)
            .map_err(|_| crate::domain::catalog::corrupt("saved address", &row.id))?;
        Ok(SavedAddress {
            id: row.id,
            address,
            created_at: Timestamp(row.created_at),
        })
    }
}

/// The signed-in customer's addresses, oldest first.
pub async fn list_addresses(db: &Store, caller: &Principal) -> DomainResult<Vec<SavedAddress>> {
    let (customer_id, _) = caller.require_customer()?;
    let mut conn = db.read().await?;
    store::list_addresses(&mut conn, customer_id)
        .await?
        .into_iter()
        .map(SavedAddress::try_from)
        .collect()
}

/// Saves an address for the signed-in customer.
pub async fn save_address(db: &Store, caller: &Principal, raw: &Address) -> DomainResult<SavedAddress> {
    let (customer_id, _) = caller.require_customer()?;
    let mut checks = Checks::default();
    let address = Address::parse(&mut checks, "", raw);
    checks.finish()?;
    let saved = SavedAddress {
        id: ids::new_id("adr"),
        address,
        created_at: Timestamp::now(),
    };
    let row = AddressRow {
        id: saved.id.clone(),
        address: serde_json::to_string(&saved.address).map_err(|error| DomainError::Internal(error.to_string()))?,
        created_at: saved.created_at.0,
    };
    let mut tx = db.write().await?;
    // Counted under the customer's lock: two saves at once cannot both take the last place.
    if !store::lock_customer(&mut tx, customer_id).await? {
        return Err(DomainError::Unauthorized);
    }
    if store::list_addresses(&mut tx, customer_id).await?.len() >= MAX_SAVED_ADDRESSES {
        return Err(DomainError::invalid(
            "address",
            format!("a customer keeps at most {MAX_SAVED_ADDRESSES} addresses: delete one first"),
        ));
    }
    store::insert_address(&mut tx, customer_id, &row).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Deletes one of the signed-in customer's addresses (`NotFound` for anyone else's).
pub async fn delete_address(db: &Store, caller: &Principal, id: &str) -> DomainResult<()> {
    let (customer_id, _) = caller.require_customer()?;
    let mut tx = db.write().await?;
    if !store::delete_address(&mut tx, customer_id, id).await? {
        return Err(DomainError::NotFound("address"));
    }
    tx.commit().await?;
    Ok(())
}
