//! The local admin endpoint: HTTP with JSON bodies over a Unix socket beside the database, so
//! the admin commands work while `hookbot run` holds the database (sled lets one process open
//! it).
//!
//! The socket is `<database>.sock` (`data/db.sock`; the sandbox's `data/db-sandbox.sock`),
//! mode 0600, and answers only connections from the user that runs hookbot. It is never served on
//! the public listener.
//!
//! [`Backend`] is what the CLI talks to: the running process through the socket when it
//! answers, or the store opened directly when hookbot is stopped. Both run the same [`ops`], so
//! the commands print the same whichever served them.

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use axum::extract::{ConnectInfo, Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engine::{RunFilter, Store, StoreError, VariableScope};
use crate::events::Event;
use crate::keys;
use crate::queue::{Queue, RequeueError};
use crate::run::{Run, RunId, Step};

/// The admin socket of the database at `database`: beside it, named after it.
pub fn socket_path(database: &Path) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "db".into());
    name.push(".sock");
    database.with_file_name(name)
}

// --- what goes over the socket ---

/// Who is running: `GET /status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// As text: JSON numbers past 2^53 lose digits in many readers.
    pub bot_id: Option<String>,
    /// The base of webhook URLs (`http.public_url`, or the bound listener).
    pub base_url: String,
}

impl Status {
    pub fn bot_id(&self) -> Option<u64> {
        self.bot_id.as_deref().and_then(|id| id.parse().ok())
    }
}

/// `POST /key/rotate`: the new key, the only time it exists outside the caller.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewKey {
    pub key: String,
}

/// `GET /runs?event=&failed=&limit=`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunsQuery {
    pub event: Option<String>,
    #[serde(default)]
    pub failed: bool,
    pub limit: Option<usize>,
}

/// `GET /runs/{id}`: a run and its steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: Run,
    pub steps: Vec<Step>,
}

/// `POST /runs/{id}/retry`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Retried {
    pub run: Run,
    /// True when a running hookbot took it up at once.
    pub running: bool,
}

/// One accepted version of an event: `hookbot event show` lists them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevisionInfo {
    pub revision: u32,
    pub accepted_at_ms: u64,
}

/// `GET /events/{id}`: the event as served, and its revisions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventInfo {
    pub event: Event,
    pub revisions: Vec<RevisionInfo>,
}

/// A persistent variable in an export: the scope's ids as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedVariable {
    /// `global`, `server`, `user` or `channel`.
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    pub name: String,
    pub value: String,
}

impl ExportedVariable {
    fn new(scope: &VariableScope, name: String, value: String) -> Self {
        let mut v = ExportedVariable {
            scope: String::new(),
            server: None,
            user: None,
            channel: None,
            name,
            value,
        };
        v.scope = match scope {
            VariableScope::Global => "global",
            VariableScope::Server(server) => {
                v.server = Some(server.to_string());
                "server"
            }
            VariableScope::User { server, user } => {
                v.server = Some(server.to_string());
                v.user = Some(user.to_string());
                "user"
            }
            VariableScope::Channel(channel) => {
                v.channel = Some(channel.to_string());
                "channel"
            }
        }
        .to_owned();
        v
    }

    fn scope(&self) -> Result<VariableScope, String> {
        let id = |field: &Option<String>, what: &str| -> Result<u64, String> {
            field
                .as_deref()
                .ok_or_else(|| {
                    format!(
                        "variable {:?}: a {} scope needs \"{what}\"",
                        self.name, self.scope
                    )
                })?
                .parse()
                .map_err(|_| format!("variable {:?}: \"{what}\" is not an id", self.name))
        };
        Ok(match self.scope.as_str() {
            "global" => VariableScope::Global,
            "server" => VariableScope::Server(id(&self.server, "server")?),
            "user" => VariableScope::User {
                server: id(&self.server, "server")?,
                user: id(&self.user, "user")?,
            },
            "channel" => VariableScope::Channel(id(&self.channel, "channel")?),
            other => {
                return Err(format!(
                    "variable {:?}: unknown scope {other:?} (global, server, user or channel)",
                    self.name
                ))
            }
        })
    }
}

