//! Screenshots: grab the root window (MIT-SHM, else plain GetImage), optionally draw the cursor,
//! downscale with an area filter, and encode PNG (fast deflate) or JPEG.

use crate::display::{Display, XConn};
use crate::server::{blocking, AppState};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use corix_proto::actions::{ScreenshotJson, ScreenshotMetadata};
use corix_proto::http::Query;
use corix_proto::ApiError;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use x11rb::connection::Connection;
use x11rb::protocol::shm;
use x11rb::protocol::xfixes;
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat, ImageOrder};

/// An RGB image, 3 bytes a pixel, rows packed.
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

pub struct Screen {
    display: Arc<Display>,
    grab: Mutex<GrabState>,
}

#[derive(Default)]
struct GrabState {
    segment: Option<ShmSegment>,
    /// The connection generation on which MIT-SHM failed; plain GetImage is used on it from then on.
    shm_failed: Option<u64>,
}

/// A server-created shared-memory segment, mapped here, sized for one full frame.
struct ShmSegment {
    conn: Arc<XConn>,
    seg: shm::Seg,
    map: memmap2::Mmap,
}

impl Drop for ShmSegment {
    fn drop(&mut self) {
        let _ = shm::detach(&self.conn.conn, self.seg);
    }
}

/// Where red, green and blue sit in a 32-bit pixel of the root window.
struct PixelFormat {
    shifts: [u32; 3],
    little_endian: bool,
}

impl PixelFormat {
    fn of(x: &XConn) -> Result<PixelFormat, ApiError> {
        let setup = x.conn.setup();
        let screen = setup.roots.iter().find(|s| s.root == x.root).ok_or_else(|| ApiError::internal("root screen vanished"))?;
        let bpp = setup.pixmap_formats.iter().find(|f| f.depth == screen.root_depth).map(|f| f.bits_per_pixel);
        let visual = screen
            .allowed_depths
            .iter()
            .flat_map(|d| d.visuals.iter())
            .find(|v| v.visual_id == screen.root_visual)
            .ok_or_else(|| ApiError::internal("root visual not found"))?;
        let masks = [visual.red_mask, visual.green_mask, visual.blue_mask];
        if bpp != Some(32) || masks.iter().any(|m| m.count_ones() != 8) {
            return Err(ApiError::internal(format!(
                "unsupported screen format (depth {}, {bpp:?} bits a pixel); use a 24-bit resolution",
                screen.root_depth
            )));
        }
        Ok(PixelFormat { shifts: masks.map(u32::trailing_zeros), little_endian: setup.image_byte_order == ImageOrder::LSB_FIRST })
    }

    fn to_rgb(&self, src: &[u8], rgb: &mut [u8]) {
        let [rs, gs, bs] = self.shifts;
        for (px, out) in src.chunks_exact(4).zip(rgb.chunks_exact_mut(3)) {
            let bytes = [px[0], px[1], px[2], px[3]];
            let p = if self.little_endian { u32::from_le_bytes(bytes) } else { u32::from_be_bytes(bytes) };
            out[0] = (p >> rs) as u8;
            out[1] = (p >> gs) as u8;
            out[2] = (p >> bs) as u8;
        }
    }
}

impl Screen {
    pub fn new(display: Arc<Display>) -> Self {
        Screen { display, grab: Mutex::new(GrabState::default()) }
    }

    /// The whole screen as RGB, with the pointer drawn in when asked.
    pub fn capture(&self, with_cursor: bool) -> Result<Frame, ApiError> {
        let x = self.display.get()?;
        let format = PixelFormat::of(&x)?;
        let (width, height) = (u32::from(x.width), u32::from(x.height));
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        {
            let mut grab = self.grab.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let use_shm = x.shm && grab.shm_failed != Some(x.generation);
            let grabbed_by_shm = use_shm
                && match grab_shm(&x, &mut grab.segment, &format, &mut rgb) {
                    Ok(()) => true,
                    Err(err) => {
                        tracing::warn!(error = %err, "MIT-SHM capture failed; using plain GetImage on this connection");
                        grab.segment = None;
                        grab.shm_failed = Some(x.generation);
                        false
                    }
                };
            if !grabbed_by_shm {
                let image = x
                    .conn
                    .get_image(ImageFormat::Z_PIXMAP, x.root, 0, 0, x.width, x.height, !0)
                    .map_err(|e| x.fail(e))?
                    .reply()
                    .map_err(|e| x.fail(e))?;
                format.to_rgb(&image.data, &mut rgb);
            }
        }
        let mut frame = Frame { width, height, rgb };
        if with_cursor && x.xfixes {
            let cursor = xfixes::get_cursor_image(&x.conn).map_err(|e| x.fail(e))?.reply().map_err(|e| x.fail(e))?;
            draw_cursor(&mut frame, &cursor);
        }
        Ok(frame)
    }
}

