//! The demo catalog of `backroom serve --demo`: about 30 products of an outdoor-and-home
//! shop, loaded into an empty database through the same operations staff use.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::domain::accounts::Role;
use crate::domain::catalog::{self, NewProduct, NewVariant, ProductQuery};
use crate::domain::{DomainError, DomainResult, PageRequest, Principal};
use crate::store::Store;

const CATALOG: &str = include_str!("catalog.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCatalog {
    categories: Vec<DemoCategory>,
    products: Vec<DemoProduct>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCategory {
    name: String,
    slug: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoProduct {
    title: String,
    slug: String,
    description: String,
    category_slugs: Vec<String>,
    variants: Vec<DemoVariant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoVariant {
    sku: String,
    title: String,
    price: i64,
    inventory: i64,
    options: BTreeMap<String, String>,
}

/// Loads the demo catalog unless the database already has products; returns how many
/// products were loaded.
pub async fn load_if_empty(db: &Store) -> DomainResult<usize> {
    // The loader acts as an admin that exists only for this call.
    let loader = Principal::Staff {
        id: "stf_demo_loader".to_owned(),
        role: Role::Admin,
    };
    // Loaded only into a shop with neither products nor categories.
    let probe = PageRequest {
        limit: 1,
        after_id: None,
    };
    let has_products = !catalog::list_products_as_staff(db, &loader, &ProductQuery::default(), &probe)
        .await?
        .data
        .is_empty();
    let has_categories = !catalog::list_categories(db, &probe).await?.data.is_empty();
    if has_products || has_categories {
        return Ok(0);
    }
    let demo: DemoCatalog =
        serde_json::from_str(CATALOG).map_err(|error| DomainError::Internal(format!("demo catalog: {error}")))?;
    let mut category_ids = HashMap::new();
    for category in &demo.categories {
        let created = catalog::create_category(db, &loader, &category.name, Some(&category.slug), None).await?;
        category_ids.insert(category.slug.clone(), created.id);
    }
    // Oldest first, so that the first product of the file is the newest in lists.
    for product in demo.products.iter().rev() {
        let input = NewProduct {
            title: product.title.clone(),
            slug: Some(product.slug.clone()),
            description: Some(product.description.clone()),
            status: Some("published".to_owned()),
            category_ids: product
                .category_slugs
                .iter()
                .filter_map(|slug| category_ids.get(slug).cloned())
                .collect(),
            images: Vec::new(),
            tax_class: None,
            variants: product
                .variants
                .iter()
                .map(|variant| NewVariant {
                    sku: variant.sku.clone(),
                    title: Some(variant.title.clone()),
                    price_amount: variant.price,
                    price_currency: "EUR".to_owned(),
                    inventory: Some(variant.inventory),
                    options: variant.options.clone(),
                    weight_grams: None,
                })
                .collect(),
        };
        catalog::create_product(db, &loader, input).await?;
    }
    Ok(demo.products.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalog_is_well_formed() {
        let demo: DemoCatalog = serde_json::from_str(CATALOG).expect("demo catalog parses");
        assert!(demo.products.len() >= 30);
        let slugs: std::collections::HashSet<_> = demo.categories.iter().map(|c| c.slug.as_str()).collect();
        for product in &demo.products {
            assert!(crate::domain::validate::is_slug(&product.slug), "{}", product.slug);
            assert!(!product.variants.is_empty());
            assert!(product.category_slugs.iter().all(|slug| slugs.contains(slug.as_str())));
        }
    }
}
