//! Step 2 of pricing: which discounts apply to a cart, and what each takes off which line
//! (contract: Discounts, and its precisions).

use serde::{Deserialize, Serialize};

use super::{BPS, divide_half_up};
use crate::domain::money::{Money, MoneyError};

/// What a discount does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountEffect {
    /// `bps` of each eligible line, rounded half up per line.
    Percentage { bps: i64 },
    /// `amount` off the eligible lines together, never more than they come to.
    FixedAmount { amount: i64 },
    /// The shipping total becomes 0.
    FreeShipping,
}

impl DiscountEffect {
    /// The order discounts are taken in: percentages, then fixed amounts, then shipping.
    fn rank(self) -> u8 {
        match self {
            DiscountEffect::Percentage { .. } => 0,
            DiscountEffect::FixedAmount { .. } => 1,
            DiscountEffect::FreeShipping => 2,
        }
    }
}

/// A discount offered to a cart: one of its codes, or an automatic discount, already
/// checked to be usable now (active, within its window, in the cart's currency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountToApply {
    pub id: String,
    /// The code the customer applied; `None` for an automatic discount.
    pub code: Option<String>,
    pub description: String,
    pub effect: DiscountEffect,
    /// It applies to lines of these products or of products in these categories; both
    /// empty: to every line.
    pub product_ids: Vec<String>,
    pub category_ids: Vec<String>,
    /// Minor units the subtotal before discounts must reach.
    pub min_subtotal: Option<i64>,
    pub combinable: bool,
}

/// A discount as a cart shows it and an order keeps it. For free shipping, `amount` is the
/// shipping it waived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedDiscount {
    pub discount_id: String,
    pub code: Option<String>,
    pub description: String,
    pub amount: Money,
    /// It made shipping free (rather than taking `amount` off the lines).
    #[serde(default)]
    pub waives_shipping: bool,
}

/// What a line brings to this step.
pub(super) struct LineFacts<'a> {
    pub total: i64,
    pub product_id: &'a str,
    pub category_ids: &'a [String],
}

impl DiscountToApply {
    fn applies_to(&self, line: &LineFacts) -> bool {
        (self.product_ids.is_empty() && self.category_ids.is_empty())
            || self.product_ids.iter().any(|id| id == line.product_id)
            || self.category_ids.iter().any(|id| line.category_ids.contains(id))
    }

    /// The cart meets its conditions: its minimum subtotal (met when equal) and a line it
    /// applies to.
    fn qualifies(&self, lines: &[LineFacts], subtotal: i64) -> bool {
        self.min_subtotal.is_none_or(|min| subtotal >= min) && lines.iter().any(|line| self.applies_to(line))
    }
}

/// The step's outcome: what it took off each line, the discounts that apply (as indexes
/// into the offer, with the amount each took off the lines), and whether shipping is free.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Discounted {
    pub per_line: Vec<i64>,
    pub applied: Vec<(usize, i64)>,
    pub free_shipping: bool,
}

/// Chooses the offered discounts that apply and takes them off the lines.
///
/// The customer's codes that qualify always stand: a cart holds one non-combinable code or
/// any number of combinable ones (checked when a code is applied). Qualifying automatic
/// discounts join codes that are all combinable when they are combinable too; with no code,
/// the cart gets either every combinable automatic discount or the one non-combinable
/// automatic discount that leaves it cheapest, whichever leaves it cheaper. `shipping`
/// prices the shipping for a subtotal less discounts (0 without an option), so that a
/// discount that takes the cart below a free-shipping threshold counts what it costs. An
/// automatic discount that would save nothing is left out: it would only spend a use.
pub(super) fn discount(
    offered: &[DiscountToApply],
    lines: &[LineFacts],
    subtotal: i64,
    shipping: &dyn Fn(i64) -> i64,
) -> Result<Discounted, MoneyError> {
    let qualifying: Vec<usize> = (0..offered.len())
        .filter(|&index| offered[index].qualifies(lines, subtotal))
        .collect();
    let (codes, automatic): (Vec<usize>, Vec<usize>) =
        qualifying.into_iter().partition(|&index| offered[index].code.is_some());
    if let Some(&alone) = codes.iter().find(|&&index| !offered[index].combinable) {
        return take_off(offered, &[alone], lines);
    }
    let (stacking, alone): (Vec<usize>, Vec<usize>) =
        automatic.into_iter().partition(|&index| offered[index].combinable);
    let together: Vec<usize> = codes.iter().chain(&stacking).copied().collect();
    let mut best = take_off(offered, &together, lines)?;
    if codes.is_empty() {
        for index in alone {
            let single = take_off(offered, &[index], lines)?;
            if cost(&single, subtotal, shipping) < cost(&best, subtotal, shipping) {
                best = single;
            }
        }
    }
    Ok(without_idle_automatic(offered, best, subtotal, shipping))
}

