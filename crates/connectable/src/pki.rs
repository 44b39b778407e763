//! The test PKI and the TLS profiles built from it, generated in memory with rcgen.
//!
//! One CA the clients trust, a second CA nobody trusts, and a leaf for every profile a case can
//! ask for (valid, expired, not yet valid, for the wrong host, from the unknown CA,
//! self-signed; client certificates from either CA). Keys are P-256 (as rustls' own
//! `TestPki`), generated once per process on first use and never at trial-list time, never
//! written to disk by this module, never committed. The rustls configurations of each profile
//! are built once per process too, so a pairing costs no key generation and no config
//! building.
//!
//! The client verifies the server's certificate against the trusted CA, always, unless the
//! profile says `verify: false` by name: that, and nothing else, builds the one verifier here
//! that accepts any certificate (`AcceptAnyServerCert`), and the pairing records it in the
//! client's trace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType, date_time_ymd,
};
use rustls::client::WantsClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, ConfigBuilder, DigitallySignedStruct, RootCertStore, ServerConfig,
    SignatureScheme,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

use crate::Error;

/// The host name the valid leaf is for, and that clients verify.
pub const SERVER_NAME: &str = "localhost";

/// A certificate and its key, in DER and PEM.
#[derive(Debug)]
pub struct CertifiedKey {
    /// The certificate (DER).
    pub cert_der: CertificateDer<'static>,
    /// The certificate (PEM), for external peers.
    pub cert_pem: String,
    /// The private key (PKCS#8 DER).
    pub key_der: Vec<u8>,
    /// The private key (PEM).
    pub key_pem: String,
}

impl CertifiedKey {
    fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// The words that name a certificate a peer presented ([`TestPki::name_of`]), and `none`
/// when it presented none.
pub const PEER_CERTIFICATE_WORDS: &[&str] = &[
    "none",
    "server-valid",
    "server-expired",
    "server-not-yet-valid",
    "server-wrong-host",
    "server-unknown-ca",
    "server-self-signed",
    "client-valid",
    "client-unknown-ca",
    "other",
];

/// Which certificate the server presents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ServerCert {
    /// For `localhost` and 127.0.0.1, signed by the trusted CA, valid now.
    #[default]
    Valid,
    /// Valid only in 2000.
    Expired,
    /// Valid only from 4000 on.
    NotYetValid,
    /// For `wrong.invalid` only.
    WrongHost,
    /// Signed by a CA the client does not trust.
    UnknownCa,
    /// Signed by its own key.
    SelfSigned,
}

impl ServerCert {
    /// Every kind, in documentation order.
    pub const ALL: [ServerCert; 6] = [
        Self::Valid,
        Self::Expired,
        Self::NotYetValid,
        Self::WrongHost,
        Self::UnknownCa,
        Self::SelfSigned,
    ];

    /// The word suites use.
    pub fn word(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::WrongHost => "wrong-host",
            Self::UnknownCa => "unknown-ca",
            Self::SelfSigned => "self-signed",
        }
    }

    /// The kind a suite word names.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.word() == word)
    }

    /// How [`TestPki::name_of`] names this leaf when a client saw it (`server-valid`).
    pub fn peer_word(self) -> &'static str {
        match self {
            Self::Valid => "server-valid",
            Self::Expired => "server-expired",
            Self::NotYetValid => "server-not-yet-valid",
            Self::WrongHost => "server-wrong-host",
            Self::UnknownCa => "server-unknown-ca",
            Self::SelfSigned => "server-self-signed",
        }
    }
}

/// Which certificate the client presents, if any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ClientCert {
    /// No client certificate.
    #[default]
    None,
    /// Signed by the CA the server trusts.
    Valid,
    /// Signed by a CA the server does not trust.
    UnknownCa,
}

impl ClientCert {
    /// Every kind, in documentation order.
    pub const ALL: [ClientCert; 3] = [Self::None, Self::Valid, Self::UnknownCa];

    /// How [`TestPki::name_of`] names this certificate when a server saw it (`client-valid`;
    /// `none` for no certificate).
    pub fn peer_word(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Valid => "client-valid",
            Self::UnknownCa => "client-unknown-ca",
        }
    }

    /// The word suites use.
    pub fn word(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Valid => "valid",
            Self::UnknownCa => "unknown-ca",
        }
    }

    /// The kind a suite word names.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.word() == word)
    }
}

/// The TLS versions our sides offer and accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TlsVersions {
    /// TLS 1.2.
    pub tls12: bool,
    /// TLS 1.3.
    pub tls13: bool,
}

