//! The test PKI: a CA and a leaf for `localhost` and 127.0.0.1, generated in memory with rcgen.
//!
//! Keys are P-256 (as rustls' own `TestPki`), generated once per process on first use and
//! never at trial-list time, never written to disk by this module, never committed. The TLS
//! configurations built from them are cached too, so a pairing costs no key generation and no
//! config building.

use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use crate::Error;

/// The host name the leaf certificate is for, and that clients verify.
pub const SERVER_NAME: &str = "localhost";

/// The generated CA and leaf, in DER and PEM.
#[derive(Debug)]
pub struct TestPki {
    /// The CA certificate (DER).
    pub ca_der: CertificateDer<'static>,
    /// The CA certificate (PEM), for external peers.
    pub ca_pem: String,
    /// The leaf certificate for `localhost` and 127.0.0.1, signed by the CA (DER).
    pub leaf_der: CertificateDer<'static>,
    /// The leaf certificate (PEM).
    pub leaf_pem: String,
    /// The leaf's private key (PKCS#8 DER).
    pub leaf_key_der: Vec<u8>,
    /// The leaf's private key (PEM).
    pub leaf_key_pem: String,
}

impl TestPki {
    /// The process's PKI, generated on first call.
    pub fn get() -> Result<&'static TestPki, Error> {
        static PKI: OnceLock<Result<TestPki, String>> = OnceLock::new();
        PKI.get_or_init(|| TestPki::generate().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::Pki(e.clone()))
    }

    fn generate() -> Result<TestPki, rcgen::Error> {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        let mut ca_name = DistinguishedName::new();
        ca_name.push(DnType::CommonName, "connectable test CA");
        ca_params.distinguished_name = ca_name;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, &ca_key);

        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut leaf_params = CertificateParams::new(vec![SERVER_NAME.to_owned()])?;
        leaf_params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, SERVER_NAME);
        let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

        Ok(TestPki {
            ca_der: ca_cert.der().clone(),
            ca_pem: ca_cert.pem(),
            leaf_der: leaf_cert.der().clone(),
            leaf_pem: leaf_cert.pem(),
            leaf_key_der: leaf_key.serialize_der(),
            leaf_key_pem: leaf_key.serialize_pem(),
        })
    }
}

/// The rustls configurations a TLS endpoint uses, built once per process.
#[derive(Clone, Debug)]
pub struct TlsConfigs {
    /// The server's configuration: the leaf and its key.
    pub server: Arc<ServerConfig>,
    /// The client's configuration: trusts the CA only.
    pub client: Arc<ClientConfig>,
    /// The name the client verifies.
    pub server_name: ServerName<'static>,
}

impl TlsConfigs {
    /// The default configurations: a valid leaf, a client that verifies it.
    pub fn get() -> Result<TlsConfigs, Error> {
        static CONFIGS: OnceLock<Result<TlsConfigs, String>> = OnceLock::new();
        CONFIGS
            .get_or_init(|| TlsConfigs::build().map_err(|e| e.to_string()))
            .clone()
            .map_err(Error::Pki)
    }

    fn build() -> Result<TlsConfigs, Error> {
        let pki = TestPki::get()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = |e: rustls::Error| Error::Pki(e.to_string());

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.leaf_key_der.clone()));
        let server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(tls)?
            .with_no_client_auth()
            .with_single_cert(vec![pki.leaf_der.clone()], key)
            .map_err(tls)?;

        let mut roots = RootCertStore::empty();
        roots.add(pki.ca_der.clone()).map_err(tls)?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls)?
            .with_root_certificates(roots)
            .with_no_client_auth();

        let server_name = ServerName::try_from(SERVER_NAME)
            .map_err(|e| Error::Pki(e.to_string()))?
            .to_owned();
        Ok(TlsConfigs {
            server: Arc::new(server),
            client: Arc::new(client),
            server_name,
        })
    }
}
