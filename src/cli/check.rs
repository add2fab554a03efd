//! `authgate check-config`: every problem with its key path, then what is worth a look.

use std::path::Path;

use super::*;

pub(super) fn check_config(path: &Path) -> i32 {
    let checked = config::load(path).map_err(|e| e.problems).and_then(|cfg| {
        // A key the config asks authgate to create at startup is not created by a check.
        let will_create = cfg.tokens.create_key_if_missing && !cfg.tokens.signing_key_file.exists();
        if will_create {
            return Ok(cfg);
        }
        match crate::keys::KeySet::load(&cfg.tokens) {
            Ok(_) => Ok(cfg),
            Err(e) => Err(vec![config::Problem {
                path: "tokens".into(),
                message: e.to_string(),
            }]),
        }
    });
    match checked {
        Ok(cfg) => {
            for warning in crate::config::warnings(&cfg) {
                eprintln!("warning: {warning}");
            }
            println!(
                "{}: ok ({} route(s), {} user(s), {} client(s), listening on {})",
                path.display(),
                cfg.routes.len(),
                cfg.users.len(),
                cfg.clients.len(),
                cfg.server
                    .listen
                    .iter()
                    .chain(&cfg.server.tls_listen)
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            0
        }
        Err(problems) => {
            for p in &problems {
                println!("{p}");
            }
            eprintln!("{}: {} problem(s)", path.display(), problems.len());
            1
        }
    }
}
