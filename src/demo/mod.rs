//! The demo shop of `backroom serve --demo`: about 30 products of an outdoor-and-home shop
//! priced in euros and dollars, with shipping to the EU and the US and their taxes, loaded
//! into an empty database through the same operations staff use.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::domain::accounts::Role;
use crate::domain::catalog::{self, NewProduct, NewVariant, PriceInput, ProductQuery};
use crate::domain::content::{self, ContentKind, EntryInput, MenuItem};
use crate::domain::discounts::{self, DiscountInput};
use crate::domain::images::{self, NewImage};
use crate::domain::pricing::ShippingRate;
use crate::domain::shipping::{self, ShippingOptionInput, TaxRateInput};
use crate::domain::shop::{self, ShopPatch};
use crate::domain::{DomainError, DomainResult, PageRequest, Principal};
use crate::media::MediaStore;
use crate::store::Store;

const CATALOG: &str = include_str!("catalog.json");

/// A picture of each demo product, `{slug}.jpg` (drawn by `cargo run --example
/// demo_images`), inside the binary.
#[derive(rust_embed::Embed)]
#[folder = "src/demo/images"]
struct Pictures;

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

/// The loader acts as an admin that exists only for its calls.
fn loader() -> Principal {
    Principal::Staff {
        id: "stf_demo_loader".to_owned(),
        role: Role::Admin,
    }
}

/// The demo prices its products in dollars too: the euro price at 1.10, rounded up to whole
/// dollars, as a shop would set them.
fn usd_price(eur_cents: i64) -> i64 {
    (eur_cents * 11 / 10 + 99) / 100 * 100
}

/// Loads the demo catalog unless the database already has products, selling in dollars too,
/// each product with its picture (uploaded to `media` as staff upload theirs); returns how
/// many products were loaded.
pub async fn load_if_empty(db: &Store, media: &MediaStore) -> DomainResult<usize> {
    let loader = loader();
    // Loaded only into a shop with neither products nor categories.
    let probe = PageRequest {
        limit: 1,
        after_id: None,
    };
    let has_products = !catalog::list_products_as_staff(db, &loader, &ProductQuery::default(), &probe)
        .await?
        .page
        .data
        .is_empty();
    let has_categories = !catalog::list_categories(db, &probe).await?.data.is_empty();
    if has_products || has_categories {
        return Ok(0);
    }
    let demo: DemoCatalog =
        serde_json::from_str(CATALOG).map_err(|error| DomainError::Internal(format!("demo catalog: {error}")))?;
    let mut currencies: Vec<String> = shop::get_shop(db)
        .await?
        .currencies
        .iter()
        .map(ToString::to_string)
        .collect();
    for code in ["EUR", "USD"] {
        if !currencies.iter().any(|c| c == code) {
            currencies.push(code.to_owned());
        }
    }
    let selling = ShopPatch {
        currencies: Some(currencies),
        ..ShopPatch::default()
    };
    shop::update_shop(db, &loader, selling).await?;
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
            tax_class: None,
            seo_title: None,
            seo_description: None,
            variants: product
                .variants
                .iter()
                .map(|variant| NewVariant {
                    sku: variant.sku.clone(),
                    title: Some(variant.title.clone()),
                    price: PriceInput {
                        amount: variant.price,
                        currency: "EUR".to_owned(),
                    },
                    prices: vec![PriceInput {
                        amount: usd_price(variant.price),
                        currency: "USD".to_owned(),
                    }],
                    inventory: Some(variant.inventory),
                    options: variant.options.clone(),
                    weight_grams: None,
                })
                .collect(),
        };
        let created = catalog::create_product(db, &loader, input).await?;
        if let Some(picture) = Pictures::get(&format!("{}.jpg", product.slug)) {
            let upload = NewImage {
                bytes: picture.data.into_owned().into(),
                alt: Some(product.title.clone()),
                imported_from: None,
            };
            images::add_image(db, media, &loader, &created.id, upload).await?;
        }
    }
    Ok(demo.products.len())
}

/// The demo's EU countries: where its euro options ship.
const EU: [&str; 12] = ["AT", "BE", "DE", "DK", "ES", "FI", "FR", "IE", "IT", "NL", "PT", "SE"];

