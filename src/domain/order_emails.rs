//! The emails a customer gets about their order, written from its events in the event's
//! transaction (so one is sent exactly when the change committed, and never twice):
//! the confirmation when the order is placed, a note when it ships (with its tracking
//! number), when it is canceled, and when money is refunded.

use super::events::EventKind;
use super::orders::{Order, OrderStatus};
use super::outbox::Email;

/// The email event `kind` about `order` sends, if any.
pub(crate) fn compose(kind: EventKind, order: &Order, shop_name: &str) -> Option<Email> {
    let number = order.number;
    let (subject, opening) = match kind {
        // A payment only authorized places the order; one captured at once pays it. The
        // capture of an authorized payment at fulfilment is `order.paid` too, but the
        // order is fulfilled by then, and the customer hears of the shipment instead.
        EventKind::OrderPlaced => (format!("Your order {number} is confirmed"), confirmed(shop_name)),
        EventKind::OrderPaid if order.status == OrderStatus::Paid => {
            (format!("Your order {number} is confirmed"), confirmed(shop_name))
        }
        EventKind::OrderFulfilled => (
            format!("Your order {number} is on its way"),
            match &order.tracking_number {
                Some(tracking) => format!("Your order has shipped. Its tracking number is {tracking}."),
                None => "Your order has shipped.".to_owned(),
            },
        ),
        EventKind::OrderCanceled => (
            format!("Your order {number} was canceled"),
            "Your order was canceled. Whatever you paid is refunded to your card.".to_owned(),
        ),
        EventKind::OrderRefunded => (
            format!("A refund for your order {number}"),
            format!(
                "{} of your order has been refunded to your card. It may take a few days to show on your statement.",
                order.payment.refunded_amount
            ),
        ),
        _ => return None,
    };
    Some(Email {
        to: order.email.clone(),
        subject: format!("{subject} ({shop_name})"),
        text: format!("{opening}\n\n{}\n\n{shop_name}\n", summary(order)),
    })
}

fn confirmed(shop_name: &str) -> String {
    format!("Thank you for your order at {shop_name}. We have it and will send it soon.")
}

/// The order's lines and totals, as the order page shows them.
fn summary(order: &Order) -> String {
    let mut lines = vec![format!("Order {}", order.number)];
    for line in &order.pricing.lines {
        lines.push(format!("  {} × {}  {}", line.quantity, line.title, line.line_total));
    }
    let totals = &order.pricing.totals;
    lines.push(format!("Subtotal: {}", totals.subtotal));
    if totals.discount_total.amount > 0 {
        lines.push(format!("Discounts: -{}", totals.discount_total));
    }
    lines.push(format!("Shipping: {}", totals.shipping_total));
    if totals.tax_total.amount > 0 {
        let included = if order.pricing.prices_include_tax {
            " (included)"
        } else {
            ""
        };
        lines.push(format!("Tax{included}: {}", totals.tax_total));
    }
    lines.push(format!("Total: {}", totals.total));
    let address = &order.shipping_address;
    lines.push(format!(
        "Ship to: {}, {} {}, {}",
        address.name, address.postal_code, address.city, address.country
    ));
    lines.join("\n")
}