fn grab_shm(x: &Arc<XConn>, segment: &mut Option<ShmSegment>, format: &PixelFormat, rgb: &mut [u8]) -> Result<(), ApiError> {
    let len = usize::from(x.width) * usize::from(x.height) * 4;
    if segment.as_ref().is_none_or(|s| s.conn.generation != x.generation || s.map.len() != len) {
        *segment = None;
        let seg = x.conn.generate_id().map_err(|e| ApiError::internal(format!("no X id for a segment: {e}")))?;
        let size = u32::try_from(len).map_err(|_| ApiError::internal("screen too large for a segment"))?;
        let reply = shm::create_segment(&x.conn, seg, size, false).map_err(|e| x.fail(e))?.reply().map_err(|e| x.fail(e))?;
        let file = std::fs::File::from(reply.shm_fd);
        // SAFETY: the server created this segment for us alone and only writes it while answering
        // our GetImage, which we wait for before reading.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(&file) }
            .map_err(|e| ApiError::internal(format!("mapping the shared segment: {e}")))?;
        *segment = Some(ShmSegment { conn: x.clone(), seg, map });
    }
    let Some(segment) = segment.as_ref() else { return Err(ApiError::internal("no shared segment")) };
    shm::get_image(&x.conn, x.root, 0, 0, x.width, x.height, !0, ImageFormat::Z_PIXMAP.into(), segment.seg, 0)
        .map_err(|e| x.fail(e))?
        .reply()
        .map_err(|e| x.fail(e))?;
    format.to_rgb(&segment.map[..len], rgb);
    Ok(())
}

/// Blend the cursor image (premultiplied ARGB) over the frame at the pointer position.
fn draw_cursor(frame: &mut Frame, cursor: &xfixes::GetCursorImageReply) {
    let (cw, ch) = (usize::from(cursor.width), usize::from(cursor.height));
    let left = i64::from(cursor.x) - i64::from(cursor.xhot);
    let top = i64::from(cursor.y) - i64::from(cursor.yhot);
    for cy in 0..ch {
        let y = top + cy as i64;
        if y < 0 || y >= i64::from(frame.height) {
            continue;
        }
        for cx in 0..cw {
            let x = left + cx as i64;
            let Some(&pixel) = cursor.cursor_image.get(cy * cw + cx) else { return };
            let alpha = pixel >> 24;
            if x < 0 || x >= i64::from(frame.width) || alpha == 0 {
                continue;
            }
            let at = (y as usize * frame.width as usize + x as usize) * 3;
            for (channel, shift) in [16, 8, 0].into_iter().enumerate() {
                let over = (pixel >> shift) & 0xff;
                let under = u32::from(frame.rgb[at + channel]);
                frame.rgb[at + channel] = (over + under * (255 - alpha) / 255).min(255) as u8;
            }
        }
    }
}

/// Shrink with an area (box) filter: each output pixel averages the source pixels it covers.
pub fn downscale(frame: &Frame, width: u32, height: u32) -> Frame {
    fn spans(from: u32, to: u32) -> Vec<(usize, usize)> {
        (0..u64::from(to))
            .map(|i| {
                let start = (i * u64::from(from) / u64::from(to)) as usize;
                let end = ((i + 1) * u64::from(from) / u64::from(to)) as usize;
                (start, end.max(start + 1))
            })
            .collect()
    }
    let (sw, dw, dh) = (frame.width as usize, width as usize, height as usize);
    let columns = spans(frame.width, width);
    let mut narrow = vec![0u8; frame.height as usize * dw * 3];
    for (src_row, out_row) in frame.rgb.chunks_exact(sw * 3).zip(narrow.chunks_exact_mut(dw * 3)) {
        for (&(start, end), out) in columns.iter().zip(out_row.chunks_exact_mut(3)) {
            let mut sum = [0u32; 3];
            for px in src_row[start * 3..end * 3].chunks_exact(3) {
                sum[0] += u32::from(px[0]);
                sum[1] += u32::from(px[1]);
                sum[2] += u32::from(px[2]);
            }
            let n = (end - start) as u32;
            for c in 0..3 {
                out[c] = ((sum[c] + n / 2) / n) as u8;
            }
        }
    }
    let mut rgb = vec![0u8; dw * dh * 3];
    let mut sum = vec![0u32; dw * 3];
    for (&(start, end), out_row) in spans(frame.height, height).iter().zip(rgb.chunks_exact_mut(dw * 3)) {
        sum.fill(0);
        for row in narrow[start * dw * 3..end * dw * 3].chunks_exact(dw * 3) {
            for (acc, &v) in sum.iter_mut().zip(row) {
                *acc += u32::from(v);
            }
        }
        let n = (end - start) as u32;
        for (out, &acc) in out_row.iter_mut().zip(&sum) {
            *out = ((acc + n / 2) / n) as u8;
        }
    }
    Frame { width, height, rgb }
}

