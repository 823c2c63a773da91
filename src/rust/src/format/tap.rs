//! The tap: the flags R writes for an object's nodes where no API tells
//! them, learnt from R's own writer.
//!
//! A build that cannot read gp bits (feature `api-gp`: no `LEVELS`, R >= 4.5)
//! rebuilds them from API predicates (the S4 bit, a CHARSXP's encoding), and
//! one that cannot read attribute lists as stored (feature `map-attrib`: no
//! `ATTRIB`, R >= 4.6) makes up the cells R made for them. R writes the gp
//! bits an object has: the GROWABLE bit of a vector grown in place (R < 4.6),
//! those an object was unserialized with (R keeps them), those a package set,
//! the lock of an ALTREP wrapper's metadata. Such a build therefore lets R's
//! own serializer write the object once, in native binary (R hands over
//! vector data in big pieces without encoding it), into this tap, before the
//! native writer's passes. The tap runs the walker alongside ([`Expect`]
//! records what it would write, without its data: ints to compare, byte
//! counts to skip) and matches R's bytes against it:
//!
//! * bytes the walker would write as data are skipped;
//! * ints are compared; where the walker writes a node's flags word (a
//!   vector, a pairlist or attribute cell, an S4 object, an ALTREP object,
//!   a CHARSXP), R's word may differ in the gp bits and the object bit
//!   ([`LEARNABLE`]): what R wrote there goes into the [`Learned`] map;
//! * any other difference (a type, an attribute or tag bit: an attribute
//!   cell with attributes of its own, whose items the walker cannot see), a
//!   stream of another length, or an object the walker does not cover fails
//!   the tap: the rest of R's bytes are ignored (R's pass always runs to
//!   its end; the callbacks never jump), and the object goes to R's writer
//!   as without the tap.
//!
//! The walker runs in steps of [`BUDGET`] bytes, only when the ops queued
//! are used up, so the queue holds about one step's ops; the map holds one
//! entry per node whose flags differ. The native passes then write what R
//! wrote for those nodes ([`super::walk::Walk::with_learned`]).
//!
//! Where the build reads gp bits and attribute lists (`LEVELS` and `ATTRIB`,
//! R < 4.5) the tap never runs ([`wanted`]); tests can make it run
//! everywhere, or fail ([`set_mode`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;

use super::encode::Encoder;
use super::learned::{Bits, Learned, Node, LEARNABLE};
use super::walk::{Step, Walk};
use crate::error::Result;

/// Bytes of expected stream the walker produces per step.
pub const BUDGET: u64 = 64 * 1024;

/// One thing the walker would write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Bytes whose values are not compared (data, string bytes, magic).
    Skip(u64),
    /// An int to compare.
    Int(i32),
    /// The flags word of `node`.
    Flags { value: i32, node: Node },
}

/// The encoder of the tap's walker: queues what the walker would write
/// in native binary, without its data.
#[derive(Debug, Default)]
pub struct Expect {
    ops: VecDeque<Op>,
    position: u64,
}

impl Expect {
    fn skip_bytes(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        self.position += n;
        if let Some(Op::Skip(m)) = self.ops.back_mut() {
            *m += n;
        } else {
            self.ops.push_back(Op::Skip(n));
        }
    }

    fn push(&mut self, op: Op) {
        self.position += 4;
        self.ops.push_back(op);
    }

    /// Ops queued and not yet matched.
    pub fn pending(&self) -> usize {
        self.ops.len()
    }
}

impl Encoder for Expect {
    // The CHARSXP flags words are compared too (see `walk::charsxp`).
    const SIZES_ONLY: bool = false;

    fn skip(&mut self, n: usize) -> Result<()> {
        self.skip_bytes(n as u64);
        Ok(())
    }

    fn magic(&mut self) -> Result<()> {
        self.skip_bytes(2);
        Ok(())
    }

    fn int(&mut self, value: i32) -> Result<()> {
        self.push(Op::Int(value));
        Ok(())
    }

    fn node_flags(&mut self, value: i32, node: Node) -> Result<()> {
        self.push(Op::Flags { value, node });
        Ok(())
    }

