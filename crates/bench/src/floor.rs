//! The floor: the same exchanges written directly with tokio and tokio-rustls, with no framework
//! in between. What the framework costs is measured against these.
//!
//! Each function is what a person would write by hand for that exchange, no more: no trace, no
//! timeout, no contract to enforce. They run on a runtime the caller built once (a hand-written
//! program has one runtime, not one per connection), read into a buffer on the stack, and use
//! TLS configurations built once per process from the framework's own test PKI, so both sides
//! of a comparison do the same handshake with the same certificates.

use std::io::{self, IoSlice};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use connectable::pki::{SERVER_NAME, TestPki};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::Error;

/// What a bulk reader reads into; as large as the framework's, so bulk reads are alike.
const READ_BUFFER: usize = 64 * 1024;

/// What the one-byte exchange reads into: on the stack, and small, since a future holding a
/// large array is copied whole each time it is moved.
const SMALL_BUFFER: usize = 1024;

/// Hand-built rustls configurations for the floor: the valid leaf of the test PKI, no client
/// certificate, the ring provider, as `TlsConfigs::get()` builds them for the framework.
#[derive(Clone)]
pub struct FloorTls {
    acceptor: TlsAcceptor,
    connector: TlsConnector,
    server_name: ServerName<'static>,
    /// The same configurations, for the std-threads floor (rustls by hand).
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

impl FloorTls {
    /// Builds both configurations from [`TestPki`] (generated on first use in the process).
    pub fn new() -> Result<Self, Error> {
        let pki = TestPki::get()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca.cert_der.clone())?;
        let leaf = pki.leaf();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone()));
        let server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.cert_der.clone()], key)?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let server_name = ServerName::try_from(SERVER_NAME)
            .map_err(|e| Error::Unexpected(format!("server name: {e}")))?
            .to_owned();
        let (server, client) = (Arc::new(server), Arc::new(client));
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::clone(&server)),
            connector: TlsConnector::from(Arc::clone(&client)),
            server_name,
            server,
            client,
        })
    }
}

impl std::fmt::Debug for FloorTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloorTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// A listener on an ephemeral loopback port, and its address.
async fn listen() -> io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

/// The one-byte exchange over plain TCP: bind loopback, connect, the client writes one byte,
/// the server reads it and closes, both see EOF.
pub async fn one_byte_tcp() -> Result<(), Error> {
    let (listener, address) = listen().await?;
    let server = async {
        let (stream, _) = listener.accept().await?;
        drop(listener);
        serve_one_byte(stream).await
    };
    let client = async { send_one_byte(TcpStream::connect(address).await?).await };
    let (server, client) = tokio::join!(server, client);
    server.and(client)
}

/// The one-byte exchange over TLS: as [`one_byte_tcp`], with the handshake first and
/// close_notify before each FIN.
pub async fn one_byte_tls(tls: &FloorTls) -> Result<(), Error> {
    let (listener, address) = listen().await?;
    let server = async {
        let (stream, _) = listener.accept().await?;
        drop(listener);
        serve_one_byte(tls.acceptor.accept(stream).await?).await
    };
    let client = async {
        let stream = TcpStream::connect(address).await?;
        let stream = tls
            .connector
            .connect(tls.server_name.clone(), stream)
            .await?;
        send_one_byte(stream).await
    };
    let (server, client) = tokio::join!(server, client);
    server.and(client)
}

