//! osdoctor: Linux production diagnostics over the kernel's own accounting.
//!
//! Data flows one way: [`root::Root`] -> collectors -> samples -> facts -> rules -> findings -> renderers.

pub mod cgroupfs;
pub mod kernel_log;
pub mod psi;
pub mod root;
