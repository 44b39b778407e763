//! TLS over any byte stream the tokio reactors drive, through tokio-rustls: the handshake a
//! side runs when its connection asks for one, and what the conversation needs of a TLS
//! stream (a reset of the stream under it, a FIN without close_notify).

use tokio_rustls::{TlsAcceptor, TlsConnector, TlsStream};

use crate::Connection;
use crate::pki::TlsConfigs;

use super::Role;
use super::conversation::{Socket, converse};
use super::stream::ByteStream;

/// Runs the TLS handshake on `stream` as `role`, then the conversation over TLS; a failed
/// handshake ends the side with the reason its error means.
pub(super) async fn handshake_then_converse<S: ByteStream>(
    tls: &TlsConfigs,
    role: Role,
    stream: S,
    connection: &mut Connection,
) {
    let handshake: std::io::Result<TlsStream<S>> = match role {
        Role::Server => TlsAcceptor::from(tls.server.clone())
            .accept(stream)
            .await
            .map(Into::into),
        Role::Client => TlsConnector::from(tls.client.clone())
            .connect(tls.server_name.clone(), stream)
            .await
            .map(Into::into),
    };
    match handshake {
        Ok(stream) => {
            let (_, session) = stream.get_ref();
            if let Some(certificate) = session.peer_certificates().and_then(<[_]>::first) {
                connection.peer_certificate(certificate);
            }
            connection.handshake_completed();
            converse(stream, connection).await;
        }
        Err(e) => connection.failed(&e),
    }
}

impl<S: Socket> Socket for TlsStream<S> {
    type Raw = S;

    fn reset(self) {
        match self {
            Self::Client(stream) => stream.into_inner().0.reset(),
            Self::Server(stream) => stream.into_inner().0.reset(),
        }
    }

    fn raw(&mut self) -> &mut S {
        self.get_mut().0
    }
}
