//! The lexicon: entries parsed from the text format of `lexicon.txt`, held in a small trie for
//! forward maximum matching.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// What a lexicon term does. A term may have several roles (`好` is both a mild positive word and
/// a degree word: `好开心`); the scorer picks the role from the context.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    /// The term, normalised (lower case).
    pub term: String,
    /// Signed sentiment weight (positive or negative section), if any.
    pub polarity: Option<f64>,
    /// Flips the next sentiment term within the window.
    pub negation: bool,
    /// Multiplies the next sentiment term within the window.
    pub degree: Option<f64>,
    /// A but-word: what came before counts half, what follows 1.5 times.
    pub contrast: bool,
    /// A question particle: the clause's sentiment is damped.
    pub question: bool,
}

impl Entry {
    /// True when the term carries none of the roles (a neutral blocker such as `好像`).
    pub fn is_blocker(&self) -> bool {
        self.polarity.is_none()
            && !self.negation
            && self.degree.is_none()
            && !self.contrast
            && !self.question
    }
}

/// A lexicon parse error: line number (1-based) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexiconError {
    /// 1-based line number in the lexicon text.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for LexiconError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lexicon line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for LexiconError {}

#[derive(Clone, Debug, Default)]
struct Node {
    /// Children sorted by char (binary search).
    children: Vec<(char, u32)>,
    entry: Option<u32>,
}

/// A sentiment lexicon: entries and a character trie over their normalised terms.
#[derive(Clone, Debug)]
pub struct Lexicon {
    entries: Vec<Entry>,
    nodes: Vec<Node>,
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Positive,
    Negative,
    Negation,
    Degree,
    Contrast,
    Neutral,
    Question,
}

impl Lexicon {
    /// Parses the lexicon text format (see the header of `lexicon.txt`).
    pub fn parse(text: &str) -> Result<Lexicon, LexiconError> {
        let mut lex = Lexicon {
            entries: Vec::new(),
            nodes: alloc::vec![Node::default()],
        };
        let mut section: Option<Section> = None;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let err = |message: String| LexiconError {
                line: line_no,
                message,
            };
            let line = raw.trim_end_matches(['\r', '\n']);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = Some(match name {
                    "positive" => Section::Positive,
                    "negative" => Section::Negative,
                    "negation" => Section::Negation,
                    "degree" => Section::Degree,
                    "contrast" => Section::Contrast,
                    "neutral" => Section::Neutral,
                    "question" => Section::Question,
                    other => return Err(err(format!("unknown section [{other}]"))),
                });
                continue;
            }
            let Some(section) = section else {
                return Err(err("entry before any [section]".into()));
            };
            let mut parts = line.split('\t');
            let term = super::normalize(parts.next().unwrap_or("").trim());
            let term = term.trim();
            if term.is_empty() {
                return Err(err("empty term".into()));
            }
            let value = match parts.next().map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) => Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| err(format!("bad value {v:?}")))?,
                ),
                None => None,
            };
            let need = |v: Option<f64>| v.ok_or_else(|| err(format!("{term:?} needs a value")));
            let idx = lex.insert(term);
            let e = &mut lex.entries[idx];
            match section {
                Section::Positive => e.polarity = Some(need(value)?.abs()),
                Section::Negative => e.polarity = Some(-need(value)?.abs()),
                Section::Negation => e.negation = true,
                Section::Degree => e.degree = Some(need(value)?),
                Section::Contrast => e.contrast = true,
                Section::Question => e.question = true,
                Section::Neutral => {}
            }
        }
        Ok(lex)
    }

    /// The lexicon shipped with livekpi (`src/sentiment/lexicon.txt`), parsed once.
    pub fn builtin() -> &'static Lexicon {
        static LEX: std::sync::OnceLock<Lexicon> = std::sync::OnceLock::new();
        LEX.get_or_init(|| {
            Lexicon::parse(include_str!("lexicon.txt")).expect("builtin lexicon parses")
        })
    }

    /// Number of distinct terms.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no terms.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries, in first-appearance order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry for a term (normalised), if present.
    pub fn get(&self, term: &str) -> Option<&Entry> {
        let mut node = 0usize;
        for c in super::normalize(term).chars() {
            node = self.child(node, c)? as usize;
        }
        self.nodes[node].entry.map(|i| &self.entries[i as usize])
    }

    pub(crate) fn entry(&self, idx: u32) -> &Entry {
        &self.entries[idx as usize]
    }

    fn child(&self, node: usize, c: char) -> Option<u32> {
        let ch = &self.nodes[node].children;
        ch.binary_search_by_key(&c, |&(k, _)| k)
            .ok()
            .map(|i| ch[i].1)
    }

    fn insert(&mut self, term: &str) -> usize {
        let mut node = 0usize;
        for c in term.chars() {
            node = match self.child(node, c) {
                Some(n) => n as usize,
                None => {
                    let n = self.nodes.len() as u32;
                    self.nodes.push(Node::default());
                    let ch = &mut self.nodes[node].children;
                    let pos = ch.partition_point(|&(k, _)| k < c);
                    ch.insert(pos, (c, n));
                    n as usize
                }
            };
        }
        match self.nodes[node].entry {
            Some(i) => i as usize,
            None => {
                let i = self.entries.len();
                self.entries.push(Entry {
                    term: term.into(),
                    ..Entry::default()
                });
                self.nodes[node].entry = Some(i as u32);
                i
            }
        }
    }

    /// Longest entry matching `text[start..]`, as (entry index, end). A term ending in a Latin
    /// word character only matches if the text's word ends there too (`no` does not match in
    /// `nope`).
    pub(crate) fn longest_match(&self, text: &[char], start: usize) -> Option<(u32, usize)> {
        let mut node = 0usize;
        let mut best = None;
        let mut i = start;
        while i < text.len() {
            let Some(n) = self.child(node, text[i]) else {
                break;
            };
            node = n as usize;
            i += 1;
            if let Some(e) = self.nodes[node].entry {
                let boundary_ok = !super::is_word_char(text[i - 1])
                    || i == text.len()
                    || !super::is_word_char(text[i]);
                if boundary_ok {
                    best = Some((e, i));
                }
            }
        }
        best
    }
}