/// What the cart costs with `discounted` taken: the lines left, and shipping unless free.
fn cost(discounted: &Discounted, subtotal: i64, shipping: &dyn Fn(i64) -> i64) -> i64 {
    let left = subtotal - discounted.per_line.iter().sum::<i64>();
    left + if discounted.free_shipping { 0 } else { shipping(left) }
}

/// `discounted` without the automatic discounts that took nothing (free shipping of a cart
/// that ships for nothing anyway, a percentage of lines priced 0). A customer's code stays:
/// they asked for it.
fn without_idle_automatic(
    offered: &[DiscountToApply],
    mut discounted: Discounted,
    subtotal: i64,
    shipping: &dyn Fn(i64) -> i64,
) -> Discounted {
    let left = subtotal - discounted.per_line.iter().sum::<i64>();
    let waives_something = shipping(left) > 0;
    discounted.applied.retain(|&(index, taken)| {
        let discount = &offered[index];
        let effective = match discount.effect {
            DiscountEffect::FreeShipping => waives_something,
            _ => taken > 0,
        };
        discount.code.is_some() || effective
    });
    discounted.free_shipping = discounted
        .applied
        .iter()
        .any(|&(index, _)| offered[index].effect == DiscountEffect::FreeShipping);
    discounted
}

/// Takes the discounts `chosen` off the lines: percentages first, then fixed amounts, each
/// on what the ones before left of a line, so that no line goes below 0.
fn take_off(offered: &[DiscountToApply], chosen: &[usize], lines: &[LineFacts]) -> Result<Discounted, MoneyError> {
    let mut ordered = chosen.to_vec();
    ordered.sort_by_key(|&index| offered[index].effect.rank());
    let mut remaining: Vec<i64> = lines.iter().map(|line| line.total).collect();
    let mut outcome = Discounted {
        per_line: vec![0; lines.len()],
        ..Discounted::default()
    };
    for index in ordered {
        let discount = &offered[index];
        let eligible: Vec<usize> = (0..lines.len())
            .filter(|&line| discount.applies_to(&lines[line]))
            .collect();
        let taken: Vec<(usize, i64)> = match discount.effect {
            DiscountEffect::Percentage { bps } => eligible
                .iter()
                .map(|&line| {
                    let share = divide_half_up(i128::from(remaining[line]) * i128::from(bps), i128::from(BPS));
                    i64::try_from(share).map(|share| (line, share))
                })
                .collect::<Result<_, _>>()
                .map_err(|_| MoneyError::Overflow)?,
            DiscountEffect::FixedAmount { amount } => spread(amount, &eligible, &remaining),
            DiscountEffect::FreeShipping => {
                outcome.free_shipping = true;
                Vec::new()
            }
        };
        let mut total = 0i64;
        for (line, share) in taken {
            remaining[line] -= share;
            outcome.per_line[line] += share;
            total += share;
        }
        outcome.applied.push((index, total));
    }
    Ok(outcome)
}