impl TlsVersions {
    /// The words suites use for the versions, in order.
    pub const WORDS: [&'static str; 2] = ["1.2", "1.3"];

    /// The versions of these words (each from [`TlsVersions::WORDS`]); `None` for an empty
    /// list or an unknown word.
    pub fn from_words<'w>(words: impl IntoIterator<Item = &'w str>) -> Option<Self> {
        let mut versions = Self {
            tls12: false,
            tls13: false,
        };
        for word in words {
            match word {
                "1.2" => versions.tls12 = true,
                "1.3" => versions.tls13 = true,
                _ => return None,
            }
        }
        (versions.tls12 || versions.tls13).then_some(versions)
    }

    /// rustls' versions of these.
    fn rustls(self) -> Vec<&'static rustls::SupportedProtocolVersion> {
        let mut versions = Vec::new();
        if self.tls13 {
            versions.push(&rustls::version::TLS13);
        }
        if self.tls12 {
            versions.push(&rustls::version::TLS12);
        }
        versions
    }
}

impl Default for TlsVersions {
    /// Both, as rustls' safe defaults.
    fn default() -> Self {
        Self {
            tls12: true,
            tls13: true,
        }
    }
}

/// The ALPN protocols our sides offer (a client) or accept (a server), in order of
/// preference; none by default. Interned: each distinct list is kept once per process, so a
/// [`TlsProfile`] stays `Copy` and a key of the configuration cache (a suite names a few).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Alpn(&'static [&'static str]);

impl Alpn {
    /// The list of these protocol names.
    pub fn new<S: AsRef<str>>(protocols: &[S]) -> Self {
        static KNOWN: OnceLock<Mutex<Vec<&'static [&'static str]>>> = OnceLock::new();
        let wanted: Vec<&str> = protocols.iter().map(AsRef::as_ref).collect();
        if wanted.is_empty() {
            return Self::default();
        }
        let mut known = KNOWN
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = known.iter().find(|list| **list == wanted.as_slice()) {
            return Self(list);
        }
        let list: &'static [&'static str] = Box::leak(
            wanted
                .iter()
                .map(|name| &*Box::leak(Box::<str>::from(*name)))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        known.push(list);
        Self(list)
    }

    /// The protocol names, in order.
    pub fn protocols(self) -> &'static [&'static str] {
        self.0
    }

    fn rustls(self) -> Vec<Vec<u8>> {
        self.0.iter().map(|p| p.as_bytes().to_vec()).collect()
    }
}

/// The TLS set-up of a pairing: what each side presents, whether the server insists on a
/// client certificate, whether the client verifies the server's (it does unless told
/// otherwise by name), and the versions and ALPN protocols our sides offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TlsProfile {
    /// The server's certificate.
    pub server_cert: ServerCert,
    /// The client's certificate.
    pub client_cert: ClientCert,
    /// Whether the server rejects a client without a trusted certificate.
    pub require_client_cert: bool,
    /// Whether the client verifies the server's certificate (chain to the trusted CA, dates,
    /// name). `false` accepts any certificate, still checking the handshake's signatures:
    /// only a case that says `tls = { verify = false }` gets it, and the client's trace says
    /// so ([`crate::Event::Unverified`]).
    pub verify: bool,
    /// The versions our server and our client accept.
    pub versions: TlsVersions,
    /// The ALPN protocols our client offers and our server accepts.
    pub alpn: Alpn,
}

impl Default for TlsProfile {
    /// A valid server certificate, no client certificate, verification on, TLS 1.2 and 1.3,
    /// no ALPN.
    fn default() -> Self {
        Self {
            server_cert: ServerCert::default(),
            client_cert: ClientCert::default(),
            require_client_cert: false,
            verify: true,
            versions: TlsVersions::default(),
            alpn: Alpn::default(),
        }
    }
}

/// The generated CAs and leaves.
#[derive(Debug)]
pub struct TestPki {
    /// The CA clients and servers trust (certificate and key).
    pub ca: CertifiedKey,
    /// A CA nobody trusts.
    pub unknown_ca: CertifiedKey,
    server: Vec<(ServerCert, CertifiedKey)>,
    client_valid: CertifiedKey,
    client_unknown_ca: CertifiedKey,
}

