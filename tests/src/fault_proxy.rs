//! A TCP proxy on loopback that a test puts between the server and one of its backing
//! services, and then degrades: added latency, cut connections, or a half-open network where
//! connections stay open and nothing passes. The service itself is never touched, so the
//! machine's shared Postgres and Redis can sit behind it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the network between the server and the service does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes pass.
    None,
    /// Every chunk of bytes is held this long, in each direction.
    Latency(Duration),
    /// The service is gone: open connections are closed, new ones closed as soon as they are
    /// accepted.
    Cut,
    /// A half-open network (a dead host, a firewall dropping packets): open connections stay
    /// open but nothing passes, ever again; new ones are accepted and never answered.
    Blackhole,
}

/// A running proxy; dropping it stops it and closes every connection through it.
pub struct FaultProxy {
    port: u16,
    fault: watch::Sender<Fault>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on a free loopback port to `target` (`host:port`), letting bytes pass.
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (fault, watching) = watch::channel(Fault::None);
        let target = target.to_owned();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let _ = client.set_nodelay(true);
                tokio::spawn(relay(client, target.clone(), watching.clone()));
            }
        });
        Self {
            port,
            fault,
            accept,
        }
    }

    /// Its port on 127.0.0.1, to put in the server's URL instead of the service's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Changes what the network does, for open and new connections.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Closing the channel ends every relay.
    }
}

/// One client connection, relayed to a fresh connection to the service.
async fn relay(client: TcpStream, target: String, mut fault: watch::Receiver<Fault>) {
    let now = *fault.borrow_and_update();
    match now {
        Fault::Cut => return,
        Fault::Blackhole => {
            // Hold the socket without reading it.
            let _held = client;
            frozen(fault).await;
            return;
        }
        Fault::None | Fault::Latency(_) => {}
    }
    let Ok(service) = TcpStream::connect(&target).await else {
        return;
    };
    let _ = service.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (service_read, service_write) = service.into_split();
    // Whichever direction ends first closes both connections.
    tokio::select! {
        () = pump(client_read, service_write, fault.clone()) => {}
        () = pump(service_read, client_write, fault) => {}
    }
}

/// Copies one direction, applying the fault of the moment to every chunk.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut fault: watch::Receiver<Fault>) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            changed = fault.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = *fault.borrow_and_update();
                match now {
                    Fault::Cut => return,
                    Fault::Blackhole => {
                        frozen(fault).await;
                        return;
                    }
                    Fault::None | Fault::Latency(_) => continue,
                }
            }
        };
        let Ok(n @ 1..) = read else {
            return;
        };
        let now = *fault.borrow();
        match now {
            Fault::None => {}
            Fault::Latency(delay) => tokio::time::sleep(delay).await,
            Fault::Cut => return,
            Fault::Blackhole => {
                frozen(fault).await;
                return;
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// A connection through which nothing passes any more: it stays open until the proxy cuts
/// its connections or stops.
async fn frozen(mut fault: watch::Receiver<Fault>) {
    loop {
        if fault.changed().await.is_err() || *fault.borrow_and_update() == Fault::Cut {
            return;
        }
    }
}
