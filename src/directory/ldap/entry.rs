//! What a directory entry says, read as pure functions: whether the account may be used at
//! a given time, and which group a `memberOf` DN names. No IO; the clock is passed in.

use ldap3::SearchEntry;

/// The attributes that say an account cannot be used, in the directories authgate meets.
pub const STATE_ATTRIBUTES: [&str; 6] = [
    "userAccountControl",
    "accountExpires",
    "lockoutTime",
    "msDS-User-Account-Control-Computed",
    "pwdAccountLockedTime",
    "nsAccountLock",
];

/// Active Directory's `userAccountControl` flags (MS-ADTS 2.2.16).
const UF_ACCOUNTDISABLE: u64 = 0x2;
const UF_LOCKOUT: u64 = 0x10;
/// Seconds from 1601-01-01 (Windows FILETIME's epoch) to 1970-01-01.
const FILETIME_UNIX_OFFSET: u64 = 11_644_473_600;

fn first<'e>(entry: &'e SearchEntry, attr: &str) -> Option<&'e str> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

fn number(entry: &SearchEntry, attr: &str) -> Option<u64> {
    first(entry, attr)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|n| n.max(0).unsigned_abs())
}

/// Whether the account of `entry` cannot be used at `now` (Unix seconds): disabled
/// (`userAccountControl`), expired (`accountExpires`) or locked (`lockoutTime`, or the computed
/// flag where the directory offers it, as Active Directory and Samba do) in Active Directory;
/// locked by OpenLDAP's ppolicy (`pwdAccountLockedTime`); or locked in 389-DS
/// (`nsAccountLock`). Asked at sign-in, at every re-check, for app passwords and at refresh.
pub fn unusable(entry: &SearchEntry, now: u64) -> bool {
    let uac = number(entry, "userAccountControl").unwrap_or(0);
    let expires = number(entry, "accountExpires")
        // 0 and i64::MAX both mean "never".
        .filter(|&t| t != 0 && t != i64::MAX.unsigned_abs())
        .map(|t| (t / 10_000_000).saturating_sub(FILETIME_UNIX_OFFSET));
    let ad_locked = match number(entry, "msDS-User-Account-Control-Computed") {
        // The directory says whether the lockout still holds (it ends by itself).
        Some(computed) => computed & UF_LOCKOUT != 0,
        None => number(entry, "lockoutTime").is_some_and(|t| t != 0),
    };
    uac & UF_ACCOUNTDISABLE != 0
        || expires.is_some_and(|t| t <= now)
        || ad_locked
        || first(entry, "pwdAccountLockedTime").is_some()
        || first(entry, "nsAccountLock").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The group a `memberOf` value names: the value of its first RDN when that RDN's attribute is
/// `group_name` and the DN lies under `group_base_dn` (when one is set). Other DNs are not
/// groups authgate knows: a `memberOf` of some other object never becomes a group name.
pub fn group_of_dn(dn: &str, group_name: &str, group_base_dn: Option<&str>) -> Option<String> {
    let (rdn, parent) = split_first_rdn(dn)?;
    let (attr, value) = rdn.split_once('=')?;
    if !attr.trim().eq_ignore_ascii_case(group_name) {
        return None;
    }
    if let Some(base) = group_base_dn {
        if !under(parent, base) {
            return None;
        }
    }
    let value = unescape(value.trim());
    (!value.is_empty()).then_some(value)
}

/// The first RDN and the rest of `dn`, honouring `\,` escapes (RFC 4514).
fn split_first_rdn(dn: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in dn.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            ',' if !escaped => return Some((dn.get(..i)?, dn.get(i + 1..)?)),
            _ => escaped = false,
        }
    }
    Some((dn, ""))
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut escaped = false;
    for c in value.chars() {
        if c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// `dn` is `base` or below it, compared without case or spaces around separators.
fn under(dn: &str, base: &str) -> bool {
    let norm = |s: &str| {
        s.split(',')
            .map(|p| p.trim().to_ascii_lowercase().replace(" = ", "="))
            .collect::<Vec<_>>()
    };
    let (dn, base) = (norm(dn), norm(base));
    dn.len() >= base.len() && dn.get(dn.len() - base.len()..) == Some(&base[..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn entry(attrs: &[(&str, &str)]) -> SearchEntry {
        SearchEntry {
            dn: "uid=x,dc=t".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect::<HashMap<_, _>>(),
            bin_attrs: HashMap::new(),
        }
    }

    /// 2026-01-01T00:00:00Z as a FILETIME.
    const JAN_2026: &str = "134116992000000000";
    const JAN_2026_UNIX: u64 = 1_767_225_600;

    #[test]
    fn account_state_of_active_directory_openldap_and_389() {
        let before = JAN_2026_UNIX - 1;
        assert!(!unusable(&entry(&[]), before));
        assert!(unusable(&entry(&[("userAccountControl", "514")]), before));
        assert!(!unusable(&entry(&[("userAccountControl", "512")]), before));
        let expires = entry(&[("accountExpires", JAN_2026)]);
        assert!(!unusable(&expires, before));
        assert!(unusable(&expires, JAN_2026_UNIX));
        for never in ["0", "9223372036854775807"] {
            assert!(!unusable(&entry(&[("accountExpires", never)]), before));
        }
        assert!(unusable(&entry(&[("lockoutTime", JAN_2026)]), before));
        assert!(!unusable(&entry(&[("lockoutTime", "0")]), before));
        // Where the directory computes it, its word on the lockout holds.
        let ended = entry(&[
            ("lockoutTime", JAN_2026),
            ("msDS-User-Account-Control-Computed", "0"),
        ]);
        assert!(!unusable(&ended, before));
        let computed = entry(&[("msDS-User-Account-Control-Computed", "16")]);
        assert!(unusable(&computed, before));
        assert!(unusable(
            &entry(&[("pwdAccountLockedTime", "000001010000Z")]),
            before
        ));
        assert!(unusable(&entry(&[("nsAccountLock", "TRUE")]), before));
        assert!(!unusable(&entry(&[("nsAccountLock", "false")]), before));
    }

    #[test]
    fn groups_come_only_from_group_entries_under_the_base() {
        let base = Some("ou=Groups,dc=example,dc=test");
        let g = |dn| group_of_dn(dn, "cn", base);
        assert_eq!(
            g("cn=staff,ou=groups,dc=example,dc=test").as_deref(),
            Some("staff")
        );
        assert_eq!(
            g("CN=Staff, OU=Groups, DC=example, DC=test").as_deref(),
            Some("Staff")
        );
        assert_eq!(
            g("cn=ops\\,admin,ou=groups,dc=example,dc=test").as_deref(),
            Some("ops,admin"),
            "read whole; the directory layer refuses the comma"
        );
        assert_eq!(g("cn=admin,ou=people,dc=example,dc=test"), None);
        assert_eq!(g("uid=admin,ou=groups,dc=example,dc=test"), None);
        assert_eq!(g("cn=x,ou=groups,dc=evil,dc=test"), None);
        assert_eq!(
            group_of_dn("cn=staff,ou=anything", "cn", None).as_deref(),
            Some("staff")
        );
    }
}