/// Settings in an export. The API key is only ever its hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportedSettings {
    /// Lower-case hex SHA-256 of the API key.
    pub api_key_hash: Option<String>,
    pub bot_id: Option<String>,
}

/// What the store contributes to an export: `GET /export`, and the body of `POST /import`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreExport {
    pub settings: ExportedSettings,
    pub variables: Vec<ExportedVariable>,
}

/// What `POST /import` restored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreImported {
    pub variables: usize,
    pub api_key_hash: bool,
    pub bot_id: bool,
}

/// An event file in an export: its name in the events folder and its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedEvent {
    pub file: String,
    pub text: String,
}

/// `hookbot export`'s document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    /// 1: this shape.
    pub version: u32,
    pub exported_at: String,
    pub settings: ExportedSettings,
    pub variables: Vec<ExportedVariable>,
    pub events: Vec<ExportedEvent>,
}

pub const EXPORT_VERSION: u32 = 1;

/// An answer that is not 2xx: `{"ok":false,"error":…,"message":…}`.
#[derive(Debug, Serialize, Deserialize)]
struct ErrorBody {
    ok: bool,
    error: String,
    message: String,
}

// --- the operations, whichever side runs them ---

pub mod ops {
    use super::*;

    pub use crate::run::unix_now_ms as now_ms;

    /// A new key; its hash replaces the old one on disk before the key is returned.
    pub async fn rotate_key(store: &Store) -> Result<NewKey, StoreError> {
        let key = keys::generate_key();
        store.set_api_key_hash(keys::hash_key(&key)).await?;
        Ok(NewKey { key })
    }

    pub async fn runs(store: &Store, query: &RunsQuery) -> Result<Vec<Run>, StoreError> {
        crate::queue::list(
            store,
            &RunFilter {
                event: query.event.clone(),
                failed: query.failed,
                limit: query.limit.unwrap_or(50),
            },
        )
        .await
    }

    pub async fn run(store: &Store, id: RunId) -> Result<Option<RunDetail>, StoreError> {
        let Some(run) = store.run(id).await? else {
            return Ok(None);
        };
        Ok(Some(RunDetail {
            run,
            steps: store.steps(id).await?,
        }))
    }

    pub async fn retry(store: &Store, id: RunId) -> Result<Run, RequeueError> {
        let run = crate::queue::requeue(store, id, now_ms()).await?;
        store.flush().await?;
        Ok(run)
    }

    pub async fn revisions(store: &Store, id: &str) -> Result<Vec<RevisionInfo>, StoreError> {
        Ok(store
            .event_revisions(id)
            .await?
            .into_iter()
            .map(|r| RevisionInfo {
                revision: r.revision,
                accepted_at_ms: r.accepted_at_ms,
            })
            .collect())
    }

    pub async fn export(store: &Store) -> Result<StoreExport, StoreError> {
        let variables = store
            .variables()
            .await?
            .into_iter()
            .map(|(scope, name, value)| ExportedVariable::new(&scope, name, value))
            .collect();
        Ok(StoreExport {
            settings: ExportedSettings {
                api_key_hash: store.api_key_hash().await?.map(hex),
                bot_id: store.bot_id().await?.map(|id| id.to_string()),
            },
            variables,
        })
    }

