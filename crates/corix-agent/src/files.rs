//! Files inside the computer: list, upload (streamed to a temporary file, then renamed into
//! place), download (streamed), delete. Paths must be absolute.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use corix_proto::actions::{ActionResult, FileEntry, FileList, FileType, MAX_DOWNLOAD_BYTES, MAX_UPLOAD_BYTES};
use corix_proto::http::Query;
use corix_proto::{ApiError, ErrorCode};
use futures_util::StreamExt as _;
use serde::Deserialize;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt as _;

#[derive(Debug, Deserialize)]
pub struct PathQuery {
    path: String,
}

#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    path: String,
    #[serde(default)]
    recursive: bool,
}

fn absolute(path: &str) -> Result<PathBuf, ApiError> {
    if !path.starts_with('/') {
        return Err(ApiError::bad_request(format!("path: must be absolute (start with /), got \"{path}\"")));
    }
    Ok(PathBuf::from(path))
}

fn io_error(path: &Path, err: std::io::Error) -> ApiError {
    let path = path.display();
    match err.kind() {
        ErrorKind::NotFound => ApiError::not_found(format!("no such file or directory: {path}")),
        ErrorKind::PermissionDenied => ApiError::new(ErrorCode::Forbidden, format!("permission denied: {path}")),
        ErrorKind::NotADirectory => ApiError::bad_request(format!("path: a parent of {path} is not a directory")),
        ErrorKind::IsADirectory => ApiError::bad_request(format!("path: {path} is a directory")),
        _ => ApiError::internal(format!("{path}: {err}")),
    }
}

fn too_large(message: String) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, message)
}

pub async fn list(Query(query): Query<PathQuery>) -> Result<Json<FileList>, ApiError> {
    let path = absolute(&query.path)?;
    let meta = tokio::fs::metadata(&path).await.map_err(|e| io_error(&path, e))?;
    if !meta.is_dir() {
        return Err(ApiError::bad_request(format!("path: {} is not a directory", path.display())));
    }
    let mut dir = tokio::fs::read_dir(&path).await.map_err(|e| io_error(&path, e))?;
    let mut entries = Vec::new();
    while let Some(entry) = dir.next_entry().await.map_err(|e| io_error(&path, e))? {
        // An entry removed while listing is simply left out.
        let Ok(meta) = tokio::fs::symlink_metadata(entry.path()).await else { continue };
        let file_type = match meta.file_type() {
            t if t.is_symlink() => FileType::Symlink,
            t if t.is_dir() => FileType::Directory,
            t if t.is_file() => FileType::File,
            _ => FileType::Other,
        };
        let modified_at = meta
            .modified()
            .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        entries.push(FileEntry {
            name: entry.file_name().to_string_lossy().into_owned(),
            size: if file_type == FileType::Directory { 0 } else { meta.len() },
            file_type,
            modified_at,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(FileList { path: query.path, entries }))
}

pub async fn upload(Query(query): Query<PathQuery>, headers: HeaderMap, body: Body) -> Result<Json<ActionResult>, ApiError> {
    let path = absolute(&query.path)?;
    let limit = MAX_UPLOAD_BYTES as u64;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large(format!("uploads are limited to {limit} bytes")));
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(ApiError::bad_request(format!("path: {} names no file", path.display())));
    };
    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
        return Err(ApiError::bad_request(format!("path: {} is a directory", path.display())));
    }
    tokio::fs::create_dir_all(parent).await.map_err(|e| io_error(parent, e))?;
    static UPLOADS: AtomicU64 = AtomicU64::new(0);
    let temp = parent.join(format!(
        ".{}.upload-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        UPLOADS.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_body(&temp, body, limit).await;
    let result = match written {
        Ok(()) => tokio::fs::rename(&temp, &path).await.map_err(|e| io_error(&path, e)),
        Err(err) => Err(err),
    };
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result.map(|()| Json(ActionResult { success: true }))
}

async fn write_body(temp: &Path, body: Body, limit: u64) -> Result<(), ApiError> {
    let mut file = tokio::fs::File::create(temp).await.map_err(|e| io_error(temp, e))?;
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the upload body: {e}")))?;
        total += chunk.len() as u64;
        if total > limit {
            return Err(too_large(format!("uploads are limited to {limit} bytes")));
        }
        file.write_all(&chunk).await.map_err(|e| io_error(temp, e))?;
    }
    file.flush().await.map_err(|e| io_error(temp, e))
}

pub async fn download(Query(query): Query<PathQuery>) -> Result<Response, ApiError> {
    let path = absolute(&query.path)?;
    let file = tokio::fs::File::open(&path).await.map_err(|e| io_error(&path, e))?;
    let meta = file.metadata().await.map_err(|e| io_error(&path, e))?;
    if meta.is_dir() {
        return Err(ApiError::bad_request(format!("path: {} is a directory; only files can be downloaded", path.display())));
    }
    if meta.len() > MAX_DOWNLOAD_BYTES {
        return Err(too_large(format!(
            "{} is {} bytes; downloads are limited to {} bytes (50 MiB)",
            path.display(),
            meta.len(),
            MAX_DOWNLOAD_BYTES
        )));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.len()));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `attachment` with an ASCII fallback name and the exact name percent-encoded (RFC 6266).
fn content_disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

pub async fn delete(Query(query): Query<DeleteQuery>) -> Result<Json<ActionResult>, ApiError> {
    let path = absolute(&query.path)?;
    if path.parent().is_none() {
        return Err(ApiError::bad_request("path: refusing to delete /"));
    }
    let meta = tokio::fs::symlink_metadata(&path).await.map_err(|e| io_error(&path, e))?;
    let removed = if meta.is_dir() {
        if !query.recursive {
            return Err(ApiError::bad_request(format!(
                "path: {} is a directory; pass recursive=true to delete it",
                path.display()
            )));
        }
        tokio::fs::remove_dir_all(&path).await
    } else {
        tokio::fs::remove_file(&path).await
    };
    removed.map_err(|e| io_error(&path, e))?;
    Ok(Json(ActionResult { success: true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_escapes_quotes_and_keeps_the_exact_name() {
        assert_eq!(content_disposition("a b.txt"), "attachment; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt");
        assert_eq!(content_disposition("é\".txt"), "attachment; filename=\"__.txt\"; filename*=UTF-8''%C3%A9%22.txt");
    }
}
