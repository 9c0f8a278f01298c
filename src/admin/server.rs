//! The admin socket inside the running hookbot: bound with mode 0600 in a folder only its owner
//! can write to, answering only the user that runs hookbot, one handler per request of
//! [`protocol`](super::protocol).

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use axum::extract::{ConnectInfo, Path as UrlPath, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::error::AdminError;
use super::ops;
use super::protocol::{
    EventInfo, NewKey, Retried, RunDetail, RunsQuery, Status, StoreExport, StoreImported,
};
use crate::engine::Store;
use crate::problem::quoted;
use crate::queue::Queue;
use crate::run::{Run, RunId};

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
                return AdminError::Forbidden.into_response();
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
        .route("/console/key", post(new_console_key))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(run))
        .route("/runs/{id}/retry", post(retry))
        .route("/events/{id}", get(event))
        .route("/export", get(export))
        .route("/import", post(import))
        .with_state(state)
}

fn parse_run_id(text: &str) -> Result<RunId, AdminError> {
    RunId::parse(text)
        .ok_or_else(|| AdminError::BadRequest(format!("{} is not a run id", quoted(text))))
}

async fn status(State(state): State<AdminState>) -> Json<Status> {
    Json(Status {
        bot_id: Some(state.bot_id.to_string()),
        base_url: state.base_url.clone(),
    })
}

async fn rotate_key(State(state): State<AdminState>) -> Result<Json<NewKey>, AdminError> {
    let key = ops::rotate_key(&state.store).await?;
    tracing::info!("the API key was rotated through the admin socket");
    Ok(Json(key))
}

async fn new_console_key(State(state): State<AdminState>) -> Result<Json<NewKey>, AdminError> {
    let key = ops::new_console_key(&state.store).await?;
    tracing::info!("a new console key was made through the admin socket");
    Ok(Json(key))
}

async fn runs(
    State(state): State<AdminState>,
    Query(query): Query<RunsQuery>,
) -> Result<Json<Vec<Run>>, AdminError> {
    Ok(Json(ops::runs(&state.store, &query).await?))
}

async fn run(
    State(state): State<AdminState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<RunDetail>, AdminError> {
    let id = parse_run_id(&id)?;
    Ok(Json(ops::run(&state.store, id).await?))
}

async fn retry(
    State(state): State<AdminState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Retried>, AdminError> {
    let id = parse_run_id(&id)?;
    let run = ops::retry(&state.store, id).await?;
    state.queue.wake();
    tracing::info!(run = %id, "run queued again through the admin socket");
    Ok(Json(Retried { run, running: true }))
}

async fn event(
    State(state): State<AdminState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<EventInfo>, AdminError> {
    let event = state
        .store
        .event(&id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no event has the id {}", quoted(&id))))?;
    Ok(Json(EventInfo {
        event: (*event).clone(),
        revisions: ops::revisions(&state.store, &id).await?,
    }))
}

async fn export(State(state): State<AdminState>) -> Result<Json<StoreExport>, AdminError> {
    Ok(Json(ops::export(&state.store).await?))
}

/// The body is read by hand, not with axum's `Json`, so a bad document is answered in the
/// admin error body with serde's own words.
async fn import(
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Json<StoreImported>, AdminError> {
    let data: StoreExport =
        serde_json::from_slice(&body).map_err(|e| AdminError::BadRequest(e.to_string()))?;
    let imported = ops::import(&state.store, &data).await?;
    if imported.queued > 0 {
        state.queue.wake();
    }
    Ok(Json(imported))
}