impl TestPki {
    /// The process's PKI, generated on first call.
    pub fn get() -> Result<&'static TestPki, Error> {
        static PKI: OnceLock<Result<TestPki, String>> = OnceLock::new();
        PKI.get_or_init(|| TestPki::generate().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::Pki(e.clone()))
    }

    /// The server leaf of a kind.
    pub fn server(&self, kind: ServerCert) -> &CertifiedKey {
        self.server
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, c)| c)
            .unwrap_or(&self.server[0].1)
    }

    /// The valid server leaf (for `localhost` and 127.0.0.1).
    pub fn leaf(&self) -> &CertifiedKey {
        self.server(ServerCert::Valid)
    }

    /// The client certificate of a kind (`None` for [`ClientCert::None`]).
    pub fn client(&self, kind: ClientCert) -> Option<&CertifiedKey> {
        match kind {
            ClientCert::None => None,
            ClientCert::Valid => Some(&self.client_valid),
            ClientCert::UnknownCa => Some(&self.client_unknown_ca),
        }
    }

    /// Which of this PKI's certificates `der` is, in the words of
    /// [`PEER_CERTIFICATE_WORDS`]: `server-valid`, `server-expired`, ..., `client-valid`,
    /// `client-unknown-ca`; `other` for a certificate it did not make.
    pub fn name_of(&self, der: &[u8]) -> &'static str {
        let server = self
            .server
            .iter()
            .find(|(_, c)| c.cert_der.as_ref() == der)
            .map(|(kind, _)| kind.peer_word());
        let client = [ClientCert::Valid, ClientCert::UnknownCa]
            .into_iter()
            .find(|kind| {
                self.client(*kind)
                    .is_some_and(|c| c.cert_der.as_ref() == der)
            })
            .map(ClientCert::peer_word);
        server.or(client).unwrap_or("other")
    }

    fn generate() -> Result<TestPki, rcgen::Error> {
        let (ca, ca_key, ca_params) = authority("connectable test CA")?;
        let (unknown_ca, unknown_key, unknown_params) = authority("connectable unknown CA")?;
        let trusted = Issuer::new(ca_params, &ca_key);
        let untrusted = Issuer::new(unknown_params, &unknown_key);

        let mut server = Vec::new();
        for kind in ServerCert::ALL {
            let names = match kind {
                ServerCert::WrongHost => vec!["wrong.invalid".to_owned()],
                _ => vec![SERVER_NAME.to_owned()],
            };
            let mut params = CertificateParams::new(names)?;
            if kind != ServerCert::WrongHost {
                params
                    .subject_alt_names
                    .push(SanType::IpAddress([127, 0, 0, 1].into()));
            }
            params
                .distinguished_name
                .push(DnType::CommonName, SERVER_NAME);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            match kind {
                ServerCert::Expired => {
                    params.not_before = date_time_ymd(2000, 1, 1);
                    params.not_after = date_time_ymd(2001, 1, 1);
                }
                ServerCert::NotYetValid => {
                    params.not_before = date_time_ymd(4000, 1, 1);
                    params.not_after = date_time_ymd(4001, 1, 1);
                }
                _ => {}
            }
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
            let cert = match kind {
                ServerCert::UnknownCa => params.signed_by(&key, &untrusted)?,
                ServerCert::SelfSigned => params.self_signed(&key)?,
                _ => params.signed_by(&key, &trusted)?,
            };
            server.push((kind, certified(cert, &key)));
        }

        let client = |issuer: &Issuer<'_, &KeyPair>| -> Result<CertifiedKey, rcgen::Error> {
            let mut params = CertificateParams::new(vec!["client.localhost".to_owned()])?;
            params
                .distinguished_name
                .push(DnType::CommonName, "connectable test client");
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
            Ok(certified(params.signed_by(&key, issuer)?, &key))
        };
        Ok(TestPki {
            client_valid: client(&trusted)?,
            client_unknown_ca: client(&untrusted)?,
            ca: certified(ca, &ca_key),
            unknown_ca: certified(unknown_ca, &unknown_key),
            server,
        })
    }
}

fn authority(name: &str) -> Result<(rcgen::Certificate, KeyPair, CertificateParams), rcgen::Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key)?;
    Ok((cert, key, params))
}

fn certified(cert: rcgen::Certificate, key: &KeyPair) -> CertifiedKey {
    CertifiedKey {
        cert_der: cert.der().clone(),
        cert_pem: cert.pem(),
        key_der: key.serialize_der(),
        key_pem: key.serialize_pem(),
    }
}

/// The rustls configurations a TLS endpoint uses, built once per process per profile.
#[derive(Clone, Debug)]
pub struct TlsConfigs {
    /// The profile they were built for.
    pub profile: TlsProfile,
    /// The server's configuration.
    pub server: Arc<ServerConfig>,
    /// The client's configuration: trusts the test CA only.
    pub client: Arc<ClientConfig>,
    /// The name the client verifies.
    pub server_name: ServerName<'static>,
}

impl TlsConfigs {
    /// The default profile: a valid leaf, no client certificate.
    pub fn get() -> Result<TlsConfigs, Error> {
        Self::for_profile(TlsProfile::default())
    }

