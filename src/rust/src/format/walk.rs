//! The object walker: writes one R object as R's `WriteItem`
//! (src/main/serialize.c) does, for plain data, with an explicit stack.
//! See inst/notes/format.md for the items and flags words it writes.
//!
//! The stack is a heap `Vec` of pending [`Task`]s, so nesting depth is
//! limited by memory only, never by the C stack. The walk is resumable:
//! [`Walk::step`] does about `budget` bytes of output and returns, so the C
//! caller can check for interrupts between steps.
//!
//! Coverage: NULL, logical/integer/double/complex/character/raw vectors,
//! lists, expression vectors, pairlists (LISTSXP), symbols (through the
//! reference table), CHARSXPs, S4SXP objects, the singleton environments
//! and markers R writes as bare codes, and ALTREP objects of the base
//! classes in [`super::altrep`] (in version 2 as the ordinary vectors R
//! writes, except deferred strings not yet expanded). Anything else makes the walk
//! stop with [`Step::Uncovered`]; the caller then serializes the whole
//! object through R's own writer. Nothing is written that R would not
//! write: an uncovered object is always found before any of the output is
//! used (the sizing pass walks the whole object first).
//!
//! Sizing a binary stream reads lengths only (string byte counts, vector
//! lengths): O(nodes). Its steps are O(nodes) too: vector data sized from
//! its length is not charged to a step's budget, so a counting pass over a
//! data frame of a few columns is one step, whatever their length. Sizing
//! an ASCII stream formats every number, as its size depends on the
//! digits: O(values).

use super::altrep::{self, BaseClass, Elements, Plan};
use super::encode::Encoder;
use super::flags::{self, pseudo, sexptype::*, Rules};
use super::header::Header;
use super::learned::{Bits, Learned, Node};
use super::refs::RefTable;
use crate::error::{Error, Result};
use crate::rapi::{AltrepClassInfo, Attribute, Sexp};
use std::rc::Rc;

/// How many list elements ahead to prefetch.
const ELEMENTS_AHEAD: u64 = 8;

/// The deepest nesting of lists (and pairlists, S4 objects) the native
/// writer writes; deeper objects are left to R's writer, which behaves as
/// base::serialize() does there (at some depth it raises R's
/// stackOverflowError). The explicit stack could write any depth, but R's
/// reader recurses: R 4.2.2's crashes the process (C stack overflow)
/// somewhere between 20000 and 50000 levels in a plain Rscript, and sooner
/// from deeper in a call stack. A file lowmem writes must be one R can read.
pub const MAX_DEPTH: u32 = 10_000;

/// Outcome of one [`Walk::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The whole stream is written.
    Done,
    /// More to do: call `step` again.
    More,
    /// The object holds something the native writer does not cover.
    Uncovered(&'static str),
}

/// Element types of atomic vectors, by how the stream encodes them.
#[derive(Debug, Clone, Copy)]
enum Atom {
    /// Logical and integer: ints.
    Int,
    Real,
    /// Two doubles per element.
    Complex,
    Raw,
}

impl Atom {
    fn of(sexptype: u32) -> Option<Atom> {
        match sexptype {
            LGLSXP | INTSXP => Some(Atom::Int),
            REALSXP => Some(Atom::Real),
            CPLXSXP => Some(Atom::Complex),
            RAWSXP => Some(Atom::Raw),
            _ => None,
        }
    }

    /// Bytes per element in the binary formats (to size chunks).
    fn width(self) -> usize {
        match self {
            Atom::Int => 4,
            Atom::Real => 8,
            Atom::Complex => 16,
            Atom::Raw => 1,
        }
    }
}

/// Work still to do, last pushed first done.
#[derive(Debug, Clone, Copy)]
enum Task {
    /// Write an item.
    Item(Sexp),
    /// The end of a container's contents: one level of nesting less.
    Leave,
    /// Write a bare int (the flags word of a cell R makes up on the fly).
    Word(i32),
    /// Write the flags word of the `index`-th cell of `owner`'s attribute
    /// list, read pair by pair (`R_mapAttrib`): a cell the walker makes up.
    Cell { owner: usize, index: usize, has_tag: bool },
    /// Write elements `next..len` of a list or expression vector.
    Elements { list: Sexp, next: u64, len: u64 },
    /// Write elements `next..len` of a plain character vector.
    Strings { source: Sexp, next: usize, len: usize },
    /// Write elements `next..len` of a plain atomic vector.
    Atoms { source: Sexp, atom: Atom, next: usize, len: usize },
    /// Write elements `next..len` of a compact sequence `first + step * i`
    /// (ints if `int`, else doubles).
    Sequence { first: f64, step: f64, int: bool, next: usize, len: usize },
}