    fn charsxp_of(&mut self, flags: i32, node: Node, bytes: Option<&[u8]>) -> Result<()> {
        self.node_flags(flags, node)?;
        match bytes {
            None => self.int(-1),
            Some(bytes) => {
                self.int(bytes.len() as i32)?;
                self.skip_bytes(bytes.len() as u64);
                Ok(())
            }
        }
    }

    fn ints(&mut self, values: &[i32]) -> Result<()> {
        self.skip_bytes(4 * values.len() as u64);
        Ok(())
    }

    fn doubles(&mut self, values: &[f64]) -> Result<()> {
        self.skip_bytes(8 * values.len() as u64);
        Ok(())
    }

    fn raw(&mut self, values: &[u8]) -> Result<()> {
        self.skip_bytes(values.len() as u64);
        Ok(())
    }

    fn string(&mut self, bytes: &[u8]) -> Result<()> {
        self.skip_bytes(bytes.len() as u64);
        Ok(())
    }

    fn position(&self) -> u64 {
        self.position
    }
}

/// Where the expected ops come from: the walker; a script in the tests.
pub trait Source {
    /// Queues about `budget` more bytes' worth of ops.
    fn fill(&mut self, expect: &mut Expect, budget: u64) -> Result<Step>;
}

impl Source for Walk {
    fn fill(&mut self, expect: &mut Expect, budget: u64) -> Result<Step> {
        self.step(expect, budget)
    }
}

/// What a finished tap found.
#[derive(Debug)]
pub enum Outcome {
    /// R's stream is the walker's, but for the flags of these nodes.
    Agrees(Learned),
    /// It is not: why. The object goes to R's writer.
    Failed(String),
}

/// Matches R's stream against the walker's ops.
pub struct Tap<S> {
    source: S,
    expect: Expect,
    /// The source has queued its last ops.
    source_done: bool,
    /// The bytes of an int R handed over in pieces.
    word: [u8; 4],
    word_len: usize,
    learned: Learned,
    failure: Option<String>,
    /// Bytes of R's stream consumed.
    consumed: u64,
    /// Tests: compare the first int against a wrong value ([`Mode::Fail`]).
    inject: bool,
}

impl<S: Source> Tap<S> {
    pub fn new(source: S, inject: bool) -> Tap<S> {
        Tap {
            source,
            expect: Expect::default(),
            source_done: false,
            word: [0; 4],
            word_len: 0,
            learned: Learned::default(),
            failure: None,
            consumed: 0,
            inject,
        }
    }

    /// Whether the tap has failed (then the rest of R's bytes is ignored).
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// Ops queued and not yet matched (at most about one step's).
    pub fn pending(&self) -> usize {
        self.expect.pending()
    }

    fn fail(&mut self, why: String) {
        if self.failure.is_none() {
            self.failure = Some(why);
            self.expect.ops = VecDeque::new();
        }
    }

