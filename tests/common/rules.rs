//! 49 access rules that miss a `GET /report?a=1` from 10.1.2.3 (by path, method, network or
//! query, in turn): the long list the decision benchmark and the allocation test walk before
//! their own last rule matches. Shared by `benches/hot_path.rs` and `tests/no_alloc.rs`.

pub fn forty_nine_misses() -> String {
    let mut rules = String::new();
    for i in 0..49 {
        let condition = match i % 4 {
            0 => format!("paths = [\"/section-{i}/**\"]"),
            1 => format!("paths = [\"^/v{i}/\"]\nmethods = [\"DELETE\"]"),
            2 => "networks = [\"192.0.2.0/24\"]".to_string(),
            _ => format!("query = [\"k{i}\"]"),
        };
        rules.push_str(&format!(
            "[[routes.rules]]\n{condition}\npolicy = \"deny\"\n"
        ));
    }
    rules
}
