//! `authgate ldap test`: what an operator runs first when directory sign-ins fail.

use std::path::Path;

use super::*;

pub(super) fn ldap_test(path: &Path, user: &str) -> anyhow::Result<i32> {
    let Some(cfg) = load_config(path) else {
        return Ok(1);
    };
    let Some(ldap) = cfg.ldap else {
        eprintln!("{}: there is no [ldap] table", path.display());
        return Ok(1);
    };
    eprint!("password for {user}: ");
    let password = read_stdin_line()?;
    println!(
        "directory: {}",
        ldap.urls
            .iter()
            .map(|u| u.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "search: {} under {}",
        ldap.user_filter
            .replace("{username}", &ldap3::ldap_escape(user)),
        ldap.base_dn
    );
    let clock: std::sync::Arc<dyn crate::clock::Clock> =
        std::sync::Arc::new(crate::clock::SystemClock);
    let dir = crate::directory::ldap::LdapDirectory::new(ldap, clock, None)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let Some(found) = dir.lookup(user).await? else {
            println!("search: no single entry matches: a sign-in would fail");
            return Ok(1);
        };
        println!("search: found {}", found.dn);
        let u = &found.user;
        println!(
            "user: {} email={} name={} disabled={}",
            u.username,
            u.email.as_deref().unwrap_or("-"),
            u.name.as_deref().unwrap_or("-"),
            u.disabled
        );
        println!(
            "groups: {}",
            if u.groups.is_empty() {
                "(none)".to_string()
            } else {
                u.groups.join(", ")
            }
        );
        let ok = dir.bind(&found.dn, &password).await?;
        println!(
            "bind as {}: {}",
            found.dn,
            if ok { "ok" } else { "invalid credentials" }
        );
        let name = crate::login::regulation::canonical_name(&u.username);
        let shadowed = cfg
            .users
            .keys()
            .any(|k| crate::login::regulation::canonical_name(k) == name);
        if shadowed {
            println!("refused: a local user has this name; the directory user cannot sign in");
        }
        Ok(if ok && !u.disabled && !shadowed { 0 } else { 1 })
    })
}
