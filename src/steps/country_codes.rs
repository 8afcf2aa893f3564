//! The officially assigned ISO 3166-1 alpha-2 country codes (249, as published by the ISO
//! 3166 Maintenance Agency), which Entra accepts as a user's `usageLocation` (R12). A static
//! table: no I/O, no tenant.

/// Officially assigned codes, sorted (binary search).
const ASSIGNED: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Codes people use that are not assigned, with the assigned one they mean.
const MIX_UPS: &[(&str, &str)] = &[
    (
        "UK",
        "GB (United Kingdom; UK is only exceptionally reserved)",
    ),
    ("EL", "GR (Greece; EL is only exceptionally reserved)"),
    ("EU", "the code of a member state (EU is not a country)"),
];

/// The code in upper case when it is officially assigned (input is case-insensitive and
/// trimmed), else `None`.
pub fn assigned(code: &str) -> Option<&'static str> {
    let upper = code.trim().to_ascii_uppercase();
    ASSIGNED
        .binary_search(&upper.as_str())
        .ok()
        .map(|i| ASSIGNED[i])
}

/// A hint for a well-known mix-up (`UK` → `GB`), if any.
pub fn hint(code: &str) -> Option<&'static str> {
    let upper = code.trim().to_ascii_uppercase();
    MIX_UPS
        .iter()
        .find(|(bad, _)| *bad == upper)
        .map(|(_, good)| *good)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_the_249_assigned_codes_sorted_and_unique() {
        assert_eq!(ASSIGNED.len(), 249);
        assert!(ASSIGNED.windows(2).all(|w| w[0] < w[1]));
        assert!(
            ASSIGNED
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn input_is_case_insensitive_and_comes_out_upper_case() {
        assert_eq!(assigned("gb"), Some("GB"));
        assert_eq!(assigned(" De "), Some("DE"));
        assert_eq!(assigned("US"), Some("US"));
    }

    #[test]
    fn unassigned_and_malformed_codes_are_refused() {
        for bad in ["UK", "EL", "EU", "XX", "ZZ", "", "G", "GBR", "1A", "ÄB"] {
            assert_eq!(assigned(bad), None, "{bad}");
        }
        assert!(hint("uk").is_some_and(|h| h.starts_with("GB")));
        assert_eq!(hint("XX"), None);
    }
}
