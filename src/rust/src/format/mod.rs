//! A native writer of R's serialization format for plain data.
//!
//! R's own writer (`R_Serialize`, driven from `src/serialize.c`) is the
//! universal path; this module writes the same bytes for the objects it
//! covers (see [`walk`]) without going through R's per-item callbacks:
//! sizing is O(nodes) and encoding runs at memory speed.
//!
//! * [`flags`]: type codes, flags words, reference indices, lengths.
//! * [`ascii`]: text forms of scalars (ASCII and asciihex formats).
//! * [`dtoa`]: doubles as glibc's `%.16g` and `%a` write them, in Rust.
//! * [`encode`]: per-format encoders over a counting or writing destination.
//! * [`stage`]: the streaming destination (files, connections).
//! * [`header`]: the stream header.
//! * [`refs`]: the reference table (symbols).
//! * [`altrep`]: what R writes for ALTREP objects of the base classes.
//! * [`walk`]: the explicit-stack object walker.
//! * [`learned`]: the flags R writes for nodes where no API tells them,
//!   per node (a leaf).
//! * [`tap`]: learns them from R's own writer, run as a matcher.
//! * [`job`]: passes over an object and their C ABI.
//! * [`session`]: what the format probes found out about the running R.

pub mod altrep;
pub mod ascii;
pub mod dtoa;
pub mod encode;
pub mod flags;
pub mod header;
pub mod job;
pub mod learned;
pub mod refs;
pub mod session;
pub mod stage;
pub mod tap;
pub mod walk;