/// One pass over an object: the header, then the object.
pub struct Walk {
    header: Header,
    rules: Rules,
    root: Sexp,
    started: bool,
    stack: Vec<Task>,
    refs: RefTable,
    /// ALTREP classes met, with their info and base class if recognised.
    classes: Vec<(AltrepClassInfo, Option<BaseClass>)>,
    /// Reused to read an object's attributes (see `push_attributes`).
    scratch: Vec<Attribute>,
    /// The droppable ALTREP states met ([`Plan::DroppableState`]).
    pins: Vec<Sexp>,
    /// Containers open around the task being done.
    depth: u32,
    /// The flags R writes where the API does not tell them, as the tap
    /// learnt them.
    learned: Rc<Learned>,
    /// Bytes of vector data the current step sized from lengths alone
    /// (counting a binary stream): not charged to the step's budget.
    unread: u64,
}

impl Walk {
    /// A pass over `root`, which must stay alive and unmodified until the
    /// pass is done (see [`Sexp`]).
    pub fn new(root: Sexp, header: Header, rules: Rules) -> Walk {
        Walk {
            header,
            rules,
            root,
            started: false,
            stack: Vec::new(),
            refs: RefTable::new(),
            classes: Vec::new(),
            scratch: Vec::new(),
            pins: Vec::new(),
            depth: 0,
            learned: Rc::default(),
            unread: 0,
        }
    }

    /// The same pass, writing the flags R writes for the nodes in
    /// `learned` (what the tap learnt from R's own writer: [`super::tap`]).
    pub fn with_learned(mut self, learned: Rc<Learned>) -> Walk {
        self.learned = learned;
        self
    }

    /// The droppable ALTREP states the pass has met so far: what must stay
    /// protected while R code can run during a later pass over the same
    /// object (a chunk written to a connection, a progress callback).
    pub fn take_pins(&mut self) -> Vec<Sexp> {
        std::mem::take(&mut self.pins)
    }

    /// Writes about `budget` more bytes (at least one task) through `enc`.
    /// A count of a binary stream charges only the bytes it looks at
    /// (flags, lengths, strings), not vector data sized from its length.
    pub fn step<E: Encoder>(&mut self, enc: &mut E, budget: u64) -> Result<Step> {
        let start = enc.position();
        self.unread = 0;
        if !self.started {
            self.started = true;
            self.header.write(enc)?;
            self.stack.push(Task::Item(self.root));
        }
        while let Some(task) = self.stack.pop() {
            let outcome = match task {
                Task::Item(x) => self.item(enc, x)?,
                Task::Leave => {
                    self.depth -= 1;
                    None
                }
                Task::Word(word) => {
                    enc.int(word)?;
                    None
                }
                Task::Cell { owner, index, has_tag } => {
                    let node = Node::attribute_cell(owner, index);
                    let bits = self.learned.get(node).unwrap_or(Bits { levels: 0, object: false });
                    enc.node_flags(flags::pack_flags(LISTSXP, bits.levels, bits.object, false, has_tag), node)?;
                    None
                }
                Task::Elements { list, next, len } => {
                    if next + 1 < len {
                        self.stack.push(Task::Elements { list, next: next + 1, len });
                    }
                    // Prefetch a few elements ahead: list elements are scattered
                    // over the heap like strings (see `strings`).
                    if next + ELEMENTS_AHEAD < len {
                        list.vector_elt(next + ELEMENTS_AHEAD).prefetch();
                    }
                    self.push_item(list.vector_elt(next));
                    None
                }
                Task::Strings { source, next, len } => {
                    self.strings(enc, source, next, len, budget)?;
                    None
                }
                Task::Atoms { source, atom, next, len } => {
                    self.atoms(enc, source, atom, next, len, budget)?;
                    None
                }
                Task::Sequence { first, step, int, next, len } => {
                    self.sequence(enc, first, step, int, next, len, budget)?;
                    None
                }
            };
            if let Some(reason) = outcome {
                return Ok(Step::Uncovered(reason));
            }
            if enc.position() - start - self.unread >= budget && !self.stack.is_empty() {
                return Ok(Step::More);
            }
        }
        Ok(Step::Done)
    }