    /// Consumes the next bytes of R's stream. An error (no memory for the
    /// map) is for C to raise once R's pass is over.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() && self.failure.is_none() {
            let Some(op) = self.expect.ops.front_mut() else {
                self.refill()?;
                continue;
            };
            match op {
                Op::Skip(n) => {
                    let k = (*n).min(bytes.len() as u64);
                    *n -= k;
                    if *n == 0 {
                        self.expect.ops.pop_front();
                    }
                    bytes = &bytes[k as usize..];
                    self.consumed += k;
                }
                Op::Int(_) | Op::Flags { .. } => {
                    let k = (4 - self.word_len).min(bytes.len());
                    self.word[self.word_len..self.word_len + k].copy_from_slice(&bytes[..k]);
                    self.word_len += k;
                    bytes = &bytes[k..];
                    self.consumed += k as u64;
                    if self.word_len == 4 {
                        self.word_len = 0;
                        if let Some(op) = self.expect.ops.pop_front() {
                            self.compare(op, i32::from_ne_bytes(self.word))?;
                        }
                    }
                }
            }
        }
        if self.failure.is_some() {
            self.consumed += bytes.len() as u64;
        }
        Ok(())
    }

    /// Queues the source's next ops.
    fn refill(&mut self) -> Result<()> {
        if self.source_done {
            let at = self.consumed;
            self.fail(format!("R's stream is longer than the native writer's ({at} bytes)"));
            return Ok(());
        }
        match self.source.fill(&mut self.expect, BUDGET)? {
            Step::Done => self.source_done = true,
            Step::More => {}
            Step::Uncovered(reason) => self.fail(format!("the native writer does not cover {reason}")),
        }
        Ok(())
    }

    fn compare(&mut self, op: Op, theirs: i32) -> Result<()> {
        let (mut ours, node) = match op {
            Op::Int(value) => (value, None),
            Op::Flags { value, node } => (value, Some(node)),
            Op::Skip(_) => return Ok(()), // only ints are compared
        };
        if self.inject {
            self.inject = false;
            ours ^= 0x4000_0000;
        }
        if theirs == ours {
            return Ok(());
        }
        if let Some(node) = node {
            if (theirs ^ ours) & !LEARNABLE == 0 {
                return self.learned.insert(node, Bits::of_word(theirs));
            }
        }
        let at = self.consumed - 4;
        self.fail(format!("R's writer wrote the int {theirs:#x} where the native writer writes {ours:#x} (byte {at})"));
        Ok(())
    }

    /// Ends the tap once R's pass is over: what it found.
    pub fn finish(mut self) -> Result<Outcome> {
        if self.failure.is_none() && self.word_len != 0 {
            self.fail("R's stream ends inside an int".into());
        }
        while self.failure.is_none() {
            if !self.expect.ops.is_empty() {
                let at = self.consumed;
                self.fail(format!("R's stream is shorter than the native writer's ({at} bytes)"));
            } else if self.source_done {
                break;
            } else {
                self.refill()?;
            }
        }
        Ok(match self.failure {
            Some(why) => Outcome::Failed(why),
            None => Outcome::Agrees(self.learned),
        })
    }
}

/// When the tap runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Where the session needs it: a build that cannot read gp bits, on an
    /// R that writes the GROWABLE bit.
    Auto = 0,
    /// Before every native pass (tests: the tap on every R).
    Always = 1,
    /// Always, and it fails (tests: the fallback to R's writer).
    Fail = 2,
    /// Never (benchmarks: the tap's cost; the flags it would learn are
    /// lost, as before the tap learnt them).
    Never = 3,
}

static MODE: AtomicI32 = AtomicI32::new(Mode::Auto as i32);
static PASSES: AtomicU64 = AtomicU64::new(0);

pub fn mode() -> Mode {
    match MODE.load(Ordering::Relaxed) {
        1 => Mode::Always,
        2 => Mode::Fail,
        3 => Mode::Never,
        _ => Mode::Auto,
    }
}

/// Sets the mode (0 to 3 as [`Mode`]; anything else leaves it); returns
/// the previous one.
pub fn set_mode(code: i32) -> Mode {
    let old = mode();
    if (0..=3).contains(&code) {
        MODE.store(code, Ordering::Relaxed);
    }
    old
}

/// Whether the session taps, in [`Mode::Auto`]: the build cannot read gp
/// bits (R >= 4.5), and every R it runs on writes gp bits no API predicate
/// tells (the GROWABLE bit on R 4.5; on every R, those an object was
/// unserialized with or a package set).
pub fn needed() -> bool {
    cfg!(feature = "api-gp")
}

/// Whether a job taps before its native passes.
pub fn wanted() -> bool {
    match mode() {
        Mode::Auto => needed(),
        Mode::Never => false,
        Mode::Always | Mode::Fail => true,
    }
}

/// Whether a job that only sizes a binary stream taps too. Flags words do
/// not change sizes, but an attribute cell with attributes of its own
/// does, and a build that reads attributes through `R_mapAttrib` (R >= 4.6)
/// cannot see them: only the tap finds them (it fails, and R's writer
/// counts the object).
pub fn wanted_for_size() -> bool {
    wanted() && (cfg!(feature = "map-attrib") || mode() != Mode::Auto)
}

