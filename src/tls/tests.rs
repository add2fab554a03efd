use super::*;

fn self_signed(names: &[&str]) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[test]
fn a_certificate_covers_its_names_and_one_label_under_a_wildcard() {
    let (chain, key) = self_signed(&["auth.example.com", "*.apps.example.com"]);
    let served = Served::from_pem(chain.as_bytes(), key.as_bytes()).unwrap();
    assert!(served.covers("auth.example.com"));
    assert!(served.covers("wiki.apps.example.com"));
    assert!(!served.covers("apps.example.com"));
    assert!(!served.covers("a.b.apps.example.com"));
    assert!(!served.covers("example.com"));
    assert!(served.not_after > served.not_before);
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let (chain, _) = self_signed(&["a.example.com"]);
    let (_, other_key) = self_signed(&["a.example.com"]);
    let e = Served::from_pem(chain.as_bytes(), other_key.as_bytes())
        .err()
        .unwrap();
    assert!(e.0.contains("not the certificate's"), "{e}");
    assert!(Served::from_pem(b"", other_key.as_bytes()).is_err());
}

#[test]
fn the_challenge_certificate_names_the_host_and_carries_the_digest() {
    let digest = [7u8; 32];
    let key = challenge_certificate("auth.example.com", &digest).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(key.cert[0].as_ref()).unwrap();
    let acme_id = x509_parser::oid_registry::Oid::from(&[1, 3, 6, 1, 5, 5, 7, 1, 31]).unwrap();
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid == acme_id)
        .expect("acmeIdentifier");
    assert!(ext.critical);
    assert!(ext.value.ends_with(&digest));
    assert!(challenge_certificate("auth.example.com", &[1u8; 20]).is_err());
}

#[test]
fn installed_certificates_replace_the_previous_one_for_their_host() {
    let certs = Certificates::new(None);
    let (c1, k1) = self_signed(&["a.example.com"]);
    let (c2, k2) = self_signed(&["a.example.com"]);
    certs.install(
        "a.example.com",
        Served::from_pem(c1.as_bytes(), k1.as_bytes()).unwrap(),
    );
    let first = certs.issued("a.example.com").unwrap().leaf().cloned();
    certs.install(
        "a.example.com",
        Served::from_pem(c2.as_bytes(), k2.as_bytes()).unwrap(),
    );
    assert_ne!(
        certs.issued("a.example.com").unwrap().leaf().cloned(),
        first
    );
    assert!(certs.issued("b.example.com").is_none());
    assert!(!certs.manual_covers("a.example.com"));
}
