//! The CLI's side of the admin socket: HTTP/1 with hyper over the Unix socket, and
//! [`Backend`], which serves an admin command from the running hookbot when its socket answers
//! or from the database opened here when hookbot is stopped.

use std::path::{Path, PathBuf};

use axum::http::{header, Method, Request};
use http_body_util::{BodyExt, Full};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::AdminError;
use super::ops;
use super::protocol::{
    socket_path, ErrorBody, NewKey, Retried, RunDetail, RunsQuery, Status, StoreExport,
    StoreImported,
};
use crate::config::{Config, StoreLocation};
use crate::engine::{Store, StoreError};
use crate::run::{Run, RunId};

/// Where an admin command is served: the running hookbot, or the store opened here.
pub enum Backend {
    Remote(Client),
    Local(Store),
}

impl Backend {
    /// The running hookbot when its socket answers; otherwise the database, opened here. A
    /// PostgreSQL store is always opened here: every instance shares it, and it serves this
    /// command whether or not one runs on this machine.
    pub async fn connect(config: &Config) -> Result<Backend, AdminError> {
        if let location @ StoreLocation::Postgres(_) = config.store_location() {
            return Ok(Backend::Local(Store::open_at(&location).await?));
        }
        let socket = socket_path(&config.database_path());
        if let Some(client) = Client::connect(&socket).await? {
            return Ok(Backend::Remote(client));
        }
        match Store::open(&config.database_path()) {
            Ok(store) => Ok(Backend::Local(store)),
            Err(StoreError::Locked(database)) => Err(AdminError::NotAnswering { database, socket }),
            Err(other) => Err(other.into()),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, Backend::Remote(_))
    }

    pub async fn rotate_key(&self) -> Result<NewKey, AdminError> {
        match self {
            Backend::Remote(c) => c.post("/key/rotate", &()).await,
            Backend::Local(store) => ops::rotate_key(store).await,
        }
    }

    pub async fn new_console_key(&self) -> Result<NewKey, AdminError> {
        match self {
            Backend::Remote(c) => c.post("/console/key", &()).await,
            Backend::Local(store) => ops::new_console_key(store).await,
        }
    }

    pub async fn runs(&self, query: &RunsQuery) -> Result<Vec<Run>, AdminError> {
        match self {
            Backend::Remote(c) => {
                let mut path = format!("/runs?failed={}", query.failed);
                if let Some(limit) = query.limit {
                    path.push_str(&format!("&limit={limit}"));
                }
                if let Some(event) = &query.event {
                    path.push_str("&event=");
                    path.extend(form_urlencoded::byte_serialize(event.as_bytes()));
                }
                c.get(&path).await
            }
            Backend::Local(store) => ops::runs(store, query).await,
        }
    }

    pub async fn run(&self, id: RunId) -> Result<RunDetail, AdminError> {
        match self {
            Backend::Remote(c) => c.get(&format!("/runs/{id}")).await,
            Backend::Local(store) => ops::run(store, id).await,
        }
    }

    pub async fn retry(&self, id: RunId) -> Result<Retried, AdminError> {
        match self {
            Backend::Remote(c) => c.post(&format!("/runs/{id}/retry"), &()).await,
            Backend::Local(store) => Ok(Retried {
                run: ops::retry(store, id).await?,
                running: false,
            }),
        }
    }

    pub async fn export(&self) -> Result<StoreExport, AdminError> {
        match self {
            Backend::Remote(c) => c.get("/export").await,
            Backend::Local(store) => ops::export(store).await,
        }
    }

    pub async fn import(&self, data: &StoreExport) -> Result<StoreImported, AdminError> {
        match self {
            Backend::Remote(c) => c.post("/import", data).await,
            Backend::Local(store) => ops::import(store, data).await,
        }
    }
}

/// HTTP/1 over the admin socket, one connection per request.
pub struct Client {
    path: PathBuf,
}

/// How long an admin request may take.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Client {
    /// `None` when nothing listens at `path`: no file, or a stale one (connection refused).
    pub async fn connect(path: &Path) -> Result<Option<Client>, AdminError> {
        match tokio::net::UnixStream::connect(path).await {
            Ok(_) => Ok(Some(Client {
                path: path.to_owned(),
            })),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(source) => Err(AdminError::Unreachable {
                socket: path.to_owned(),
                source,
            }),
        }
    }

    /// `GET /status`, or `None` when nothing listens.
    pub async fn status_at(path: &Path) -> Option<Status> {
        let client = Client::connect(path).await.ok()??;
        client.get("/status").await.ok()
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, AdminError> {
        self.request(Method::GET, path, Vec::new()).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, AdminError> {
        let body = serde_json::to_vec(body).map_err(|e| self.exchange_failed(e))?;
        self.request(Method::POST, path, body).await
    }

    async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<T, AdminError> {
        let exchange = async {
            let stream = tokio::net::UnixStream::connect(&self.path).await?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            let connection = tokio::spawn(connection);
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header(header::HOST, "hookbot")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(axum::body::Bytes::from(body)))?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            connection.abort();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| AdminError::Timeout)?
            .map_err(|e| self.exchange_failed(e))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            return Err(AdminError::Refused(message));
        }
        serde_json::from_slice(&bytes).map_err(AdminError::Unreadable)
    }

    fn exchange_failed(
        &self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> AdminError {
        AdminError::Exchange {
            socket: self.path.clone(),
            source: source.into(),
        }
    }
}