/// What the last tap of the session found: nodes learnt, or why it failed.
static LAST: Mutex<Option<String>> = Mutex::new(None);
static LEARNED: AtomicU64 = AtomicU64::new(0);

/// Counts a tap pass (diagnostics: `lowmem:::native_status()$tap_passes`).
pub fn count_pass() {
    PASSES.fetch_add(1, Ordering::Relaxed);
}

pub fn passes() -> u64 {
    PASSES.load(Ordering::Relaxed)
}

/// Notes what a finished tap found (diagnostics).
pub fn note(outcome: &Outcome) {
    let text = match outcome {
        Outcome::Agrees(learned) => {
            LEARNED.fetch_add(learned.len() as u64, Ordering::Relaxed);
            format!("learned the flags of {} nodes", learned.len())
        }
        Outcome::Failed(why) => format!("failed: {why}"),
    };
    *LAST.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
}

/// What the last tap found (`None` before the first), and how many nodes'
/// flags all taps of the session learnt.
pub fn last() -> (Option<String>, u64) {
    (LAST.lock().unwrap_or_else(|p| p.into_inner()).clone(), LEARNED.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that queues a fixed script, `per_fill` ops at a time.
    struct Script {
        ops: Vec<Op>,
        next: usize,
        per_fill: usize,
        uncovered_at: Option<usize>,
        fills: usize,
    }

    impl Script {
        fn new(ops: Vec<Op>, per_fill: usize) -> Script {
            Script { ops, next: 0, per_fill, uncovered_at: None, fills: 0 }
        }
    }

    impl Source for Script {
        fn fill(&mut self, expect: &mut Expect, _: u64) -> Result<Step> {
            self.fills += 1;
            let end = (self.next + self.per_fill).min(self.ops.len());
            for i in self.next..end {
                if self.uncovered_at == Some(i) {
                    return Ok(Step::Uncovered("a closure"));
                }
                match self.ops[i] {
                    Op::Skip(n) => expect.skip(n as usize)?,
                    Op::Int(v) => expect.int(v)?,
                    Op::Flags { value, node } => expect.node_flags(value, node)?,
                }
            }
            self.next = end;
            Ok(if end == self.ops.len() { Step::Done } else { Step::More })
        }
    }

    fn ne(words: &[i32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_ne_bytes()).collect()
    }

    /// R's stream for: a list of two double vectors (the second at address
    /// 0x2000, length 3), `grown` setting the GROWABLE bit of the second.
    fn stream(grown: bool) -> (Vec<Op>, Vec<u8>) {
        let list = 0x13;
        let real = 0x0e;
        let ops = vec![
            Op::Skip(2),
            Op::Int(3),
            Op::Flags { value: list, node: Node::object(0x1000) },
            Op::Int(2),
            Op::Flags { value: real, node: Node::object(0x1800) },
            Op::Int(1),
            Op::Skip(8),
            Op::Flags { value: real, node: Node::object(0x2000) },
            Op::Int(3),
            Op::Skip(24),
        ];
        let mut bytes = b"B\n".to_vec();
        bytes.extend(ne(&[3, list, 2, real, 1]));
        bytes.extend(1.5f64.to_ne_bytes());
        bytes.extend(ne(&[if grown { real | 0x20000 } else { real }, 3]));
        for v in [1.0f64, 2.0, 3.0] {
            bytes.extend(v.to_ne_bytes());
        }
        (ops, bytes)
    }

    /// Feeds `bytes` cut into pieces of `piece` bytes.
    fn run(tap: &mut Tap<Script>, bytes: &[u8], piece: usize) {
        for chunk in bytes.chunks(piece) {
            tap.feed(chunk).unwrap();
        }
    }

    #[test]
    fn the_same_stream_agrees_with_nothing_grown() {
        for piece in [1, 3, 4, 7, 1000] {
            for per_fill in [1, 2, 100] {
                let (ops, bytes) = stream(false);
                let mut tap = Tap::new(Script::new(ops, per_fill), false);
                run(&mut tap, &bytes, piece);
                match tap.finish().unwrap() {
                    Outcome::Agrees(learned) => assert!(learned.is_empty()),
                    Outcome::Failed(why) => panic!("piece {piece}, per_fill {per_fill}: {why}"),
                }
            }
        }
    }

    #[test]
    fn a_growable_bit_on_a_vector_flags_word_is_learnt() {
        for piece in [1, 2, 5, 64] {
            let (ops, bytes) = stream(true);
            let mut tap = Tap::new(Script::new(ops, 3), false);
            run(&mut tap, &bytes, piece);
            let Outcome::Agrees(learned) = tap.finish().unwrap() else { panic!("failed") };
            assert_eq!(learned.len(), 1);
            assert_eq!(learned.get(Node::object(0x2000)), Some(Bits { levels: 0x20, object: false }));
            assert!(learned.get(Node::object(0x1800)).is_none());
        }
    }

    #[test]
    fn the_bit_anywhere_else_fails() {
        // On an int that is not a flags word (here: a length).
        let (mut ops, bytes) = stream(false);
        ops[3] = Op::Int(2 & !0x20000);
        let mut bytes = bytes;
        bytes[2 + 8..2 + 12].copy_from_slice(&(2 | 0x20000i32).to_ne_bytes());
        let mut tap = Tap::new(Script::new(ops, 100), false);
        run(&mut tap, &bytes, 4);
        let Outcome::Failed(why) = tap.finish().unwrap() else { panic!("agreed") };
        assert!(why.contains("0x20002"), "{why}");
        // The attribute bit of a flags word (an attribute cell with
        // attributes: items the walker cannot see follow), or its type.
        for word in [0x0e_i32 | 0x200, 0x0d] {
            let (ops, mut bytes) = stream(false);
            bytes[2 + 12..2 + 16].copy_from_slice(&word.to_ne_bytes());
            let mut tap = Tap::new(Script::new(ops, 100), false);
            run(&mut tap, &bytes, 1000);
            assert!(matches!(tap.finish().unwrap(), Outcome::Failed(_)), "{word:#x}");
        }
    }

    #[test]
    fn any_gp_bit_and_the_object_bit_are_learnt_both_ways() {
        // Set by R, or written by the native writer where R does not.
        for (ours, theirs) in
            [(0x0e, 0x0e_i32 | 0x10000), (0x0e | 0x20000, 0x0e), (0x0e, 0x0e | 0x100), (0x0e, 0x0FFF_F00E)]
        {
            let (mut ops, mut bytes) = stream(false);
            ops[4] = Op::Flags { value: ours, node: Node::object(0x1800) };
            bytes[2 + 12..2 + 16].copy_from_slice(&theirs.to_ne_bytes());
            let mut tap = Tap::new(Script::new(ops, 100), false);
            run(&mut tap, &bytes, 7);
            let Outcome::Agrees(learned) = tap.finish().unwrap() else { panic!("{ours:#x} {theirs:#x}") };
            assert_eq!(learned.get(Node::object(0x1800)), Some(Bits::of_word(theirs)));
        }
    }

    #[test]
    fn after_a_failure_the_rest_is_ignored() {
        let (ops, mut bytes) = stream(true);
        bytes[2..6].copy_from_slice(&2i32.to_ne_bytes());
        let mut tap = Tap::new(Script::new(ops, 1), false);
        run(&mut tap, &bytes, 3);
        assert!(tap.failed());
        // More bytes than the walker would write: still ignored.
        tap.feed(&[0; 100]).unwrap();
        assert_eq!(tap.pending(), 0);
        let Outcome::Failed(why) = tap.finish().unwrap() else { panic!("agreed") };
        assert!(why.contains("byte 2"), "{why}");
    }

    #[test]
    fn streams_of_another_length_fail() {
        let (ops, bytes) = stream(false);
        let mut tap = Tap::new(Script::new(ops.clone(), 2), false);
        run(&mut tap, &bytes[..bytes.len() - 1], 5);
        let Outcome::Failed(why) = tap.finish().unwrap() else { panic!("agreed") };
        assert!(why.contains("shorter"), "{why}");
        let mut tap = Tap::new(Script::new(ops.clone(), 2), false);
        run(&mut tap, &bytes[..bytes.len() - 26], 5);
        assert!(matches!(tap.finish().unwrap(), Outcome::Failed(_)), "ends inside an int or before ops");
        let mut longer = bytes.clone();
        longer.extend([0u8; 3]);
        let mut tap = Tap::new(Script::new(ops, 2), false);
        run(&mut tap, &longer, 5);
        let Outcome::Failed(why) = tap.finish().unwrap() else { panic!("agreed") };
        assert!(why.contains("longer"), "{why}");
    }

    #[test]
    fn an_uncovered_object_fails_the_tap() {
        let (ops, bytes) = stream(false);
        let mut script = Script::new(ops, 2);
        script.uncovered_at = Some(5);
        let mut tap = Tap::new(script, false);
        run(&mut tap, &bytes, 4);
        let Outcome::Failed(why) = tap.finish().unwrap() else { panic!("agreed") };
        assert!(why.contains("a closure"), "{why}");
    }

    #[test]
    fn an_injected_mismatch_fails_the_tap() {
        let (ops, bytes) = stream(false);
        let mut tap = Tap::new(Script::new(ops, 100), true);
        run(&mut tap, &bytes, 1000);
        assert!(matches!(tap.finish().unwrap(), Outcome::Failed(_)));
    }

    #[test]
    fn the_queue_holds_one_fill_and_skips_merge() {
        // A long vector in many small skips: one op, whatever its length.
        let mut expect = Expect::default();
        expect.doubles(&[0.0; 1000]).unwrap();
        expect.raw(&[0; 10]).unwrap();
        expect.string(b"abc").unwrap();
        assert_eq!(expect.pending(), 1);
        assert_eq!(expect.position(), 8013);
        // The source is asked for more only when the queue is empty.
        let mut ops = Vec::new();
        let mut bytes = Vec::new();
        for i in 0..1000 {
            ops.push(Op::Int(i));
            ops.push(Op::Skip(4));
            bytes.extend(ne(&[i, 0]));
        }
        let mut tap = Tap::new(Script::new(ops, 10), false);
        let mut most = 0;
        for chunk in bytes.chunks(4) {
            tap.feed(chunk).unwrap();
            most = most.max(tap.pending());
        }
        assert!(most <= 10, "{most} ops queued");
        assert_eq!(tap.source.fills, 200);
        assert!(matches!(tap.finish().unwrap(), Outcome::Agrees(_)));
    }

    #[test]
    fn many_grown_vectors_one_entry_each() {
        let mut ops = Vec::new();
        let mut bytes = Vec::new();
        for i in 0..5000usize {
            let address = 0x10_0000 + 64 * (i % 2500); // each vector twice
            ops.push(Op::Flags { value: 0x0d, node: Node::object(address) });
            bytes.extend(ne(&[0x2000d]));
        }
        let mut tap = Tap::new(Script::new(ops, 64), false);
        run(&mut tap, &bytes, 4096);
        let Outcome::Agrees(learned) = tap.finish().unwrap() else { panic!("failed") };
        assert_eq!(learned.len(), 2500);
        assert!(learned.get(Node::object(0x10_0000 + 64 * 2499)).is_some());
        assert!(learned.get(Node::object(0x10_0000 + 64 * 2500)).is_none());
    }

    #[test]
    fn modes() {
        let old = set_mode(1);
        assert_eq!(mode(), Mode::Always);
        assert!(wanted());
        assert!(wanted_for_size());
        set_mode(7);
        assert_eq!(mode(), Mode::Always, "unknown codes leave the mode");
        set_mode(0);
        assert_eq!(wanted(), cfg!(feature = "api-gp"));
        assert_eq!(wanted_for_size(), cfg!(feature = "map-attrib"));
        set_mode(3);
        assert!(!wanted() && !wanted_for_size());
        set_mode(old as i32);
    }
}
