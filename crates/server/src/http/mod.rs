//! HTTP plumbing shared by every feature: extractors that turn rejections into
//! the contract's errors, the per-IP rate limit, request metrics and the
//! middleware stack.

pub mod client_addr;
pub mod extract;
pub mod layers;
pub mod metrics;
pub mod ratelimit;

pub use extract::{ApiJson, ApiPath, ClientIp};
