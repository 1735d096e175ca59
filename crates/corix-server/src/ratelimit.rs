//! Rate limits per API key: the plan's calls per UTC day (counted in the store, so a restart
//! forgets nothing), and a short-window token bucket for every plan that protects the server.

use crate::auth::Caller;
use crate::store::Store;
use corix_proto::{ApiError, ErrorCode};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct ShortWindow {
    /// Calls per second, sustained.
    pub per_second: f64,
    /// Calls allowed at once after a quiet spell.
    pub burst: f64,
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

pub struct RateLimiter {
    window: ShortWindow,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(window: ShortWindow) -> Self {
        RateLimiter { window, buckets: Mutex::new(HashMap::new()) }
    }

    /// Lets the call through, or answers 429 with the seconds to wait.
    pub fn admit(&self, store: &Store, caller: &Caller) -> Result<(), ApiError> {
        self.take_token(&caller.key.id)?;
        if let Some(limit) = caller.user.plan.limits().api_calls_per_day {
            let now = chrono::Utc::now();
            let day = now.format("%Y-%m-%d").to_string();
            let calls = store.count_call(&caller.key.id, &day).map_err(|e| ApiError::internal(e.to_string()))?;
            if calls > limit {
                let midnight = (now.date_naive() + chrono::Days::new(1)).and_hms_opt(0, 0, 0).expect("midnight exists");
                let wait = (midnight - now.naive_utc()).num_seconds().max(1) as u64;
                return Err(too_many(
                    format!("Daily limit of {limit} API calls reached for the {} plan", caller.user.plan.as_str()),
                    wait,
                ));
            }
        }
        Ok(())
    }

    fn take_token(&self, key_id: &str) -> Result<(), ApiError> {
        let ShortWindow { per_second, burst } = self.window;
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        let bucket = buckets.entry(key_id.to_string()).or_insert(Bucket { tokens: burst, refilled: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.refilled).as_secs_f64() * per_second).min(burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / per_second).ceil().max(1.0) as u64;
        Err(too_many(format!("Rate limit of {per_second} calls per second exceeded"), wait))
    }
}

fn too_many(message: String, retry_after: u64) -> ApiError {
    ApiError { code: ErrorCode::RateLimited, message, retry_after: Some(retry_after) }
}
