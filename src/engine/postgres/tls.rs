//! TLS to PostgreSQL, as `sslmode` in `storage.url` asks, with libpq's meanings: `disable` (plain),
//! `prefer` (the default: TLS when the server offers it, unverified), `require` (TLS, unverified;
//! verified like `verify-ca` when `sslrootcert` is given), `verify-ca` (the certificate chains to
//! a trusted root) and `verify-full` (and names the host). Trusted roots: the `sslrootcert` file
//! (PEM) when given, else the Mozilla roots of `webpki-roots`, as managed PostgreSQL services use
//! public CAs or publish theirs for `sslrootcert`.
//!
//! tokio-postgres reads only `disable`, `prefer` and `require`, and not `sslrootcert`: both are
//! taken out of the URL here and the rest is tokio-postgres's to parse.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as WireMode;
pub use tokio_postgres_rustls::MakeRustlsConnect;

use crate::engine::error::StoreError;

/// `sslmode`, as libpq means it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "disable" => SslMode::Disable,
            // libpq's `allow` tries plain first; TLS first is never worse.
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => return Err(StoreError::Engine(format!(
                "storage.url: sslmode={other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )
            .into())),
        })
    }
}

/// What the URL says about TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

impl TlsSettings {
    /// How the certificate is checked: `require` with a root file checks the chain, as libpq.
    fn verification(&self) -> Verification {
        match (self.mode, &self.root_cert) {
            (SslMode::VerifyFull, _) => Verification::ChainAndName,
            (SslMode::VerifyCa, _) | (SslMode::Require, Some(_)) => Verification::Chain,
            _ => Verification::None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verification {
    None,
    Chain,
    ChainAndName,
}

/// The connection settings `url` names and how to reach the server over TLS. A URL
/// (`postgres://…?sslmode=…`) or libpq's `key=value` words are both read.
pub fn configure(
    url: &str,
) -> Result<(tokio_postgres::Config, MakeRustlsConnect, TlsSettings), StoreError> {
    let (rest, settings) = split(url)?;
    let mut config = tokio_postgres::Config::from_str(&rest).map_err(|error| {
        StoreError::Engine(format!("storage.url is not a PostgreSQL URL: {error}").into())
    })?;
    config.ssl_mode(match settings.mode {
        SslMode::Disable => WireMode::Disable,
        SslMode::Prefer => WireMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
    });
    let connector = MakeRustlsConnect::new(client_config(&settings)?);
    Ok((config, connector, settings))
}

/// `url` without `sslmode` and `sslrootcert`, and what they said (`prefer` when absent).
fn split(url: &str) -> Result<(String, TlsSettings), StoreError> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| match key {
        "sslmode" => {
            mode = Some(value.parse::<SslMode>()?);
            Ok(true)
        }
        "sslrootcert" => {
            root_cert = Some(PathBuf::from(value));
            Ok(true)
        }
        _ => Ok::<bool, StoreError>(false),
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = form_urlencoded::Serializer::new(String::new());
                for (key, value) in form_urlencoded::parse(query.as_bytes()) {
                    if !take(&key, &value)? {
                        kept.append_pair(&key, &value);
                    }
                }
                match kept.finish() {
                    query if query.is_empty() => base.to_owned(),
                    query => format!("{base}?{query}"),
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            let taken = match word.split_once('=') {
                Some((key, value)) => take(key.trim(), value.trim_matches('\''))?,
                None => false,
            };
            if !taken {
                kept.push(word);
            }
        }
        kept.join(" ")
    };
    let settings = TlsSettings {
        mode: mode.unwrap_or(SslMode::Prefer),
        root_cert,
    };
    Ok((rest, settings))
}

fn client_config(settings: &TlsSettings) -> Result<ClientConfig, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let verification = settings.verification();
    if verification == Verification::None {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
            .with_no_client_auth());
    }
    let roots = match &settings.root_cert {
        Some(path) => roots_from(path)?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(tls_error)?;
    let builder = builder.dangerous();
    Ok(match verification {
        Verification::Chain => {
            builder.with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
        }
        _ => builder.with_custom_certificate_verifier(webpki),
    }
    .with_no_client_auth())
}

/// The certificates of a PEM file (`sslrootcert`).
fn roots_from(path: &Path) -> Result<RootCertStore, StoreError> {
    let unreadable = |error: &dyn std::fmt::Display| {
        StoreError::Engine(
            format!(
                "storage.url: cannot read sslrootcert {}: {error}",
                path.display()
            )
            .into(),
        )
    };
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
        let certificate = certificate.map_err(|e| unreadable(&e))?;
        roots.add(certificate).map_err(|e| unreadable(&e))?;
    }
    if roots.is_empty() {
        return Err(unreadable(&"no certificate in it"));
    }
    Ok(roots)
}

