//! Building request paths: ids and UPNs as path segments (docs/microsoft-365-api.md §2.1: `#` is
//! `%23`, a UPN starting with `$` goes in the `/users('...')` form).

/// Percent-encodes everything but RFC 3986 unreserved characters and the path-safe
/// sub-delimiters `! $ ' ( ) * , ; @` (drive ids look like `b!t18F8y...`).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b','
                    | b';'
            )
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/users/{id}` or, for a UPN starting with `$`, `/users('{upn}')`.
pub fn user(id_or_upn: &str) -> String {
    if let Some(rest) = id_or_upn.strip_prefix('$') {
        format!("/users('${}')", segment(&rest.replace('\'', "''")))
    } else {
        format!("/users/{}", segment(id_or_upn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upns_are_encoded_as_documented() {
        assert_eq!(user("dana.lee@contoso.com"), "/users/dana.lee@contoso.com");
        assert_eq!(
            user("ext_x#EXT#@contoso.onmicrosoft.com"),
            "/users/ext_x%23EXT%23@contoso.onmicrosoft.com"
        );
        assert_eq!(user("$dana@contoso.com"), "/users('$dana@contoso.com')");
        assert_eq!(segment("a/b?c d&e=f+g%"), "a%2Fb%3Fc%20d%26e%3Df%2Bg%25");
        assert_eq!(segment("b!t18F8y-x_y"), "b!t18F8y-x_y");
    }
}
