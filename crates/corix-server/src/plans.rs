//! Plans and their limits, as published in the API reference.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Starter,
    Pro,
    Scale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// `None` is unlimited.
    pub api_calls_per_day: Option<u64>,
    pub max_computers: u32,
    pub max_cpu: u32,
    /// GB.
    pub max_ram: u32,
}

impl Plan {
    pub fn limits(self) -> PlanLimits {
        match self {
            Plan::Starter => PlanLimits { api_calls_per_day: Some(1_000), max_computers: 2, max_cpu: 1, max_ram: 4 },
            Plan::Pro => PlanLimits { api_calls_per_day: None, max_computers: 20, max_cpu: 4, max_ram: 16 },
            Plan::Scale => PlanLimits { api_calls_per_day: None, max_computers: 100, max_cpu: 8, max_ram: 32 },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Starter => "starter",
            Plan::Pro => "pro",
            Plan::Scale => "scale",
        }
    }

    pub fn parse(s: &str) -> Option<Plan> {
        [Plan::Starter, Plan::Pro, Plan::Scale].into_iter().find(|plan| plan.as_str() == s)
    }
}
