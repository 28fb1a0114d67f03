//! Handlers: extract, do one thing, render.

pub mod authorize;
pub mod health;