    /// Pushes an item to write, and starts fetching its header into the
    /// cache: most of the time of a walk over many small objects goes to
    /// cache misses on their headers, and the stack order means a pushed
    /// item is usually written soon after.
    #[inline]
    fn push_item(&mut self, x: Sexp) {
        x.prefetch();
        self.stack.push(Task::Item(x));
    }

    /// Writes one item, or pushes the tasks that will; returns the reason
    /// if `x` is not covered. The order of the tests is `WriteItem`'s.
    fn item<E: Encoder>(&mut self, enc: &mut E, x: Sexp) -> Result<Option<&'static str>> {
        if x.is_altrep() {
            let Some((info, class)) = self.altrep_class(x) else {
                return Ok(Some("ALTREP class without the expected serialization info"));
            };
            let Some(class) = class else {
                return Ok(Some("ALTREP object of a class other than base R's compact, wrapper and deferred-string classes and lowmem's own results"));
            };
            return match altrep::plan(x, class, self.header.version) {
                Plan::State(state) => self.altrep_item(enc, x, info, &[Task::Item(state)]),
                Plan::DroppableState(state) => {
                    self.pins.push(state);
                    self.altrep_item(enc, x, info, &[Task::Item(state)])
                }
                Plan::WrapperState { wrapped, metadata } => {
                    let cons = flags::pack_flags(LISTSXP, 0, false, false, false);
                    self.altrep_item(enc, x, info, &[Task::Word(cons), Task::Item(wrapped), Task::Item(metadata)])
                }
                Plan::Ordinary(elements) => self.vector(enc, x, elements),
                Plan::Uncovered(reason) => Ok(Some(reason)),
            };
        }
        if let Some(code) = crate::rapi::special_code(x) {
            enc.int(code)?;
            return Ok(None);
        }
        let sexptype = x.sexptype();
        match sexptype {
            SYMSXP => {
                // Symbols are the only objects this writer puts in the
                // reference table, so only they need looking up.
                if let Some(index) = self.refs.get(x.address()) {
                    let (words, n) = flags::ref_index_words(index);
                    for &word in &words[..n] {
                        enc.int(word)?;
                    }
                } else {
                    self.refs.add(x.address());
                    enc.int(SYMSXP as i32)?;
                    let name = x.printname();
                    if name.sexptype() != CHARSXP {
                        return Ok(Some("symbol without a print name"));
                    }
                    charsxp(enc, name, &self.learned)?;
                }
            }
            LISTSXP => {
                let has_attr = x.has_attributes();
                let tag = x.tag();
                enc.node_flags(self.flags(x, LISTSXP, has_attr, !tag.is_null()), Node::object(x.address()))?;
                // Attributes, tag, car, then the cdr as the next item (R's
                // tail call), so a long pairlist does not deepen the stack.
                self.push_item(x.cdr());
                if !self.enter() {
                    return Ok(Some(TOO_DEEP));
                }
                self.push_item(x.car());
                if !tag.is_null() {
                    self.push_item(tag);
                }
                if has_attr {
                    self.push_attributes(x)?;
                }
            }
            CHARSXP => charsxp(enc, x, &self.learned)?,
            LGLSXP | INTSXP | REALSXP | CPLXSXP | RAWSXP | STRSXP => return self.vector(enc, x, Elements::Plain(x)),
            VECSXP | EXPRSXP => {
                let has_attr = x.has_attributes();
                enc.node_flags(self.flags(x, sexptype, has_attr, false), Node::object(x.address()))?;
                let len = x.xlength();
                length(enc, len)?;
                if !self.enter() {
                    return Ok(Some(TOO_DEEP));
                }
                if has_attr {
                    self.push_attributes(x)?;
                }
                if len > 0 {
                    for i in 0..len.min(ELEMENTS_AHEAD) {
                        x.vector_elt(i).prefetch();
                    }
                    self.stack.push(Task::Elements { list: x, next: 0, len });
                }
            }
            S4SXP => {
                let has_attr = x.has_attributes();
                enc.node_flags(self.flags(x, S4SXP, has_attr, false), Node::object(x.address()))?;
                if !self.enter() {
                    return Ok(Some(TOO_DEEP));
                }
                if has_attr {
                    self.push_attributes(x)?;
                }
            }
            other => return Ok(Some(uncovered_type(other))),
        }
        Ok(None)
    }

    /// An ALTREP_SXP item: flags (gp bits and object bit of `x`, never
    /// HAS_ATTR), class info, the state (`state`, in order), attributes
    /// (always, `NULL` included).
    fn altrep_item<E: Encoder>(
        &mut self,
        enc: &mut E,
        x: Sexp,
        info: AltrepClassInfo,
        state: &[Task],
    ) -> Result<Option<&'static str>> {
        enc.node_flags(self.flags(x, pseudo::ALTREP_SXP, false, false), Node::object(x.address()))?;
        if x.has_attributes() {
            self.push_attributes(x)?;
        } else {
            self.stack.push(Task::Word(pseudo::NILVALUE_SXP));
        }
        self.stack.extend(state.iter().rev().copied());
        // The info: a pairlist of three untagged cells.
        let cell = flags::pack_flags(LISTSXP, 0, false, false, false);
        self.stack.push(Task::Word(pseudo::NILVALUE_SXP));
        for item in [info.base_type, info.package, info.class] {
            self.push_item(item);
            self.stack.push(Task::Word(cell));
        }
        Ok(None)
    }

    /// Opens a container: its contents, pushed next, are one level deeper.
    /// False if that is deeper than [`MAX_DEPTH`].
    fn enter(&mut self) -> bool {
        self.depth += 1;
        self.stack.push(Task::Leave);
        self.depth <= MAX_DEPTH
    }

    /// The flags word of `x`, written as an item of type `sexptype`: its gp
    /// bits as this R writes them ([`Rules`]) and its object bit, as the
    /// build reads them or, for a node the tap learnt ([`Learned`]: bits
    /// the API predicates cannot tell), as R wrote them.
    fn flags(&self, x: Sexp, sexptype: u32, has_attr: bool, has_tag: bool) -> i32 {
        let (levels, object) = match self.learned.get(Node::object(x.address())) {
            Some(bits) => (bits.levels, bits.object),
            None => (x.levels(), x.is_object()),
        };
        let levels = self.rules.levels(sexptype, levels);
        flags::pack_flags(sexptype, levels, object, has_attr, has_tag)
    }

    /// Pushes the tasks that write `x`'s attributes: the pairlist item R
    /// writes for `ATTRIB(x)`. Where R still lets a package read that
    /// list, it is written as stored; else it is read pair by pair and each
    /// pair written as the cell R made for it (`installAttrib`: a tag, no
    /// gp bits, no attributes of its own; the tap learns other gp bits, and
    /// fails on a cell with attributes), then the list's end.
    fn push_attributes(&mut self, x: Sexp) -> Result<()> {
        if let Some(list) = x.attribute_list() {
            self.push_item(list);
            return Ok(());
        }
        let mut pairs = std::mem::take(&mut self.scratch);
        pairs.clear();
        if !x.attributes(&mut pairs) {
            return Err(Error::OutOfMemory { bytes: (pairs.len() as u64 + 1) * 16 });
        }
        self.stack.push(Task::Word(pseudo::NILVALUE_SXP));
        let owner = x.address();
        for (index, &(tag, value)) in pairs.iter().enumerate().rev() {
            self.push_item(value);
            if !tag.is_null() {
                self.push_item(tag);
            }
            self.stack.push(Task::Cell { owner, index, has_tag: !tag.is_null() });
        }
        self.scratch = pairs;
        Ok(())
    }

    /// An atomic or character vector: flags of `x`, then the length and
    /// elements (`x`'s own, or for an ALTREP object written as an ordinary
    /// vector, those [`altrep::plan`] found), then the attributes of `x`.
    fn vector<E: Encoder>(&mut self, enc: &mut E, x: Sexp, elements: Elements) -> Result<Option<&'static str>> {
        let sexptype = x.sexptype();
        let has_attr = x.has_attributes();
        let len = match elements {
            Elements::Plain(source) => source.xlength(),
            Elements::IntSeq { len, .. } | Elements::RealSeq { len, .. } => len,
        };
        let Ok(ulen) = usize::try_from(len) else {
            return Ok(Some("vector longer than this machine's address space"));
        };
        enc.node_flags(self.flags(x, sexptype, has_attr, false), Node::object(x.address()))?;
        length(enc, len)?;
        if has_attr {
            self.push_attributes(x)?;
        }
        if ulen > 0 && E::SIZES_ONLY {
            // Counting a binary stream: atomic data is its length times the
            // width, read from nowhere (strings still have their byte counts
            // read, one CHARSXP at a time).
            let width = match elements {
                Elements::Plain(_) => Atom::of(sexptype).map(Atom::width),
                Elements::IntSeq { .. } => Some(4),
                Elements::RealSeq { .. } => Some(8),
            };
            if let Some(width) = width {
                let bytes = len.saturating_mul(width as u64);
                skip_unread(enc, bytes)?;
                self.unread += bytes;
                return Ok(None);
            }
        }
        if ulen > 0 {
            self.stack.push(match elements {
                Elements::Plain(source) => match Atom::of(sexptype) {
                    Some(atom) => Task::Atoms { source, atom, next: 0, len: ulen },
                    None => Task::Strings { source, next: 0, len: ulen },
                },
                Elements::IntSeq { first, step, .. } => {
                    Task::Sequence { first: first as f64, step: step as f64, int: true, next: 0, len: ulen }
                }
                Elements::RealSeq { first, step, .. } => Task::Sequence { first, step, int: false, next: 0, len: ulen },
            });
        }
        Ok(None)
    }

    /// Writes strings `next..` of `source`, stopping after about `budget`
    /// bytes (the rest is pushed back).
    fn strings<E: Encoder>(&mut self, enc: &mut E, source: Sexp, next: usize, len: usize, budget: u64) -> Result<()> {
        // SAFETY: `source` is a plain STRSXP (see `vector`), alive for the pass.
        let elements = unsafe { source.strings() };
        // How many strings ahead to prefetch (see Sexp::prefetch).
        const AHEAD: usize = 16;
        let start = enc.position();
        let mut i = next;
        for &ahead in &elements[next..len.min(next + AHEAD)] {
            ahead.prefetch();
        }
        while i < len {
            if let Some(&ahead) = elements.get(i + AHEAD) {
                ahead.prefetch();
            }
            charsxp(enc, elements[i], &self.learned)?;
            i += 1;
            if enc.position() - start >= budget {
                break;
            }
        }
        if i < len {
            self.stack.push(Task::Strings { source, next: i, len });
        }
        Ok(())
    }

    /// Writes elements `next..` of an atomic vector, at most about `budget`
    /// bytes' worth (the rest is pushed back).
    fn atoms<E: Encoder>(
        &mut self,
        enc: &mut E,
        source: Sexp,
        atom: Atom,
        next: usize,
        len: usize,
        budget: u64,
    ) -> Result<()> {
        let chunk = usize::try_from(budget / atom.width() as u64).unwrap_or(usize::MAX).max(1);
        let end = len.min(next.saturating_add(chunk));
        // SAFETY (each arm): `source` is a plain vector of this element type
        // and length `len` (see `vector`), alive for the pass.
        match atom {
            Atom::Int => enc.ints(&unsafe { source.data::<i32>(len) }[next..end])?,
            Atom::Real => enc.doubles(&unsafe { source.data::<f64>(len) }[next..end])?,
            Atom::Complex => enc.doubles(&unsafe { source.data::<f64>(2 * len) }[2 * next..2 * end])?,
            Atom::Raw => enc.raw(&unsafe { source.data::<u8>(len) }[next..end])?,
        }
        if end < len {
            self.stack.push(Task::Atoms { source, atom, next: end, len });
        }
        Ok(())
    }

    /// Writes elements `next..` of a compact sequence, computed as R's
    /// Dataptr methods compute them (`first + i` / `first - i`), in chunks
    /// through a small buffer.
    #[allow(clippy::too_many_arguments)]
    fn sequence<E: Encoder>(
        &mut self,
        enc: &mut E,
        first: f64,
        step: f64,
        int: bool,
        next: usize,
        len: usize,
        budget: u64,
    ) -> Result<()> {
        const CHUNK: usize = 4096;
        let end = len.min(next.saturating_add(usize::try_from(budget / 8).unwrap_or(usize::MAX).max(1)));
        let mut i = next;
        while i < end {
            let n = CHUNK.min(end - i);
            if int {
                let (first, step) = (first as i64, step as i64);
                let mut buf = [0i32; CHUNK];
                for (k, v) in buf[..n].iter_mut().enumerate() {
                    *v = (first + step * (i + k) as i64) as i32;
                }
                enc.ints(&buf[..n])?;
            } else {
                let mut buf = [0f64; CHUNK];
                for (k, v) in buf[..n].iter_mut().enumerate() {
                    // R: n1 + i (inc 1) or n1 - i (inc -1), i converted to double.
                    *v = if step > 0.0 { first + (i + k) as f64 } else { first - (i + k) as f64 };
                }
                enc.doubles(&buf[..n])?;
            }
            i += n;
        }
        if end < len {
            self.stack.push(Task::Sequence { first, step, int, next: end, len });
        }
        Ok(())
    }

    /// The class info and base class of an ALTREP object, remembered per
    /// class; `None` if the class has no info of the expected form.
    fn altrep_class(&mut self, x: Sexp) -> Option<(AltrepClassInfo, Option<BaseClass>)> {
        let key = x.altrep_class_key();
        if let Some(&known) = self.classes.iter().find(|(info, _)| info.key == key) {
            return Some(known);
        }
        let info = x.altrep_class_info()?;
        let known = (info, altrep::base_class(info));
        self.classes.push(known);
        Some(known)
    }
}

