//! Prometheus metrics, served on `metrics_listen`: requests by route and status, upstream
//! latency, sign-ins, tokens issued, active sessions, store errors.
//!
//! A bottom-layer module: it knows no other part of authgate. Lower layers are handed its
//! functions as observers (the store's `ErrorObserver`); the server serves `render`.

use std::sync::LazyLock;

use prometheus::{
    register_histogram_vec, register_int_counter, register_int_counter_vec, register_int_gauge,
    register_int_gauge_vec, Encoder, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, TextEncoder,
};

pub struct Metrics {
    pub requests: IntCounterVec,
    pub upstream_seconds: HistogramVec,
    pub sign_ins: IntCounterVec,
    pub tokens: IntCounterVec,
    pub sessions: IntGauge,
    pub store_errors: IntCounter,
    pub directory_requests: IntCounterVec,
    pub directory_seconds: HistogramVec,
    pub config_reloads: IntCounterVec,
    pub snapshots: IntCounterVec,
    pub backchannel_logouts: IntCounterVec,
    /// Newly opened and reused upstream connections (looked up once: counted on every
    /// connection to an upstream, retries included).
    pub upstream_connections: (IntCounter, IntCounter),
    pub certificate_expiry: IntGaugeVec,
    pub acme_orders: IntCounterVec,
    pub mail: IntCounterVec,
    pub audit_errors: IntCounter,
}

fn build() -> Result<Metrics, prometheus::Error> {
    let (certificate_expiry, acme_orders) = certificate_metrics()?;
    let (mail, audit_errors) = people_metrics()?;
    Ok(Metrics {
        requests: register_int_counter_vec!(
            "authgate_requests_total",
            "Requests answered, by route and status",
            &["route", "status"]
        )?,
        upstream_seconds: register_histogram_vec!(
            "authgate_upstream_seconds",
            "Time from choosing an upstream to its response header",
            &["route"],
            vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0
            ]
        )?,
        sign_ins: register_int_counter_vec!(
            "authgate_sign_ins_total",
            "Sign-in attempts on the login form, by result",
            &["result"]
        )?,
        tokens: register_int_counter_vec!(
            "authgate_tokens_issued_total",
            "Token responses, by grant type",
            &["grant"]
        )?,
        sessions: register_int_gauge!(
            "authgate_active_sessions",
            "Live sessions in the store (provider and app sessions)"
        )?,
        directory_requests: register_int_counter_vec!(
            "authgate_directory_requests_total",
            "Requests to the LDAP directory, by result",
            &["result"]
        )?,
        directory_seconds: register_histogram_vec!(
            "authgate_directory_seconds",
            "Time an LDAP directory request took",
            &["result"],
            vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]
        )?,
        config_reloads: register_int_counter_vec!(
            "authgate_config_reloads_total",
            "Configuration reloads (SIGHUP), by result: applied or refused",
            &["result"]
        )?,
        snapshots: register_int_counter_vec!(
            "authgate_session_snapshots_total",
            "Memory-store snapshots written or loaded, by operation and result",
            &["op", "result"]
        )?,
        backchannel_logouts: register_int_counter_vec!(
            "authgate_backchannel_logouts_total",
            "Logout tokens sent to relying parties, by result: delivered, failed, dropped",
            &["result"]
        )?,
        upstream_connections: {
            let by_reuse = register_int_counter_vec!(
                "authgate_upstream_connections_total",
                "Connections to upstreams used, by whether they were reused from the keep-alive pool",
                &["reused"]
            )?;
            (
                by_reuse.with_label_values(&["false"]),
                by_reuse.with_label_values(&["true"]),
            )
        },
        store_errors: register_int_counter!(
            "authgate_store_errors_total",
            "Session store operations that failed"
        )?,
        certificate_expiry,
        acme_orders,
        mail,
        audit_errors,
    })
}

/// The mail sent to people and the audit lines that could not be written.
fn people_metrics() -> Result<(IntCounterVec, IntCounter), prometheus::Error> {
    Ok((
        register_int_counter_vec!(
            "authgate_mail_total",
            "Mail to people (invitations, resets, notices), by result: sent, retried, failed, dropped",
            &["result"]
        )?,
        register_int_counter!(
            "authgate_audit_write_errors_total",
            "Audit trail lines that could not be written"
        )?,
    ))
}

