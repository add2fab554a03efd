//! `authgate users …`: authgate's own users (the source `db`), and `authgate audit tail`.
//! Usable while the service runs; a change is seen by it within a second.

use std::path::Path;

use super::*;
use crate::app::people::{valid_group, valid_username};
use crate::storage::{LinkOwner, LinkPurpose, Storage, StoredUser};

/// `authgate users add|list|disable|enable|set-groups`.
pub(super) fn users(path: &Path, command: &UsersCommand) -> anyhow::Result<i32> {
    let Some(cfg) = load_config(path) else {
        return Ok(1);
    };
    let Some((rt, storage)) = open_storage(path)? else {
        return Ok(1);
    };
    rt.block_on(run(&cfg, &storage, command))
}

async fn run(
    cfg: &config::Config,
    storage: &Storage,
    command: &UsersCommand,
) -> anyhow::Result<i32> {
    let missing = |user: &str| {
        eprintln!("there is no user {user:?} in [storage]");
        Ok(1)
    };
    match command {
        UsersCommand::Add {
            user,
            email,
            name,
            group,
            invite,
        } => add(cfg, storage, (user, email, name.as_deref()), group, *invite).await,
        UsersCommand::List { search } => {
            for u in storage.users(search.as_deref().unwrap_or("")).await? {
                let state = match (u.disabled, u.has_password) {
                    (true, _) => "disabled",
                    (false, false) => "invited",
                    (false, true) => "active",
                };
                let email = u.email.as_deref().unwrap_or("-");
                println!("{}\t{email}\t{state}\t{}", u.username, u.groups.join(","));
            }
            Ok(0)
        }
        UsersCommand::Disable { user } | UsersCommand::Enable { user } => {
            let disable = matches!(command, UsersCommand::Disable { .. });
            if !storage.set_disabled(user, disable).await? {
                return missing(user);
            }
            println!("{user} is {}", if disable { "disabled" } else { "enabled" });
            Ok(0)
        }
        UsersCommand::SetGroups { user, group } => {
            if let Some(bad) = group.iter().find(|g| !valid_group(g)) {
                eprintln!("{bad:?} is not a group name (no commas, spaces at the ends or control characters)");
                return Ok(1);
            }
            if !storage.set_groups(user, group).await? {
                return missing(user);
            }
            println!("{user}: {}", group.join(","));
            Ok(0)
        }
    }
}

async fn add(
    cfg: &config::Config,
    storage: &Storage,
    (user, email, name): (&str, &str, Option<&str>),
    groups: &[String],
    invite: bool,
) -> anyhow::Result<i32> {
    if !valid_username(user) {
        eprintln!("{user:?} is not a user name (no spaces, commas, colons, slashes or control characters)");
        return Ok(1);
    }
    if let Some(bad) = groups.iter().find(|g| !valid_group(g)) {
        eprintln!("{bad:?} is not a group name");
        return Ok(1);
    }
    if !email.contains('@') || email.parse::<lettre::Address>().is_err() {
        eprintln!("{email:?} is not an email address");
        return Ok(1);
    }
    let canonical = crate::login::regulation::canonical_name(user);
    if cfg
        .users
        .keys()
        .any(|u| crate::login::regulation::canonical_name(u) == canonical)
    {
        eprintln!("{user:?} is a user of the configuration file: a name may be in one source only");
        return Ok(1);
    }
    let stored = StoredUser {
        username: user.to_string(),
        email: Some(email.to_string()),
        name: name.map(str::to_string),
        groups: groups.to_vec(),
        has_password: false,
        disabled: false,
        created_at: 0,
    };
    let now =
        i64::try_from(crate::clock::Clock::now(&crate::clock::SystemClock)).unwrap_or(i64::MAX);
    if !storage.add_user(&stored, now).await? {
        eprintln!("{user:?} exists already (in some case or spacing)");
        return Ok(1);
    }
    println!("added {user}");
    if invite {
        return send_invitation(cfg, storage, &stored, now).await;
    }
    Ok(0)
}

/// A new invitation link for `user`: printed, and mailed when `[smtp]` is set.
async fn send_invitation(
    cfg: &config::Config,
    storage: &Storage,
    user: &StoredUser,
    now: i64,
) -> anyhow::Result<i32> {
    let token = crate::secret::new_secret();
    let owner = LinkOwner {
        username: user.username.clone(),
        source: "db".into(),
    };
    let seconds = i64::try_from(crate::app::people::INVITATION_SECONDS).unwrap_or(i64::MAX);
    storage
        .add_link(&token, LinkPurpose::Invite, &owner, now + seconds, now)
        .await?;
    let link = format!(
        "{}{}?token={token}",
        cfg.server.issuer,
        crate::app::people::INVITE_PATH
    );
    println!("invitation link (single use, 72 hours): {link}");
    let (Some(smtp), Some(to)) = (&cfg.smtp, &user.email) else {
        return Ok(0);
    };
    let lang = crate::http::i18n::Lang::from_code(&cfg.login.default_language).unwrap_or_default();
    let b = &cfg.branding;
    let mail = crate::mail::compose(
        crate::mail::Kind::Invite { link: &link },
        (&user.username, to),
        lang,
        (&b.name, &b.primary_color),
    );
    match crate::mail::Mailer::new(smtp)?.send(&mail).await {
        Ok(()) => {
            println!("mailed to {to}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("the invitation could not be mailed: {e}; send the link yourself");
            Ok(2)
        }
    }
}

/// `authgate audit tail [--user U] [--lines N]`: the last lines of the audit file, those of
/// `user` (as actor or subject) only when named.
pub(super) fn audit_tail(path: &Path, user: Option<&str>, lines: usize) -> anyhow::Result<i32> {
    let Some(cfg) = load_config(path) else {
        return Ok(1);
    };
    let Some(file) = cfg.audit.file else {
        eprintln!(
            "[audit] has no file: the trail goes to standard output (journalctl -u authgate)"
        );
        return Ok(1);
    };
    let text =
        std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let theirs = |line: &&str| {
        let Some(user) = user else { return true };
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        v.get("actor").and_then(|a| a.as_str()) == Some(user)
            || v.get("subject").and_then(|s| s.as_str()) == Some(user)
    };
    let picked: Vec<&str> = text.lines().filter(theirs).collect();
    for line in picked.iter().skip(picked.len().saturating_sub(lines)) {
        println!("{line}");
    }
    Ok(0)
}