/// Sets up the demo's shipping (standard and express, to the EU in euros and to the US in
/// dollars), taxes (EU VAT, some US states' sales tax) and a welcome code (WELCOME10)
/// unless the shop has shipping options already. Kept apart from the catalog so that tests
/// can load products into a shop that does not ship.
pub async fn load_shipping_if_none(db: &Store) -> DomainResult<bool> {
    if shipping::shop_ships(db).await? {
        return Ok(false);
    }
    let loader = loader();
    // A welcome code, once per customer, as shops offer to first-time buyers.
    let welcome = DiscountInput {
        code: Some(Some("WELCOME10".to_owned())),
        description: Some("10 % off your first order".to_owned()),
        kind: Some("percentage".to_owned()),
        percentage_bps: Some(Some(1000)),
        usage_limit_per_customer: Some(Some(1)),
        ..DiscountInput::default()
    };
    discounts::create_discount(db, &loader, welcome).await?;
    let eu: Vec<String> = EU.iter().map(|code| (*code).to_owned()).collect();
    let us = vec!["US".to_owned()];
    for (name, currency, countries, amount, free_over) in [
        ("Standard (3-5 days)", "EUR", &eu, 490, Some(6000)),
        ("Express (1-2 days)", "EUR", &eu, 1490, None),
        ("Standard (4-7 days)", "USD", &us, 695, Some(7500)),
        ("Express (2 days)", "USD", &us, 1995, None),
    ] {
        let option = ShippingOptionInput {
            name: Some(name.to_owned()),
            currency: Some(currency.to_owned()),
            countries: Some(countries.clone()),
            rate: Some(ShippingRate::Flat { amount }),
            free_over: Some(free_over),
        };
        shipping::create_shipping_option(db, &loader, option).await?;
    }
    for (name, country, region, rate_bps) in [
        ("MwSt 19 %", "DE", None, 1900),
        ("USt 20 %", "AT", None, 2000),
        ("TVA 20 %", "FR", None, 2000),
        ("BTW 21 %", "NL", None, 2100),
        ("BTW 21 %", "BE", None, 2100),
        ("IVA 22 %", "IT", None, 2200),
        ("IVA 21 %", "ES", None, 2100),
        ("VAT 23 %", "IE", None, 2300),
        ("California sales tax 7.25 %", "US", Some("US-CA"), 725),
        ("New York sales tax 4 %", "US", Some("US-NY"), 400),
        ("Texas sales tax 6.25 %", "US", Some("US-TX"), 625),
    ] {
        let rate = TaxRateInput {
            name: Some(name.to_owned()),
            country: Some(country.to_owned()),
            region: Some(region.map(str::to_owned)),
            tax_class: None,
            rate_bps: Some(rate_bps),
        };
        shipping::create_tax_rate(db, &loader, rate).await?;
    }
    Ok(true)
}

/// The demo's pages (about, shipping policy), two blog posts and the footer menu, unless the
/// shop has pages already.
pub async fn load_content_if_none(db: &Store) -> DomainResult<bool> {
    let loader = loader();
    let probe = PageRequest {
        limit: 1,
        after_id: None,
    };
    if !content::list_entries(db, &loader, ContentKind::Page, &probe)
        .await?
        .data
        .is_empty()
    {
        return Ok(false);
    }
    let entries = [
        (ContentKind::Page, "About us", ABOUT, Vec::new()),
        (ContentKind::Page, "Shipping policy", SHIPPING_POLICY, Vec::new()),
        (
            ContentKind::Post,
            "Caring for cast iron",
            CAST_IRON,
            vec!["kitchen", "guides"],
        ),
        (
            ContentKind::Post,
            "Five things for your first night outdoors",
            FIRST_NIGHT,
            vec!["camp-trail", "guides"],
        ),
    ];
    for (kind, title, body, tags) in entries {
        let input = EntryInput {
            title: Some(title.to_owned()),
            body_markdown: Some(body.to_owned()),
            status: Some("published".to_owned()),
            excerpt: body.lines().find(|line| !line.trim().is_empty()).map(str::to_owned),
            tags: Some(tags.into_iter().map(str::to_owned).collect()),
            ..EntryInput::default()
        };
        content::create_entry(db, &loader, kind, input).await?;
    }
    let footer = [
        ("About us", "/pages/about-us"),
        ("Shipping policy", "/pages/shipping-policy"),
        ("Blog", "/blog"),
    ]
    .map(|(label, url)| MenuItem {
        label: label.to_owned(),
        url: url.to_owned(),
    });
    content::put_menu(db, &loader, "footer", footer.to_vec()).await?;
    Ok(true)
}

const ABOUT: &str = "We are a small shop for things that last: enamel mugs, cast iron, \
wool blankets and tools you hand down.\n\nEverything here is something we use ourselves. \
Questions? Write to us; a person answers.";

const SHIPPING_POLICY: &str = "We ship within the EU and to the United States.\n\n\
| Where | Standard | Express |\n|---|---|---|\n| EU | 3-5 days, 4.90 EUR (free over 60 EUR) | 1-2 days, 14.90 EUR |\n\
| United States | 4-7 days, 6.95 USD (free over 75 USD) | 2 days, 19.95 USD |\n\n\
Returns are free within 30 days.";

const CAST_IRON: &str = "Cast iron lasts generations if you keep it dry and oiled.\n\n\
1. Wash with hot water and a brush; soap now and then is fine.\n\
2. Dry it on the stove for a minute.\n\
3. Wipe a thin film of oil on while it is warm.\n\n\
See our [skillets](/categories/kitchen).";

const FIRST_NIGHT: &str = "Your first night under the sky is easier with a few things at hand.\n\n\
- A warm layer, even in summer\n- A lamp with spare batteries\n- An enamel mug for the morning\n\
- Matches in a dry pocket\n- A friend\n\nEverything else you can learn on the way.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_prices_are_whole_dollars_at_about_1_10() {
        assert_eq!(usd_price(1800), 2000);
        assert_eq!(usd_price(4990), 5500);
        assert_eq!(usd_price(1000), 1100);
        assert_eq!(usd_price(0), 0);
    }

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