    /// Sets every variable (others are left alone), the key hash, and the bot id when the
    /// store has none; checks everything before writing anything.
    pub async fn import(store: &Store, data: &StoreExport) -> Result<StoreImported, ImportError> {
        let mut variables = Vec::new();
        for variable in &data.variables {
            let scope = variable.scope().map_err(ImportError::Invalid)?;
            variables.push((scope, &variable.name, &variable.value));
        }
        let hash = match &data.settings.api_key_hash {
            Some(text) => Some(unhex(text).ok_or_else(|| {
                ImportError::Invalid(format!(
                    "settings.api_key_hash {text:?} is not 64 hex digits"
                ))
            })?),
            None => None,
        };
        let bot_id = match &data.settings.bot_id {
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                ImportError::Invalid(format!("settings.bot_id {text:?} is not an id"))
            })?),
            None => None,
        };
        for (scope, name, value) in &variables {
            store.set_variable(scope, name, value).await?;
        }
        let bot_id_set = match bot_id {
            Some(id) if store.bot_id().await?.is_none() => {
                store.set_bot_id(id).await?;
                true
            }
            _ => false,
        };
        match hash {
            // Flushes everything above with it.
            Some(hash) => store.set_api_key_hash(hash).await?,
            None => store.flush().await?,
        }
        Ok(StoreImported {
            variables: variables.len(),
            api_key_hash: hash.is_some(),
            bot_id: bot_id_set,
        })
    }

    pub fn hex(bytes: [u8; 32]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn unhex(text: &str) -> Option<[u8; 32]> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(out)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

// --- the server, in the running process ---

/// What the admin routes need from the running process.
#[derive(Clone)]
pub struct AdminState {
    pub store: Store,
    pub queue: Queue,
    pub bot_id: u64,
    pub base_url: String,
}

/// A served admin socket; [`AdminServer::stop`] removes it.
pub struct AdminServer {
    path: PathBuf,
    inode: u64,
    task: JoinHandle<()>,
}

impl AdminServer {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the server (cancelled through the token given to [`serve`]) and removes the
    /// socket if it is still ours.
    pub async fn stop(self) {
        let _ = self.task.await;
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.inode) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Binds the socket at `path` with mode 0600 and serves the admin routes until `shutdown`.
///
/// The socket is bound inside a fresh 0700 folder, made 0600 there, and only then renamed into
/// place, so nobody else can connect to it in between. A stale socket left by a hookbot that did
/// not stop cleanly is removed (the caller holds the database, so no other hookbot serves it);
/// anything else at that path, or a folder others may write to, stops the endpoint from starting.
pub async fn serve(
    path: &Path,
    state: AdminState,
    shutdown: CancellationToken,
) -> std::io::Result<AdminServer> {
    use std::io::{Error, ErrorKind};
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let folder = std::fs::metadata(&parent)?;
    // World-writable without the sticky bit: anyone could swap the socket for their own.
    if folder.mode() & 0o002 != 0 && folder.mode() & 0o1000 == 0 {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "{} is writable by everyone; the admin socket needs a folder only its owner can write to",
                parent.display()
            ),
        ));
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let private = parent.join(format!(
        ".hookbot-admin-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let bound = (|| {
        let inner = private.join("s");
        let listener = tokio::net::UnixListener::bind(&inner)?;
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&inner, path)?;
        Ok::<_, Error>(listener)
    })();
    let _ = std::fs::remove_dir_all(&private);
    let listener = bound?;
    let meta = std::fs::symlink_metadata(path)?;
    let owner = meta.uid();
    let router = router(state).layer(axum::middleware::from_fn(
        move |ConnectInfo(peer): ConnectInfo<Peer>,
              request: axum::extract::Request,
              next: axum::middleware::Next| async move {
            if peer.uid != Some(owner) {
                return error(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "only the user that runs hookbot may use its admin socket".to_owned(),
                );
            }
            next.run(request).await
        },
    ));
    let task = tokio::spawn(async move {
        let result = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<Peer>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
        if let Err(error) = result {
            tracing::error!(%error, "the admin socket failed");
        }
    });
    Ok(AdminServer {
        path: path.to_owned(),
        inode: meta.ino(),
        task,
    })
}

/// Who connected: the peer's user id, from the kernel.
#[derive(Clone, Debug)]
struct Peer {
    uid: Option<u32>,
}