/// The certificates served and the orders placed for them.
fn certificate_metrics() -> Result<(IntGaugeVec, IntCounterVec), prometheus::Error> {
    Ok((
        register_int_gauge_vec!(
            "authgate_tls_certificate_expiry_seconds",
            "When the certificate served for a host expires (Unix time)",
            &["host"]
        )?,
        register_int_counter_vec!(
            "authgate_acme_orders_total",
            "Certificate orders placed with the ACME CA, by result (issued, failed)",
            &["result"]
        )?,
    ))
}

/// The process's metrics; `None` only if registration failed (a name clash, i.e. a bug),
/// in which case the gateway runs on without them.
static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| {
    build()
        .map_err(|e| log::error!("metrics registration failed: {e}"))
        .ok()
});

pub fn request(route: &str, status: u16) {
    if let Some(m) = METRICS.as_ref() {
        let code = http::StatusCode::from_u16(status);
        let status = code.as_ref().map_or("0", http::StatusCode::as_str);
        m.requests.with_label_values(&[route, status]).inc();
    }
}

pub fn upstream_connection(reused: bool) {
    if let Some(m) = METRICS.as_ref() {
        let (new, old) = &m.upstream_connections;
        if reused { old } else { new }.inc();
    }
}

pub fn upstream_latency(route: &str, seconds: f64) {
    if let Some(m) = METRICS.as_ref() {
        m.upstream_seconds
            .with_label_values(&[route])
            .observe(seconds);
    }
}

/// `result`: "ok", "failed" or "locked".
pub fn sign_in(result: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.sign_ins.with_label_values(&[result]).inc();
    }
}

pub fn token_issued(grant: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.tokens.with_label_values(&[grant]).inc();
    }
}

pub fn store_error() {
    if let Some(m) = METRICS.as_ref() {
        m.store_errors.inc();
    }
}

/// One directory request: `result` is `ok`, `not_found`, `error`, or `busy` (refused at the cap).
pub fn directory_request(result: &str, seconds: f64) {
    if let Some(m) = METRICS.as_ref() {
        m.directory_requests.with_label_values(&[result]).inc();
        m.directory_seconds
            .with_label_values(&[result])
            .observe(seconds);
    }
}

/// One SIGHUP: `result` is `applied` or `refused`.
pub fn config_reload(result: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.config_reloads.with_label_values(&[result]).inc();
    }
}

/// A snapshot `op` (`write`, `load`, `merge`) that ended in `result` (`ok`, `failed`).
pub fn snapshot(op: &str, result: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.snapshots.with_label_values(&[op, result]).inc();
    }
}

/// One logout token's fate: `delivered`, `failed` (after retries) or `dropped` (queue full).
pub fn backchannel_logout(result: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.backchannel_logouts.with_label_values(&[result]).inc();
    }
}

/// Sets the live-session gauge.
pub fn sessions(n: u64) {
    if let Some(m) = METRICS.as_ref() {
        m.sessions.set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

/// One mail's outcome: `sent`, `retried`, `failed` (given up) or `dropped` (queue full).
pub fn mail(result: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.mail.with_label_values(&[result]).inc();
    }
}

/// An audit line that could not be written.
pub fn audit_error() {
    if let Some(m) = METRICS.as_ref() {
        m.audit_errors.inc();
    }
}

/// `result`: "limited" when a client address went over `[login] rate_limit`.
pub fn rate_limited() {
    if let Some(m) = METRICS.as_ref() {
        m.sign_ins.with_label_values(&["rate_limited"]).inc();
    }
}

/// The certificate now served for `host` expires at `not_after` (Unix seconds).
pub fn certificate_expiry(host: &str, not_after: u64) {
    if let Some(m) = METRICS.as_ref() {
        let at = i64::try_from(not_after).unwrap_or(i64::MAX);
        m.certificate_expiry.with_label_values(&[host]).set(at);
    }
}

/// One ACME order's `result`: `issued` or `failed`.
pub fn acme_order(result: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.acme_orders.with_label_values(&[result]).inc();
    }
}

/// The text exposition of every metric, and its content type.
pub fn render() -> (Vec<u8>, String) {
    let mut body = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(e) = encoder.encode(&prometheus::gather(), &mut body) {
        log::error!("encoding metrics failed: {e}");
    }
    (body, encoder.format_type().to_string())
}