/// The one-byte exchange as a person writes it for a multi-thread runtime: connected where it
/// is called, then each side a task of its own (`tokio::spawn`), so the two run on different
/// workers, as on `tokio-mt`. Over TLS when `tls` is given. The floor of `tokio-mt`.
pub async fn one_byte_tasks(tls: Option<&FloorTls>) -> Result<(), Error> {
    let (listener, address) = listen().await?;
    let (accepted, connected) = tokio::join!(listener.accept(), TcpStream::connect(address));
    drop(listener);
    let ((server_stream, _), client_stream) = (accepted?, connected?);
    let (server_tls, client_tls) = (tls.cloned(), tls.cloned());
    let server = tokio::spawn(async move {
        match server_tls {
            Some(tls) => serve_one_byte(tls.acceptor.accept(server_stream).await?).await,
            None => serve_one_byte(server_stream).await,
        }
    });
    let client = tokio::spawn(async move {
        match client_tls {
            Some(tls) => {
                let name = tls.server_name.clone();
                send_one_byte(tls.connector.connect(name, client_stream).await?).await
            }
            None => send_one_byte(client_stream).await,
        }
    });
    let (server, client) = tokio::join!(server, client);
    let joined = |e: tokio::task::JoinError| Error::Unexpected(format!("a side's task: {e}"));
    server.map_err(joined)?.and(client.map_err(joined)?)
}

/// The one-byte exchange as a person writes it with std's blocking sockets and threads: the
/// server on a thread spawned for the connection, the client on the caller's, rustls driven by
/// hand (`StreamOwned`) over TLS. The floor of `threads`.
pub fn one_byte_threads(tls: Option<&FloorTls>) -> Result<(), Error> {
    use std::io::{Read as _, Write as _};
    use std::net::{Shutdown, TcpListener as StdListener, TcpStream as StdStream};

    /// Reads until EOF (a TLS stream: until close_notify).
    fn drain(stream: &mut impl std::io::Read) -> io::Result<()> {
        let mut buffer = [0u8; SMALL_BUFFER];
        while stream.read(&mut buffer)? > 0 {}
        Ok(())
    }

    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let address = listener.local_addr()?;
    let server_config = tls.map(|tls| Arc::clone(&tls.server));
    let server = std::thread::spawn(move || -> Result<(), Error> {
        let (socket, _) = listener.accept()?;
        drop(listener);
        let mut buffer = [0u8; SMALL_BUFFER];
        match server_config {
            Some(config) => {
                let connection = rustls::ServerConnection::new(config)?;
                let mut stream = rustls::StreamOwned::new(connection, socket);
                let n = stream.read(&mut buffer)?;
                if n != 1 {
                    return Err(Error::Unexpected(format!(
                        "the server read {n} bytes, not 1"
                    )));
                }
                stream.conn.send_close_notify();
                stream.flush()?;
                stream.sock.shutdown(Shutdown::Write)?;
                drain(&mut stream)?;
            }
            None => {
                let mut socket = socket;
                let n = socket.read(&mut buffer)?;
                if n != 1 {
                    return Err(Error::Unexpected(format!(
                        "the server read {n} bytes, not 1"
                    )));
                }
                socket.shutdown(Shutdown::Write)?;
                drain(&mut socket)?;
            }
        }
        Ok(())
    });
    let socket = StdStream::connect(address)?;
    let client = match tls {
        Some(tls) => {
            let connection =
                rustls::ClientConnection::new(Arc::clone(&tls.client), tls.server_name.clone())?;
            let mut stream = rustls::StreamOwned::new(connection, socket);
            stream.write_all(b"x")?;
            stream.flush()?;
            drain(&mut stream)?;
            stream.conn.send_close_notify();
            stream.flush()?;
            stream.sock.shutdown(Shutdown::Write)
        }
        None => {
            let mut socket = socket;
            socket.write_all(b"x")?;
            drain(&mut socket)?;
            socket.shutdown(Shutdown::Write)
        }
    };
    let server = server
        .join()
        .map_err(|_| Error::Unexpected("the server thread panicked".to_owned()))?;
    server.and(client.map_err(Error::from))
}

/// The server of the one-byte exchange: reads the byte, closes, reads to the client's EOF.
async fn serve_one_byte<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> Result<(), Error> {
    let mut buffer = [0u8; SMALL_BUFFER];
    let n = stream.read(&mut buffer).await?;
    if n != 1 {
        return Err(Error::Unexpected(format!(
            "the server read {n} bytes, not 1"
        )));
    }
    stream.shutdown().await?;
    read_to_eof(&mut stream, &mut buffer).await?;
    Ok(())
}

