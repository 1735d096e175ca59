use serde::{Deserialize, Serialize};

/// The body of every error answer: `{"error": "...", "code": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// What went wrong, for programs: `bad_request`, `unauthorized`, `forbidden`, `plan_limit`, `not_found`,
    /// `conflict`, `computer_not_running`, `prompt_running`, `payload_too_large`, `rate_limited`, `internal_error`,
    /// `agent_unreachable` or `display_unavailable`.
    pub code: String,
}

/// Every machine-readable error code, in one table with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    PlanLimit,
    NotFound,
    Conflict,
    NotRunning,
    PromptRunning,
    PayloadTooLarge,
    RateLimited,
    Internal,
    AgentUnreachable,
    DisplayUnavailable,
}

impl ErrorCode {
    const TABLE: &'static [(ErrorCode, u16, &'static str)] = &[
        (ErrorCode::BadRequest, 400, "bad_request"),
        (ErrorCode::Unauthorized, 401, "unauthorized"),
        (ErrorCode::Forbidden, 403, "forbidden"),
        (ErrorCode::PlanLimit, 403, "plan_limit"),
        (ErrorCode::NotFound, 404, "not_found"),
        (ErrorCode::Conflict, 409, "conflict"),
        (ErrorCode::NotRunning, 409, "computer_not_running"),
        (ErrorCode::PromptRunning, 409, "prompt_running"),
        (ErrorCode::PayloadTooLarge, 413, "payload_too_large"),
        (ErrorCode::RateLimited, 429, "rate_limited"),
        (ErrorCode::Internal, 500, "internal_error"),
        (ErrorCode::AgentUnreachable, 502, "agent_unreachable"),
        (ErrorCode::DisplayUnavailable, 503, "display_unavailable"),
    ];

    fn row(self) -> &'static (ErrorCode, u16, &'static str) {
        Self::TABLE.iter().find(|row| row.0 == self).expect("every code is in the table")
    }

    pub fn status(self) -> u16 {
        self.row().1
    }

    pub fn as_str(self) -> &'static str {
        self.row().2
    }

    pub fn from_str(code: &str) -> Option<ErrorCode> {
        Self::TABLE.iter().find(|row| row.2 == code).map(|row| row.0)
    }
}

/// An error on its way to a client: a code, a sentence for people, and for 429 the seconds to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), retry_after: None }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: self.message.clone(), code: self.code.as_str().to_string() }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code.as_str())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_the_table() {
        for (code, status, name) in ErrorCode::TABLE {
            assert_eq!(code.status(), *status);
            assert_eq!(ErrorCode::from_str(name), Some(*code));
        }
    }
}
