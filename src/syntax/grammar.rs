//! The pest parser generated from `grammar/kflow.pest`. Its `Rule` type never
//! leaves the `syntax` module.

#![allow(missing_docs, unreachable_pub)]

#[derive(pest_derive::Parser)]
#[grammar = "grammar/kflow.pest"]
pub(crate) struct KflowParser;