/// The client of the one-byte exchange: writes the byte, reads to the server's EOF, closes.
async fn send_one_byte<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> Result<(), Error> {
    stream.write_all(b"x").await?;
    let mut buffer = [0u8; SMALL_BUFFER];
    read_to_eof(&mut stream, &mut buffer).await?;
    stream.shutdown().await?;
    Ok(())
}

/// Reads until EOF; returns how many bytes came.
async fn read_to_eof<S: AsyncRead + Unpin>(stream: &mut S, buffer: &mut [u8]) -> io::Result<u64> {
    let mut total = 0;
    loop {
        match stream.read(buffer).await? {
            0 => return Ok(total),
            n => total += n as u64,
        }
    }
}

/// How many copies of its chunk a bulk writer hands to one vectored write: as the framework's
/// reactors do with the chunks of a write buffer.
const WRITE_SLICES: usize = 64;

/// What a bulk writer sends: `total` bytes, `chunk` over and over (the last time cut short).
///
/// Both sides of the comparison send from one chunk in cache, the framework's probe
/// (`large-buffer-writer`) as shared 64 KiB slices of a static chunk: a floor that read its
/// bytes from a 60 MiB buffer would pay for 60 MiB of memory traffic the framework does not
/// (over tcp this floor moves 4,200-4,500 MB/s where the 60 MiB one moved 3,300-3,800).
#[derive(Clone, Copy, Debug)]
pub struct Payload<'a> {
    /// The bytes repeated.
    pub chunk: &'a [u8],
    /// How many bytes in all.
    pub total: u64,
}

/// Bulk over plain TCP: the server writes `payload` and closes, the client counts to EOF and
/// closes. Returns the bytes the client counted.
pub async fn bulk_tcp(payload: Payload<'_>) -> Result<u64, Error> {
    let (listener, address) = listen().await?;
    let server = async {
        let (stream, _) = listener.accept().await?;
        drop(listener);
        write_all_and_close(stream, payload).await
    };
    let client = async { count_to_eof(TcpStream::connect(address).await?).await };
    let (server, client) = tokio::join!(server, client);
    server?;
    client
}

/// Bulk over TLS, as [`bulk_tcp`].
pub async fn bulk_tls(tls: &FloorTls, payload: Payload<'_>) -> Result<u64, Error> {
    let (listener, address) = listen().await?;
    let server = async {
        let (stream, _) = listener.accept().await?;
        drop(listener);
        write_all_and_close(tls.acceptor.accept(stream).await?, payload).await
    };
    let client = async {
        let stream = TcpStream::connect(address).await?;
        let stream = tls
            .connector
            .connect(tls.server_name.clone(), stream)
            .await?;
        count_to_eof(stream).await
    };
    let (server, client) = tokio::join!(server, client);
    server?;
    client
}

/// Writes everything, closes, and reads to the peer's EOF.
async fn write_all_and_close<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    payload: Payload<'_>,
) -> Result<(), Error> {
    let chunk = payload.chunk.len() as u64;
    let mut sent = 0;
    while sent < payload.total {
        // The slices from `sent` on: the rest of the current chunk, then whole ones.
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
        let mut at = sent;
        let mut filled = 0;
        while filled < WRITE_SLICES && at < payload.total {
            let from = (at % chunk) as usize;
            let to = (payload.chunk.len() as u64).min(from as u64 + payload.total - at) as usize;
            slices[filled] = IoSlice::new(&payload.chunk[from..to]);
            at += (to - from) as u64;
            filled += 1;
        }
        let n = stream.write_vectored(&slices[..filled]).await?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero).into());
        }
        sent += n as u64;
    }
    stream.shutdown().await?;
    let mut buffer = [0u8; SMALL_BUFFER];
    read_to_eof(&mut stream, &mut buffer).await?;
    Ok(())
}

/// Counts to the peer's EOF, then closes.
async fn count_to_eof<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> Result<u64, Error> {
    let mut buffer = vec![0u8; READ_BUFFER];
    let total = read_to_eof(&mut stream, &mut buffer).await?;
    stream.shutdown().await?;
    Ok(total)
}