impl
    axum::extract::connect_info::Connected<
        axum::serve::IncomingStream<'_, tokio::net::UnixListener>,
    > for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::UnixListener>) -> Self {
        Peer {
            uid: stream.io().peer_cred().ok().map(|c| c.uid()),
        }
    }
}

fn router(state: AdminState) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/key/rotate", post(rotate_key))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(run))
        .route("/runs/{id}/retry", post(retry))
        .route("/events/{id}", get(event))
        .route("/export", get(export))
        .route("/import", post(import))
        .with_state(state)
}

fn error(status: StatusCode, error: &str, message: String) -> Response {
    (
        status,
        Json(ErrorBody {
            ok: false,
            error: error.to_owned(),
            message,
        }),
    )
        .into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

fn bad_run_id(text: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        format!("{text:?} is not a run id"),
    )
}

async fn status(State(state): State<AdminState>) -> Json<Status> {
    Json(Status {
        bot_id: Some(state.bot_id.to_string()),
        base_url: state.base_url.clone(),
    })
}

async fn rotate_key(State(state): State<AdminState>) -> Response {
    match ops::rotate_key(&state.store).await {
        Ok(key) => {
            tracing::info!("the API key was rotated through the admin socket");
            Json(key).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn runs(State(state): State<AdminState>, Query(query): Query<RunsQuery>) -> Response {
    match ops::runs(&state.store, &query).await {
        Ok(runs) => Json(runs).into_response(),
        Err(e) => internal(e),
    }
}

async fn run(State(state): State<AdminState>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(id) = RunId::parse(&id) else {
        return bad_run_id(&id);
    };
    match ops::run(&state.store, id).await {
        Ok(Some(detail)) => Json(detail).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no run {id} in the database"),
        ),
        Err(e) => internal(e),
    }
}

async fn retry(State(state): State<AdminState>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(id) = RunId::parse(&id) else {
        return bad_run_id(&id);
    };
    match ops::retry(&state.store, id).await {
        Ok(run) => {
            state.queue.wake();
            tracing::info!(run = %id, "run queued again through the admin socket");
            Json(Retried { run, running: true }).into_response()
        }
        Err(e @ RequeueError::NoRun(_)) => error(StatusCode::NOT_FOUND, "not_found", e.to_string()),
        Err(e @ RequeueError::NotFailed(..)) => {
            error(StatusCode::CONFLICT, "conflict", e.to_string())
        }
        Err(e) => internal(e),
    }
}

async fn event(State(state): State<AdminState>, UrlPath(id): UrlPath<String>) -> Response {
    let event = match state.store.event(&id).await {
        Ok(Some(event)) => event,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no event has the id {id:?}"),
            )
        }
        Err(e) => return internal(e),
    };
    match ops::revisions(&state.store, &id).await {
        Ok(revisions) => Json(EventInfo {
            event: (*event).clone(),
            revisions,
        })
        .into_response(),
        Err(e) => internal(e),
    }
}

async fn export(State(state): State<AdminState>) -> Response {
    match ops::export(&state.store).await {
        Ok(data) => Json(data).into_response(),
        Err(e) => internal(e),
    }
}

async fn import(State(state): State<AdminState>, body: axum::body::Bytes) -> Response {
    let data: StoreExport = match serde_json::from_slice(&body) {
        Ok(data) => data,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
    };
    match ops::import(&state.store, &data).await {
        Ok(done) => Json(done).into_response(),
        Err(ImportError::Invalid(message)) => {
            error(StatusCode::BAD_REQUEST, "bad_request", message)
        }
        Err(e) => internal(e),
    }
}

// --- the client side, in the CLI ---

/// Where an admin command is served: the running hookbot, or the store opened here.
pub enum Backend {
    Remote(Client),
    Local(Store),
}