pub fn encode_png(frame: &Frame) -> Result<Vec<u8>, ApiError> {
    let fail = |e: png::EncodingError| ApiError::internal(format!("PNG encoding failed: {e}"));
    let mut out = Vec::with_capacity(frame.rgb.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, frame.width, frame.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(&frame.rgb).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

pub fn encode_jpeg(frame: &Frame, quality: u8) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(frame.rgb.len() / 10);
    let (width, height) = (frame.width as u16, frame.height as u16);
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(&frame.rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| ApiError::internal(format!("JPEG encoding failed: {e}")))?;
    Ok(out)
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Png,
    Base64,
    Jpeg,
}

#[derive(Debug, Deserialize)]
pub struct ScreenshotQuery {
    #[serde(default)]
    format: OutputFormat,
    /// JPEG quality, 1-100.
    quality: Option<u8>,
    /// Output width in pixels; the height keeps the aspect ratio.
    width: Option<u32>,
    /// Output size as a fraction of the screen, in (0, 1].
    scale: Option<f64>,
    #[serde(default)]
    cursor: bool,
}

const DEFAULT_JPEG_QUALITY: u8 = 80;

impl ScreenshotQuery {
    /// The output size for a screen of the given size, or a 400 naming the bad parameter.
    fn output_size(&self, screen_width: u32, screen_height: u32) -> Result<(u32, u32), ApiError> {
        let width = match (self.width, self.scale) {
            (Some(_), Some(_)) => return Err(ApiError::bad_request("give either `width` or `scale`, not both")),
            (Some(width), None) if width == 0 || width > screen_width => {
                return Err(ApiError::bad_request(format!("width: must be 1..={screen_width}, got {width}")))
            }
            (Some(width), None) => width,
            (None, Some(scale)) if !(scale > 0.0 && scale <= 1.0) => {
                return Err(ApiError::bad_request(format!("scale: must be in (0, 1], got {scale}")))
            }
            (None, Some(scale)) => ((f64::from(screen_width) * scale).round() as u32).max(1),
            (None, None) => screen_width,
        };
        let height = ((u64::from(screen_height) * u64::from(width) + u64::from(screen_width) / 2) / u64::from(screen_width)).max(1);
        Ok((width, height as u32))
    }
}

pub async fn screenshot(State(state): State<Arc<AppState>>, Query(query): Query<ScreenshotQuery>) -> Result<Response, ApiError> {
    let quality = query.quality.unwrap_or(DEFAULT_JPEG_QUALITY);
    if !(1..=100).contains(&quality) {
        return Err(ApiError::bad_request(format!("quality: must be 1..=100, got {quality}")));
    }
    let format = query.format;
    let (encoded, width, height) = blocking(move || {
        let started = Instant::now();
        let mut frame = state.screen.capture(query.cursor)?;
        let captured = started.elapsed();
        let (width, height) = query.output_size(frame.width, frame.height)?;
        if (width, height) != (frame.width, frame.height) {
            frame = downscale(&frame, width, height);
        }
        let encoded = match format {
            OutputFormat::Jpeg => encode_jpeg(&frame, quality)?,
            OutputFormat::Png | OutputFormat::Base64 => encode_png(&frame)?,
        };
        tracing::debug!(?captured, total = ?started.elapsed(), bytes = encoded.len(), "screenshot");
        Ok((encoded, width, height))
    })
    .await?;
    let response = match format {
        OutputFormat::Png => ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], encoded).into_response(),
        OutputFormat::Jpeg => ([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], encoded).into_response(),
        OutputFormat::Base64 => axum::Json(ScreenshotJson {
            success: true,
            image: format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&encoded)),
            metadata: ScreenshotMetadata {
                width,
                height,
                format: "png".into(),
                size: encoded.len(),
                timestamp: crate::server::now_rfc3339(),
            },
        })
        .into_response(),
    };
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downscale_averages_the_area_it_covers() {
        // 4x2: a black and a white 2x2 block side by side.
        let mut rgb = Vec::new();
        for _ in 0..2 {
            rgb.extend_from_slice(&[0; 6]);
            rgb.extend_from_slice(&[255; 6]);
        }
        let small = downscale(&Frame { width: 4, height: 2, rgb }, 2, 1);
        assert_eq!(small.rgb, vec![0, 0, 0, 255, 255, 255]);
    }

    #[test]
    fn output_size_keeps_the_aspect_ratio_and_names_bad_parameters() {
        let q = |width, scale| ScreenshotQuery { format: OutputFormat::Png, quality: None, width, scale, cursor: false };
        assert_eq!(q(None, None).output_size(1280, 720).unwrap(), (1280, 720));
        assert_eq!(q(Some(640), None).output_size(1280, 720).unwrap(), (640, 360));
        assert_eq!(q(None, Some(0.5)).output_size(1280, 720).unwrap(), (640, 360));
        assert!(q(Some(2000), None).output_size(1280, 720).unwrap_err().message.contains("width"));
        assert!(q(None, Some(1.5)).output_size(1280, 720).unwrap_err().message.contains("scale"));
    }
}
