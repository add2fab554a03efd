//! `authgate sessions list|revoke`: through the running process's admin socket.

use std::path::Path;

use super::*;

/// `authgate sessions list|revoke`, through the running process's admin socket.
pub(super) fn sessions(path: &Path, command: &SessionsCommand) -> anyhow::Result<i32> {
    use crate::admin::{request, Answer, Command as Admin};
    let Some(cfg) = load_config(path) else {
        return Ok(1);
    };
    let Some(socket) = cfg.server.admin_socket else {
        eprintln!("{}: server.admin_socket is off", path.display());
        return Ok(1);
    };
    let command = match command {
        SessionsCommand::List { user } => Admin::List { user: user.clone() },
        SessionsCommand::Revoke { user, session } => Admin::Revoke {
            user: user.clone(),
            session: session.clone(),
        },
    };
    match request(&socket, &command)? {
        Answer::Sessions(rows) => {
            println!("SESSION\tUSER\tSTARTED\tLAST SEEN\tADDRESS\tCLIENTS");
            for r in rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    r.session,
                    r.user,
                    crate::clock::rfc3339(r.started),
                    crate::clock::rfc3339(r.last_seen),
                    r.address.as_deref().unwrap_or("-"),
                    r.clients.join(",")
                );
            }
            Ok(0)
        }
        Answer::Revoked(n) => {
            println!("ended {n} session(s)");
            Ok(0)
        }
        Answer::Error(e) => {
            eprintln!("authgate: {e}");
            Ok(1)
        }
    }
}
