//! The screen as the model sees it: screenshots downscaled to a size the model works best with,
//! and the model's coordinates mapped back to screen pixels.

/// Sizes computer-use models are trained on (Anthropic's guidance): XGA for 4:3, WXGA for 16:10.
const TARGETS: [(u32, u32); 2] = [(1024, 768), (1280, 800)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaling {
    /// The computer's screen, in pixels.
    pub screen: (u32, u32),
    /// The screenshots the model sees, in pixels; its coordinates are in this space.
    pub model: (u32, u32),
}

impl Scaling {
    /// The target whose aspect ratio is nearest the screen's, fitted inside it keeping the screen's
    /// aspect ratio; never upscaled. The height follows from the width as the agent computes it for
    /// `/screenshot?width=W`, so the image the model gets is exactly `model`.
    pub fn for_screen(width: u32, height: u32) -> Scaling {
        let ratio = f64::from(width) / f64::from(height);
        let (tw, th) = TARGETS
            .iter()
            .copied()
            .min_by(|a, b| {
                let da = (f64::from(a.0) / f64::from(a.1) - ratio).abs();
                let db = (f64::from(b.0) / f64::from(b.1) - ratio).abs();
                da.total_cmp(&db)
            })
            .expect("targets are not empty");
        let scale = (f64::from(tw) / f64::from(width)).min(f64::from(th) / f64::from(height)).min(1.0);
        let model_width = ((f64::from(width) * scale).round() as u32).clamp(1, width);
        let model_height = agent_height(width, height, model_width);
        Scaling { screen: (width, height), model: (model_width, model_height) }
    }

    /// `WxH` or `WxHxD`, as stored on a computer.
    pub fn for_resolution(resolution: &str) -> Option<Scaling> {
        let mut parts = resolution.split('x').map(|p| p.parse::<u32>().ok());
        let (Some(Some(w)), Some(Some(h))) = (parts.next(), parts.next()) else { return None };
        (w > 0 && h > 0).then(|| Scaling::for_screen(w, h))
    }

    pub fn is_identity(&self) -> bool {
        self.screen == self.model
    }

    /// A point in the model's space to screen pixels; a point outside the screenshot is an error the
    /// model is told about.
    pub fn to_screen(&self, x: i64, y: i64) -> Result<(i32, i32), String> {
        let (mw, mh) = self.model;
        if x < 0 || y < 0 || x >= i64::from(mw) || y >= i64::from(mh) {
            return Err(format!("coordinate ({x}, {y}) is outside the screen, which is {mw}x{mh}"));
        }
        Ok((map(x, mw, self.screen.0), map(y, mh, self.screen.1)))
    }

    /// Screen pixels to the model's space.
    pub fn to_model(&self, x: i32, y: i32) -> (i64, i64) {
        (i64::from(map(i64::from(x), self.screen.0, self.model.0)), i64::from(map(i64::from(y), self.screen.1, self.model.1)))
    }
}

/// `value` of a `from`-pixel axis on a `to`-pixel axis: the nearest pixel, within bounds.
fn map(value: i64, from: u32, to: u32) -> i32 {
    let mapped = (value * i64::from(to) * 2 + i64::from(from)) / (i64::from(from) * 2);
    mapped.clamp(0, i64::from(to) - 1) as i32
}

/// The height of a screenshot scaled to `width` (the agent's rounding).
fn agent_height(screen_width: u32, screen_height: u32, width: u32) -> u32 {
    ((u64::from(screen_height) * u64::from(width) + u64::from(screen_width) / 2) / u64::from(screen_width)).max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_target_by_aspect_ratio_and_never_upscales() {
        assert_eq!(Scaling::for_screen(1024, 768).model, (1024, 768));
        assert_eq!(Scaling::for_screen(1600, 1200).model, (1024, 768));
        assert_eq!(Scaling::for_screen(2560, 1600).model, (1280, 800));
        assert_eq!(Scaling::for_screen(1920, 1080).model, (1280, 720));
        assert_eq!(Scaling::for_screen(1280, 720).model, (1280, 720));
        assert_eq!(Scaling::for_screen(800, 600).model, (800, 600));
        assert!(Scaling::for_screen(1280, 720).is_identity());
        assert_eq!(Scaling::for_resolution("1920x1080x24"), Some(Scaling::for_screen(1920, 1080)));
    }

    #[test]
    fn coordinates_map_back_exactly() {
        let s = Scaling::for_screen(1920, 1080);
        assert_eq!(s.to_screen(400, 300), Ok((600, 450)));
        assert_eq!(s.to_screen(0, 0), Ok((0, 0)));
        assert_eq!(s.to_screen(1279, 719), Ok((1919, 1079)));
        assert!(s.to_screen(1280, 10).is_err());
        assert!(s.to_screen(-1, 10).is_err());
        assert_eq!(s.to_model(600, 450), (400, 300));
        let s = Scaling::for_screen(1600, 1200);
        // 1600/1024 = 1.5625: 512 -> 800 exactly, 100 -> 156.25 -> 156.
        assert_eq!(s.to_screen(512, 384), Ok((800, 600)));
        assert_eq!(s.to_screen(100, 100), Ok((156, 156)));
        // Every model pixel round-trips.
        for x in 0..1024 {
            let (sx, _) = s.to_screen(x, 0).unwrap();
            assert_eq!(s.to_model(sx, 0).0, x);
        }
    }
}
