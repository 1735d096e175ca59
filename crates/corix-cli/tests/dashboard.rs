//! End-to-end tests of what the dashboard needs from the control plane: the live-view socket
//! (`/ws/screen/{id}`), the API keys routes, and the dashboard served at `/`.

mod common;

use common::{Method, Server};
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The HTTP status a refused upgrade answered.
async fn refused(request: impl IntoClientRequest + Unpin) -> u16 {
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the upgrade must be refused"),
    }
}

/// The next binary frame (skipping anything else); `None` once the socket closes.
async fn next_frame(socket: &mut Socket) -> Option<Vec<u8>> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), socket.next()).await.expect("the screen went quiet")? {
            Ok(Message::Binary(bytes)) => return Some(bytes.to_vec()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// (width, height) of a baseline or progressive JPEG, walking its segments from SOI to the frame
/// header and checking it ends with EOI.
fn jpeg_size(bytes: &[u8]) -> (u16, u16) {
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "SOI");
    assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9], "EOI");
    let mut at = 2;
    while at + 4 <= bytes.len() {
        assert_eq!(bytes[at], 0xFF, "a marker at {at}");
        let marker = bytes[at + 1];
        let length = u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize;
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            let height = u16::from_be_bytes([bytes[at + 5], bytes[at + 6]]);
            let width = u16::from_be_bytes([bytes[at + 7], bytes[at + 8]]);
            return (width, height);
        }
        at += 2 + length;
    }
    panic!("no frame header in the JPEG");
}

#[tokio::test]
async fn the_screen_socket_streams_jpeg_frames_to_several_viewers() {
    let server = Server::start().await;
    let id = server.create_computer(json!({ "cpu": 1 })).await["id"].as_str().unwrap().to_string();
    let base = format!("ws://{}/ws/screen/{id}", server.addr);

    // The key is checked before the upgrade: missing, wrong, or another user's.
    assert_eq!(refused(base.clone()).await, 401);
    assert_eq!(refused(format!("{base}?token=crx_wrong")).await, 401);
    assert_eq!(refused(format!("{base}?token=crx_{}", "0".repeat(40))).await, 401);
    let mut wrong_protocol = base.clone().into_client_request().unwrap();
    wrong_protocol.headers_mut().insert("sec-websocket-protocol", format!("corix, corix-key.crx_{}", "1".repeat(40)).parse().unwrap());
    assert_eq!(refused(wrong_protocol).await, 401);
    let other = server.create_user("other@example.com", "pro");
    assert_eq!(refused(format!("{base}?token={other}")).await, 403);
    assert_eq!(refused(format!("ws://{}/ws/screen/nope?token={}", server.addr, server.key)).await, 404);
    assert_eq!(refused(format!("{base}?token={}&fps=99", server.key)).await, 400);

    // Two viewers at once, one by the query token, one by the subprotocol, each get frames.
    let (mut first, _) = tokio_tungstenite::connect_async(format!("{base}?token={}", server.key)).await.unwrap();
    let mut by_protocol = base.clone().into_client_request().unwrap();
    by_protocol.headers_mut().insert("sec-websocket-protocol", format!("corix, corix-key.{}", server.key).parse().unwrap());
    let (mut second, answer) = tokio_tungstenite::connect_async(by_protocol).await.unwrap();
    assert_eq!(answer.headers()["sec-websocket-protocol"], "corix");
    for socket in [&mut first, &mut second] {
        let frame = next_frame(socket).await.expect("a first frame");
        assert_eq!(jpeg_size(&frame), (1280, 720));
    }

    // A change on the screen sends a new frame; a still screen sends none (identical frames are skipped).
    let (status, _) = server.post(&format!("/computers/{id}/key"), json!({ "key": "ctrl+alt+t" })).await;
    assert_eq!(status, 200);
    let changed = next_frame(&mut first).await.expect("a frame after the change");
    assert_eq!(jpeg_size(&changed), (1280, 720));

    // A scaled stream.
    let (mut small, _) = tokio_tungstenite::connect_async(format!("{base}?token={}&width=640&fps=2", server.key)).await.unwrap();
    assert_eq!(jpeg_size(&next_frame(&mut small).await.unwrap()), (640, 360));
    small.close(None).await.unwrap();

    // Stopping the computer closes the sockets.
    let (status, _) = server.post(&format!("/computers/{id}/stop"), json!({})).await;
    assert_eq!(status, 200);
    for socket in [&mut first, &mut second] {
        while next_frame(socket).await.is_some() {}
    }
    assert_eq!(refused(format!("{base}?token={}", server.key)).await, 409);
}

#[tokio::test]
async fn api_keys_can_be_listed_created_and_revoked() {
    let server = Server::start().await;
    let (status, list) = server.get("/keys").await;
    assert_eq!(status, 200, "{list}");
    let keys = list["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["prefix"], server.key[..12]);
    assert_eq!(keys[0]["current"], true);
    assert!(keys[0].get("hash").is_none() && !list.to_string().contains(&server.key));

    let (status, made) = server.post("/keys", json!({})).await;
    assert_eq!(status, 201, "{made}");
    let secret = made["key"].as_str().unwrap().to_string();
    assert!(secret.starts_with("crx_") && secret.starts_with(made["prefix"].as_str().unwrap()));
    let (status, list) = server.call_as(&secret, Method::GET, "/keys", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["keys"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(&secret), "the secret is shown once");

    // Another user's keys are not visible nor revocable.
    let other = server.create_user("other@example.com", "pro");
    let (_, theirs) = server.call_as(&other, Method::GET, "/keys", None).await;
    assert_eq!(theirs["keys"].as_array().unwrap().len(), 1);
    let their_id = theirs["keys"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = server.delete(&format!("/keys/{their_id}")).await;
    assert_eq!(status, 404);
    let (status, _) = server.delete("/keys/no-such-key").await;
    assert_eq!(status, 404);
    assert_eq!(server.call_as(&other, Method::GET, "/keys", None).await.0, 200);

    // Revoking a key, even the one in use, takes effect at once.
    let new_id = made["id"].as_str().unwrap().to_string();
    let (status, revoked) = server.call_as(&secret, Method::DELETE, &format!("/keys/{new_id}"), None).await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["revoked"], true);
    assert_eq!(server.call_as(&secret, Method::GET, "/keys", None).await.0, 401);
    assert_eq!(server.get("/keys").await.0, 200);
    let (status, _) = server.call_as(&secret, Method::GET, "/computers", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_dashboard_is_served_at_the_root() {
    let server = Server::start().await;
    let root = server.http.get(format!("http://{}/", server.addr)).send().await.unwrap();
    assert_eq!(root.status(), 200);
    assert!(root.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(root.text().await.unwrap().contains("Corix"));
    // A client-side path answers the page too; unknown API paths stay JSON 404s.
    let deep = server.http.get(format!("http://{}/computers/abc", server.addr)).send().await.unwrap();
    assert_eq!(deep.status(), 200);
    let api = server.http.get(format!("http://{}/api/v1/nope", server.addr)).bearer_auth(&server.key).send().await.unwrap();
    assert_eq!(api.status(), 404);
    let ws = server.http.get(format!("http://{}/ws/nope", server.addr)).send().await.unwrap();
    assert_eq!(ws.status(), 404);
    assert_eq!(ws.json::<serde_json::Value>().await.unwrap()["code"], "not_found");
}