    /// The configurations of `profile`, built on first use.
    pub fn for_profile(profile: TlsProfile) -> Result<TlsConfigs, Error> {
        static BUILT: OnceLock<Mutex<HashMap<TlsProfile, TlsConfigs>>> = OnceLock::new();
        let built = BUILT.get_or_init(Default::default);
        if let Some(configs) = built
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&profile)
        {
            return Ok(configs.clone());
        }
        // Built outside the lock: two threads may race to build the same profile; both
        // results are equivalent and the first one stored wins.
        let configs = Self::build(profile)?;
        Ok(built
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(profile)
            .or_insert(configs)
            .clone())
    }

    /// Configurations for a client probe that talks to a server someone else runs: it
    /// verifies `server_name` against the CAs in `ca_pem` (PEM), or against the test CA when
    /// none is given, presenting the client certificate of `profile`.
    pub fn for_external_server(
        profile: TlsProfile,
        server_name: &str,
        ca_pem: Option<&[u8]>,
    ) -> Result<TlsConfigs, Error> {
        use rustls_pki_types::pem::PemObject as _;
        let base = Self::for_profile(profile)?;
        let pki = TestPki::get()?;
        let mut roots = RootCertStore::empty();
        match ca_pem {
            None => roots
                .add(pki.ca.cert_der.clone())
                .map_err(|e| Error::Pki(e.to_string()))?,
            Some(pem) => {
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| Error::Pki(format!("reading the CA: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| Error::Pki(format!("adding the CA: {e}")))?;
                }
                if roots.is_empty() {
                    return Err(Error::Pki("the CA file holds no certificate".into()));
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = |e: rustls::Error| Error::Pki(e.to_string());
        let client = client_builder(provider, Arc::new(roots), profile)?;
        let mut client = match pki.client(profile.client_cert) {
            None => client.with_no_client_auth(),
            Some(cert) => client
                .with_client_auth_cert(vec![cert.cert_der.clone()], cert.private_key())
                .map_err(tls)?,
        };
        client.alpn_protocols = profile.alpn.rustls();
        let server_name = ServerName::try_from(server_name)
            .map_err(|e| Error::Pki(format!("server name {server_name:?}: {e}")))?
            .to_owned();
        Ok(TlsConfigs {
            client: Arc::new(client),
            server_name,
            ..base
        })
    }

    fn build(profile: TlsProfile) -> Result<TlsConfigs, Error> {
        let pki = TestPki::get()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = |e: rustls::Error| Error::Pki(e.to_string());

        let mut roots = RootCertStore::empty();
        roots.add(pki.ca.cert_der.clone()).map_err(tls)?;
        let roots = Arc::new(roots);

        let client_verifier = if profile.require_client_cert {
            WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
                .build()
        } else if profile.client_cert != ClientCert::None {
            WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
                .allow_unauthenticated()
                .build()
        } else {
            Ok(WebPkiClientVerifier::no_client_auth())
        }
        .map_err(|e| Error::Pki(e.to_string()))?;
        let leaf = pki.server(profile.server_cert);
        let mut server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&profile.versions.rustls())
            .map_err(tls)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(vec![leaf.cert_der.clone()], leaf.private_key())
            .map_err(tls)?;
        server.alpn_protocols = profile.alpn.rustls();

        let client = client_builder(provider, Arc::clone(&roots), profile)?;
        let mut client = match pki.client(profile.client_cert) {
            None => client.with_no_client_auth(),
            Some(cert) => client
                .with_client_auth_cert(vec![cert.cert_der.clone()], cert.private_key())
                .map_err(tls)?,
        };
        client.alpn_protocols = profile.alpn.rustls();

        let server_name = ServerName::try_from(SERVER_NAME)
            .map_err(|e| Error::Pki(e.to_string()))?
            .to_owned();
        Ok(TlsConfigs {
            profile,
            server: Arc::new(server),
            client: Arc::new(client),
            server_name,
        })
    }
}

/// A client configuration builder with the profile's versions that trusts `roots`, or, when
/// the profile says `verify: false`, accepts any server certificate: the one place
/// verification can be switched off.
fn client_builder(
    provider: Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
    profile: TlsProfile,
) -> Result<ConfigBuilder<ClientConfig, WantsClientCert>, Error> {
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&profile.versions.rustls())
        .map_err(|e| Error::Pki(e.to_string()))?;
    let verify = profile.verify;
    Ok(if verify {
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert { provider }))
    })
}

/// A server certificate verifier that accepts any certificate for any name, for cases that
/// say `tls = { verify = false }` (a client that talks to a server with a certificate it
/// cannot check). The handshake's signatures are still checked, with ring's algorithms, so
/// the server must hold the key of the certificate it presents.
#[derive(Debug)]
struct AcceptAnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyServerCert {
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