/// A CHARSXP item: flags (encoding bits, or what the tap learnt R writes;
/// HASHASH and CACHED cleared), then `-1` for NA_character_, or the byte
/// count and the bytes.
#[inline]
fn charsxp<E: Encoder>(enc: &mut E, c: Sexp, learned: &Learned) -> Result<()> {
    if E::SIZES_ONLY {
        // Counting a binary stream: flags word, length word, bytes.
        return if c.is_na_string() { enc.skip(8) } else { enc.skip(8 + c.char_len()) };
    }
    // No rule to apply: R clears the same CHARSXP bits (CACHED, HASHASH)
    // in every version, which pack_flags does.
    let node = Node::object(c.address());
    let flags = match learned.get(node) {
        Some(bits) => flags::pack_flags(CHARSXP, bits.levels, bits.object, false, false),
        None => flags::pack_flags(CHARSXP, c.levels(), c.is_object(), false, false),
    };
    if c.is_na_string() {
        return enc.charsxp_of(flags, node, None);
    }
    // SAFETY: `c` is a CHARSXP (a STRSXP element or a print name), alive
    // for the pass.
    enc.charsxp_of(flags, node, Some(unsafe { c.char_bytes() }))
}

/// Accounts for `n` bytes of a binary count that are never read.
fn skip_unread<E: Encoder>(enc: &mut E, mut n: u64) -> Result<()> {
    while n > 0 {
        let piece = usize::try_from(n).unwrap_or(usize::MAX);
        enc.skip(piece)?;
        n -= piece as u64;
    }
    Ok(())
}

fn length<E: Encoder>(enc: &mut E, len: u64) -> Result<()> {
    let (words, n) = flags::length_words(len);
    words[..n].iter().try_for_each(|&w| enc.int(w))
}

const TOO_DEEP: &str = "lists nested deeper than the native writer writes (R's reader could not read them back)";

fn uncovered_type(sexptype: u32) -> &'static str {
    match sexptype {
        CLOSXP => "closure",
        ENVSXP => "environment",
        PROMSXP => "promise",
        LANGSXP => "call",
        SPECIALSXP | BUILTINSXP => "primitive function",
        DOTSXP => "dots",
        BCODESXP => "byte code",
        EXTPTRSXP => "external pointer",
        WEAKREFSXP => "weak reference",
        NILSXP => "NILSXP other than NULL",
        _ => "object of an unknown type",
    }
}