fn tls_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(format!("cannot set up TLS to PostgreSQL: {error}").into())
}

/// `prefer` and `require`: encrypted, any certificate taken (libpq's meaning of both); the
/// handshake's signatures are still checked, so the session is with the certificate's holder.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name in the certificate may differ
/// from the host (libpq's meaning).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> (String, TlsSettings) {
        split(url).unwrap()
    }

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_a_url() {
        let (rest, tls) = settings(
            "postgres://u:p@db:5432/hookbot?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem",
        );
        assert_eq!(rest, "postgres://u:p@db:5432/hookbot?application_name=x");
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let (rest, tls) = settings("postgresql://db/hookbot?sslmode=require");
        assert_eq!(rest, "postgresql://db/hookbot");
        assert_eq!(tls.mode, SslMode::Require);
    }

    #[test]
    fn key_value_words_are_read_too() {
        let (rest, tls) = settings("host=db user=hookbot sslmode=verify-ca sslrootcert='/ca.pem'");
        assert_eq!(rest, "host=db user=hookbot");
        assert_eq!(tls.mode, SslMode::VerifyCa);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/ca.pem")));
    }

    #[test]
    fn prefer_is_the_default_as_in_libpq() {
        assert_eq!(settings("postgres://db/h").1.mode, SslMode::Prefer);
        assert_eq!(settings("postgres://db/h").0, "postgres://db/h");
    }

    #[test]
    fn an_unknown_mode_is_refused_with_the_choices() {
        let error = split("postgres://db/h?sslmode=sometimes")
            .unwrap_err()
            .to_string();
        assert!(error.contains("verify-full"), "{error}");
    }

    #[test]
    fn each_mode_verifies_as_libpq_does() {
        let with = |mode, root: Option<&str>| {
            TlsSettings {
                mode,
                root_cert: root.map(PathBuf::from),
            }
            .verification()
        };
        assert_eq!(with(SslMode::Prefer, None), Verification::None);
        assert_eq!(with(SslMode::Require, None), Verification::None);
        assert_eq!(with(SslMode::Require, Some("/ca")), Verification::Chain);
        assert_eq!(with(SslMode::VerifyCa, None), Verification::Chain);
        assert_eq!(with(SslMode::VerifyFull, None), Verification::ChainAndName);
    }

    #[test]
    fn the_wire_mode_is_tls_for_every_verifying_mode() {
        for (url, wire) in [
            ("postgres://db/h?sslmode=disable", WireMode::Disable),
            ("postgres://db/h", WireMode::Prefer),
            ("postgres://db/h?sslmode=require", WireMode::Require),
            ("postgres://db/h?sslmode=verify-ca", WireMode::Require),
            ("postgres://db/h?sslmode=verify-full", WireMode::Require),
        ] {
            let (config, _, _) = configure(url).unwrap();
            assert_eq!(config.get_ssl_mode(), wire, "{url}");
        }
    }

    #[test]
    fn a_missing_root_file_is_said_plainly() {
        let error = configure("postgres://db/h?sslmode=verify-full&sslrootcert=/nowhere.pem")
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("cannot read sslrootcert /nowhere.pem"),
            "{error}"
        );
    }
}
