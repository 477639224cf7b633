//! Money: integer minor units with an ISO 4217 currency. No floating point anywhere, and
//! only checked arithmetic (design.md, invariant 3). Totals are computed in one place,
//! `domain::pricing`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An ISO 4217 code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl TryFrom<String> for Currency {
    type Error = String;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Currency::parse(&code).ok_or_else(|| format!("{code:?} is not an ISO 4217 code in upper case"))
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.as_str().to_owned()
    }
}

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");

    /// Parses a code such as `EUR`; lower case is refused so that stored codes stay canonical.
    pub fn parse(code: &str) -> Option<Currency> {
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_uppercase).then_some(Currency(bytes))
    }

    /// Digits after the decimal point in its amounts (ISO 4217 minor units).
    pub fn decimals(self) -> u32 {
        match self.as_str() {
            "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "UGX" | "XAF" | "XOF" => 0,
            _ => 2,
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents for EUR).
    pub amount: i64,
    pub currency: Currency,
}

/// "96.50 EUR": the amount in the currency's units, as people write it (messages use it,
/// so that no one reads 9650 as euros).
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decimals = self.currency.decimals();
        let divisor = 10u64.pow(decimals);
        let sign = if self.amount < 0 { "-" } else { "" };
        let magnitude = self.amount.unsigned_abs();
        if decimals == 0 {
            write!(f, "{sign}{magnitude} {}", self.currency)
        } else {
            let (units, cents) = (magnitude / divisor, magnitude % divisor);
            write!(
                f,
                "{sign}{units}.{cents:0width$} {}",
                self.currency,
                width = decimals as usize
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amounts in {0} and {1} cannot be combined")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Money {
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money { amount: 0, currency }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let amount = self.amount.checked_sub(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn times(self, quantity: i64) -> Result<Money, MoneyError> {
        let amount = self.amount.checked_mul(quantity).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_upper_case_iso_codes() {
        assert_eq!(Currency::parse("EUR"), Some(Currency::EUR));
        assert_eq!(Currency::parse("eur"), None);
        assert_eq!(Currency::parse("EURO"), None);
        assert_eq!(Currency::parse("E1R"), None);
        assert_eq!(Currency::EUR.to_string(), "EUR");
    }

    #[test]
    fn shows_amounts_in_the_currencys_units() {
        assert_eq!(Money::new(9650, Currency::EUR).to_string(), "96.50 EUR");
        assert_eq!(Money::new(-5, Currency::EUR).to_string(), "-0.05 EUR");
        let yen = Currency::parse("JPY").expect("JPY");
        assert_eq!(Money::new(1200, yen).to_string(), "1200 JPY");
    }

    #[test]
    fn adds_and_multiplies_exactly() {
        let price = Money::new(1999, Currency::EUR);
        assert_eq!(price.times(3), Ok(Money::new(5997, Currency::EUR)));
        assert_eq!(price.checked_add(price), Ok(Money::new(3998, Currency::EUR)));
        assert_eq!(
            price.checked_sub(Money::new(1000, Currency::EUR)),
            Ok(Money::new(999, Currency::EUR))
        );
    }

    #[test]
    fn refuses_mixed_currencies_and_overflow() {
        let usd = Currency::parse("USD").expect("usd");
        let eur = Money::new(1, Currency::EUR);
        assert_eq!(
            eur.checked_add(Money::new(1, usd)),
            Err(MoneyError::CurrencyMismatch(Currency::EUR, usd))
        );
        assert_eq!(Money::new(i64::MAX, Currency::EUR).times(2), Err(MoneyError::Overflow));
        assert_eq!(
            Money::new(i64::MAX, Currency::EUR).checked_add(eur),
            Err(MoneyError::Overflow)
        );
    }
}
