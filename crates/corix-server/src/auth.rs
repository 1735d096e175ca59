//! API keys: `crx_` + 192 random bits, shown once, stored as SHA-256. Requests carry them as
//! `Authorization: Bearer crx_...` (or `?token=` on WebSocket upgrades, which browsers cannot give headers).

use crate::app::AppState;
use crate::store::{ApiKeyRow, Store, StoreResult, User};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use corix_proto::{ApiError, ErrorCode};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const KEY_PREFIX: &str = "crx_";
const KEY_RANDOM_BYTES: usize = 24;
/// Characters of a key kept in clear to tell keys apart: `crx_` and 8 hex digits (32 bits).
const SHOWN_PREFIX_LEN: usize = 12;

/// A freshly made key: the secret, shown once, and what the store keeps.
pub struct NewKey {
    pub secret: String,
    pub row: ApiKeyRow,
}

pub fn hash_key(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn generate_secret() -> String {
    let mut bytes = [0u8; KEY_RANDOM_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// Stores `secret` (or a fresh one) as a key of `user`.
pub fn add_key(store: &Store, user: &User, secret: Option<String>) -> StoreResult<NewKey> {
    let secret = secret.unwrap_or_else(generate_secret);
    let prefix: String = secret.chars().take(SHOWN_PREFIX_LEN).collect();
    let row = store.insert_api_key(&user.id, &prefix, &hash_key(&secret))?;
    Ok(NewKey { secret, row })
}

/// Whether `secret` has the shape of a Corix key at all.
pub fn is_well_formed(secret: &str) -> bool {
    secret.len() >= KEY_PREFIX.len() + 32 && secret.starts_with(KEY_PREFIX) && secret.is_ascii()
}

/// Who is calling: the user behind the request's API key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub key: ApiKeyRow,
}

pub fn authenticate(store: &Store, secret: &str) -> Result<Caller, ApiError> {
    let invalid = || ApiError::new(ErrorCode::Unauthorized, "Invalid API key");
    if !is_well_formed(secret) {
        return Err(invalid());
    }
    let hash = hash_key(secret);
    let (key, stored_hash, user) = store
        .key_by_hash(&hash)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .ok_or_else(invalid)?;
    if !bool::from(stored_hash.as_slice().ct_eq(&hash)) {
        return Err(invalid());
    }
    Ok(Caller { user, key })
}

/// The WebSocket subprotocol a browser offers, with [`KEY_SUBPROTOCOL_PREFIX`] + the key as a second
/// entry, to authenticate a socket without putting the key in a URL; the server answers with this one.
pub const WS_SUBPROTOCOL: &str = "corix";
pub const KEY_SUBPROTOCOL_PREFIX: &str = "corix-key.";

/// The key a request carries: the Bearer header, else (WebSocket upgrades) a `corix-key.crx_...`
/// subprotocol entry, else a `token` query parameter.
pub fn presented_key(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?;
        return Some(token.trim().to_string());
    }
    let offered = parts.headers.get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL).iter();
    let from_protocol = offered
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|entry| entry.trim().strip_prefix(KEY_SUBPROTOCOL_PREFIX).map(str::to_string));
    if from_protocol.is_some() {
        return from_protocol;
    }
    let query = parts.uri.query()?;
    url_query_value(query, "token")
}

fn url_query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

/// Middleware for every authenticated route: resolves the caller, applies rate limits, and hands
/// the [`Caller`] to the handler.
pub async fn require_key(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let secret = presented_key(&parts).ok_or_else(|| {
        ApiError::new(ErrorCode::Unauthorized, "Missing API key: send Authorization: Bearer crx_...")
    })?;
    let caller = authenticate(&state.store, &secret)?;
    state.limiter.admit(&state.store, &caller)?;
    parts.extensions.insert(caller);
    Ok(next.run(Request::from_parts(parts, body)).await)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "Missing API key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::Plan;

    #[test]
    fn keys_are_stored_hashed_and_authenticate() {
        let store = Store::open_in_memory().unwrap();
        let user = store.create_user("a@example.com", Plan::Pro).unwrap();
        let key = add_key(&store, &user, None).unwrap();
        assert!(key.secret.starts_with("crx_") && key.secret.len() == 4 + 48);
        assert_eq!(authenticate(&store, &key.secret).unwrap().user, user);
        let mut wrong = key.secret.clone();
        wrong.replace_range(20..21, if &wrong[20..21] == "0" { "1" } else { "0" });
        assert_eq!(authenticate(&store, &wrong).unwrap_err().code, ErrorCode::Unauthorized);
        assert_eq!(authenticate(&store, "crx_short").unwrap_err().code, ErrorCode::Unauthorized);
    }
}
