//! ISO 3166-1 alpha-2 country codes, to refuse a code no country has.
//!
//! The list is short and changes about once a decade; a crate for it would cost more to
//! build than these lines. Source: the ISO 3166 Maintenance Agency's officially assigned
//! codes (249), as of 2024.

const CODES: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ \
EC EE EG EH ER ES ET \
FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU \
ID IE IL IM IN IO IQ IR IS IT \
JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ \
OM \
PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA \
RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
UA UG UM US UY UZ \
VA VC VE VG VI VN VU \
WF WS \
YE YT \
ZA ZM ZW";

/// True for an officially assigned ISO 3166-1 alpha-2 code, in upper case.
/// Every code, for the OpenAPI document's `enum`.
pub fn all() -> impl Iterator<Item = &'static str> {
    CODES.split_whitespace()
}

pub fn is_country(code: &str) -> bool {
    code.len() == 2 && CODES.split(' ').any(|known| known == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_every_assigned_code_and_nothing_else() {
        assert_eq!(CODES.split(' ').count(), 249);
        let mut sorted: Vec<&str> = CODES.split(' ').collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 249, "no code twice");
        assert!(is_country("DE") && is_country("US") && is_country("GB"));
        assert!(!is_country("XX") && !is_country("de") && !is_country("UK") && !is_country("D"));
    }
}