/// `amount` (at most what the `eligible` lines have left) spread over them in proportion
/// to what they have left, rounded down, the minor units left over going one each to the
/// largest lines first (the first of equal lines first).
fn spread(amount: i64, eligible: &[usize], remaining: &[i64]) -> Vec<(usize, i64)> {
    let pool: i64 = eligible.iter().map(|&line| remaining[line]).sum();
    let applied = amount.clamp(0, pool);
    if applied == 0 {
        return eligible.iter().map(|&line| (line, 0)).collect();
    }
    let mut shares: Vec<(usize, i64)> = eligible
        .iter()
        .map(|&line| {
            // At most `remaining[line]`, as `applied <= pool`: the cast cannot truncate.
            let share = i128::from(applied) * i128::from(remaining[line]) / i128::from(pool);
            (line, share as i64)
        })
        .collect();
    let mut left = applied - shares.iter().map(|(_, share)| share).sum::<i64>();
    let mut largest_first: Vec<usize> = (0..shares.len()).collect();
    largest_first.sort_by(|&a, &b| remaining[shares[b].0].cmp(&remaining[shares[a].0]));
    for slot in largest_first {
        if left == 0 {
            break;
        }
        let (line, share) = &mut shares[slot];
        if *share < remaining[*line] {
            *share += 1;
            left -= 1;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, code: Option<&str>, effect: DiscountEffect, combinable: bool) -> DiscountToApply {
        DiscountToApply {
            id: id.to_owned(),
            code: code.map(str::to_owned),
            description: id.to_owned(),
            effect,
            product_ids: Vec::new(),
            category_ids: Vec::new(),
            min_subtotal: None,
            combinable,
        }
    }

    fn lines(totals: &[i64]) -> Vec<LineFacts<'static>> {
        totals
            .iter()
            .map(|&total| LineFacts {
                total,
                product_id: "prod_a",
                category_ids: &[],
            })
            .collect()
    }

    #[test]
    fn a_percentage_is_rounded_half_up_on_each_line() {
        // 12.5 % of 1001 is 125.125 -> 125; of 999 is 124.875 -> 125; of 4 is 0.5 -> 1.
        let ten = offer("pct", Some("SAVE"), DiscountEffect::Percentage { bps: 1250 }, false);
        let outcome = discount(&[ten], &lines(&[1001, 999, 4]), 2004, &|_| 0).expect("priced");
        assert_eq!(outcome.per_line, vec![125, 125, 1]);
        assert_eq!(outcome.applied, vec![(0, 251)]);
    }

    #[test]
    fn a_fixed_amount_is_spread_by_line_totals_with_leftover_cents_to_the_largest_lines() {
        // 1000 over 3000, 2000, 1000: exact thirds would be 500, 333.33, 166.67; rounded
        // down 500, 333, 166 (999), and the one cent left goes to the largest line.
        let fixed = offer("fix", Some("TEN"), DiscountEffect::FixedAmount { amount: 1000 }, false);
        let outcome = discount(&[fixed], &lines(&[3000, 2000, 1000]), 6000, &|_| 0).expect("priced");
        assert_eq!(outcome.per_line, vec![501, 333, 166]);
    }

    #[test]
    fn a_fixed_amount_never_exceeds_what_the_lines_come_to() {
        let fixed = offer(
            "fix",
            Some("BIG"),
            DiscountEffect::FixedAmount { amount: 50_000 },
            false,
        );
        let outcome = discount(&[fixed], &lines(&[300, 200]), 500, &|_| 0).expect("priced");
        assert_eq!(outcome.per_line, vec![300, 200]);
    }

    #[test]
    fn limits_minimums_and_eligible_lines_decide_what_qualifies() {
        let mut shoes = offer("shoes", Some("SHOES"), DiscountEffect::Percentage { bps: 5000 }, true);
        shoes.product_ids = vec!["prod_shoes".to_owned()];
        let mut big = offer("big", None, DiscountEffect::FixedAmount { amount: 100 }, true);
        big.min_subtotal = Some(1000);
        let cats = vec!["cat_sale".to_owned()];
        let cart = vec![
            LineFacts {
                total: 600,
                product_id: "prod_shoes",
                category_ids: &[],
            },
            LineFacts {
                total: 400,
                product_id: "prod_hat",
                category_ids: &cats,
            },
        ];
        let outcome = discount(&[shoes.clone(), big.clone()], &cart, 1000, &|_| 0).expect("priced");
        // Half the shoes (300), then 100 spread over what is left (300 and 400): 42 and
        // 57, and the cent left over to the larger line.
        assert_eq!(outcome.per_line, vec![300 + 42, 58]);
        let outcome = discount(&[shoes, big], &cart, 999, &|_| 0).expect("priced");
        assert_eq!(outcome.per_line, vec![300, 0], "the minimum is not met at 999");
    }

    #[test]
    fn a_non_combinable_code_stands_alone_and_automatic_ones_step_aside() {
        let code = offer("code", Some("SOLO"), DiscountEffect::Percentage { bps: 1000 }, false);
        let auto = offer("auto", None, DiscountEffect::Percentage { bps: 2000 }, true);
        let outcome = discount(&[code, auto], &lines(&[1000]), 1000, &|_| 0).expect("priced");
        assert_eq!(outcome.applied, vec![(0, 100)]);
    }

    #[test]
    fn without_a_code_the_automatic_discounts_saving_most_stand() {
        let stacking_a = offer("a", None, DiscountEffect::Percentage { bps: 1000 }, true);
        let stacking_b = offer("b", None, DiscountEffect::FixedAmount { amount: 50 }, true);
        let alone = offer("c", None, DiscountEffect::FreeShipping, false);
        let offered = [stacking_a, stacking_b, alone];
        // Together a and b save 100 + 50; free shipping saves 120: a and b stand.
        let outcome = discount(&offered, &lines(&[1000]), 1000, &|_| 120).expect("priced");
        assert_eq!(outcome.applied, vec![(0, 100), (1, 50)]);
        // Shipping of 500 makes free shipping the better deal.
        let outcome = discount(&offered, &lines(&[1000]), 1000, &|_| 500).expect("priced");
        assert_eq!(outcome.applied, vec![(2, 0)]);
        assert!(outcome.free_shipping);
    }

    #[test]
    fn a_discount_that_takes_the_cart_below_free_shipping_counts_the_shipping_it_costs() {
        // Free over 5000, else 500: 1 % off a cart of 5000 costs 4950 + 500.
        let shipping = |left: i64| if left >= 5000 { 0 } else { 500 };
        let one_percent = offer("a", None, DiscountEffect::Percentage { bps: 100 }, false);
        let free = offer("b", None, DiscountEffect::FreeShipping, false);
        let outcome = discount(&[one_percent, free], &lines(&[5000]), 5000, &shipping).expect("priced");
        assert_eq!(
            outcome,
            Discounted {
                per_line: vec![0],
                ..Discounted::default()
            },
            "neither helps: none stands"
        );
        let outcome = discount(
            &[offer("b", None, DiscountEffect::FreeShipping, true)],
            &lines(&[4000]),
            4000,
            &shipping,
        )
        .expect("priced");
        assert_eq!(outcome.applied, vec![(0, 0)]);
        assert!(outcome.free_shipping);
    }

    #[test]
    fn stacked_discounts_never_take_a_line_below_zero() {
        let most = offer("a", Some("A"), DiscountEffect::Percentage { bps: 9000 }, true);
        let more = offer("b", Some("B"), DiscountEffect::Percentage { bps: 9000 }, true);
        let rest = offer("c", Some("C"), DiscountEffect::FixedAmount { amount: 1000 }, true);
        let outcome = discount(&[rest, more, most], &lines(&[1000, 1]), 1001, &|_| 0).expect("priced");
        // 90 % of 1000 = 900 then 90 % of 100 = 90, then the fixed amount takes the rest.
        assert_eq!(outcome.per_line, vec![1000, 1]);
    }
}