impl Backend {
    /// The running hookbot when its socket answers; otherwise the database, opened here.
    pub async fn connect(config: &Config) -> anyhow::Result<Backend> {
        if let Some(client) = Client::connect(&socket_path(&config.storage.path)).await? {
            return Ok(Backend::Remote(client));
        }
        match Store::open(&config.storage.path) {
            Ok(store) => Ok(Backend::Local(store)),
            Err(StoreError::Locked(path)) => Err(anyhow::anyhow!(
                "hookbot is running and holds the database at {}, but its admin socket {} does not answer; is that hookbot older than this one? stop it and run this again",
                path.display(),
                socket_path(&config.storage.path).display()
            )),
            Err(other) => Err(other.into()),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, Backend::Remote(_))
    }

    pub async fn rotate_key(&self) -> anyhow::Result<NewKey> {
        match self {
            Backend::Remote(c) => c.post("/key/rotate", &()).await,
            Backend::Local(store) => Ok(ops::rotate_key(store).await?),
        }
    }

    pub async fn runs(&self, query: &RunsQuery) -> anyhow::Result<Vec<Run>> {
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
            Backend::Local(store) => Ok(ops::runs(store, query).await?),
        }
    }

    pub async fn run(&self, id: RunId) -> anyhow::Result<RunDetail> {
        match self {
            Backend::Remote(c) => c.get(&format!("/runs/{id}")).await,
            Backend::Local(store) => ops::run(store, id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no run {id} in the database")),
        }
    }

    pub async fn retry(&self, id: RunId) -> anyhow::Result<Retried> {
        match self {
            Backend::Remote(c) => c.post(&format!("/runs/{id}/retry"), &()).await,
            Backend::Local(store) => Ok(Retried {
                run: ops::retry(store, id).await?,
                running: false,
            }),
        }
    }

    pub async fn export(&self) -> anyhow::Result<StoreExport> {
        match self {
            Backend::Remote(c) => c.get("/export").await,
            Backend::Local(store) => Ok(ops::export(store).await?),
        }
    }

    pub async fn import(&self, data: &StoreExport) -> anyhow::Result<StoreImported> {
        match self {
            Backend::Remote(c) => c.post("/import", data).await,
            Backend::Local(store) => Ok(ops::import(store, data).await?),
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
    pub async fn connect(path: &Path) -> anyhow::Result<Option<Client>> {
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
            Err(e) => Err(anyhow::anyhow!(e).context(format!(
                "cannot reach hookbot's admin socket {}",
                path.display()
            ))),
        }
    }

    /// `GET /status`, or `None` when nothing listens.
    pub async fn status_at(path: &Path) -> Option<Status> {
        let client = Client::connect(path).await.ok()??;
        client.get("/status").await.ok()
    }

    pub async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.request(axum::http::Method::GET, path, None).await
    }

    pub async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        let body = serde_json::to_vec(body)?;
        self.request(axum::http::Method::POST, path, Some(body))
            .await
    }

    async fn request<T: serde::de::DeserializeOwned>(
        &self,
        method: axum::http::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<T> {
        use anyhow::Context;
        use http_body_util::BodyExt;
        let exchange = async {
            let stream = tokio::net::UnixStream::connect(&self.path).await?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            let connection = tokio::spawn(connection);
            let request = axum::http::Request::builder()
                .method(method)
                .uri(path)
                .header(axum::http::header::HOST, "hookbot")
                .header(axum::http::header::CONTENT_TYPE, "application/json")
                .body(http_body_util::Full::new(axum::body::Bytes::from(
                    body.unwrap_or_default(),
                )))?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            connection.abort();
            Ok::<_, anyhow::Error>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow::anyhow!("hookbot's admin socket did not answer in time"))?
            .with_context(|| {
                format!("talking to hookbot's admin socket {}", self.path.display())
            })?;
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            anyhow::bail!("{message}");
        }
        serde_json::from_slice(&bytes).context("hookbot's admin socket answered unreadable JSON")
    }
}
