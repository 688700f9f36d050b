//! Comment sentiment for live-commerce rooms (Chinese, English and mixed), with no model: a
//! curated lexicon, negation, degree words, emoji and net slang.
//!
//! # Method
//! - **Normalisation.** Lower case; full-width ASCII (`！？ＡＢＣ`) to half-width; U+FE0F
//!   (emoji variation selector) removed; whitespace runs collapsed to one space; runs of four or
//!   more identical characters cut to three (`哈哈哈哈哈` → `哈哈哈`, `666666` → `666`).
//! - **Tokens.** Chinese, emoji and other non-Latin text: forward maximum matching over the
//!   lexicon trie (no word segmenter); an unmatched character is one token. Latin text: words
//!   (letters, digits, `'`), matched against the same trie on word boundaries, so multi-word
//!   terms (`worth it`, `waste of money`) work. Clause punctuation (`，。！？,.!?;~…` and
//!   newlines) ends a clause.
//! - **Scoring.** Each sentiment term contributes its weight, times the degree words and
//!   negations that precede it by at most [`WINDOW`] tokens in the same clause (a negation
//!   multiplies by [`NEGATION_FACTOR`]; each modifier applies to the next sentiment term only).
//!   A term that is both sentiment and degree (`好`, `pretty`) acts as degree when a sentiment
//!   term follows it directly (`好开心`), else as sentiment. A contrast word (`但是`, `but`)
//!   halves what came before and makes what follows count 1.5×. A clause with a question
//!   (`吗`, `?`, `怎么样`) counts [`QUESTION_FACTOR`]×. The sum `s` becomes a score in
//!   (-1, 1) as `s / sqrt(s² + ALPHA)`; the label is positive at ≥ [`THRESHOLD`], negative
//!   at ≤ -[`THRESHOLD`], else neutral.
//!
//! # Labels
//! Positive: praise, satisfaction, purchase intent or purchase (`拍了`, `求链接`, `蹲`).
//! Negative: complaints, distrust, regret, sarcasm (`呵呵`). Neutral: plain questions, logistics,
//! greetings without evaluation.
//!
//! The lexicon (`lexicon.txt`, embedded with `include_str!`) was written for livekpi; see its
//! header for the format and licence.
#![forbid(unsafe_code)]

mod lexicon;

pub use lexicon::{Entry, Lexicon, LexiconError};

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;
use serde::Serialize;

/// Tokens after a modifier (negation or degree) within which it still applies.
pub const WINDOW: usize = 3;
/// Multiplier of a negated sentiment term.
pub const NEGATION_FACTOR: f64 = -0.75;
/// Multiplier of a question clause.
pub const QUESTION_FACTOR: f64 = 0.2;
/// Multiplier of what came before a contrast word.
pub const CONTRAST_BEFORE: f64 = 0.5;
/// Multiplier of what follows a contrast word.
pub const CONTRAST_AFTER: f64 = 1.5;
/// Normalisation constant: score = s / sqrt(s² + ALPHA).
pub const ALPHA: f64 = 4.0;
/// Label threshold on the score.
pub const THRESHOLD: f64 = 0.25;

/// Sentiment label of a comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// Score ≥ [`THRESHOLD`].
    Positive,
    /// Between the thresholds.
    Neutral,
    /// Score ≤ -[`THRESHOLD`].
    Negative,
}

impl Label {
    /// `"positive"`, `"neutral"` or `"negative"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Neutral => "neutral",
            Label::Negative => "negative",
        }
    }

    /// Parses `positive` / `neutral` / `negative` (also `pos` / `neu` / `neg`).
    pub fn parse(s: &str) -> Option<Label> {
        match s.trim() {
            "positive" | "pos" => Some(Label::Positive),
            "neutral" | "neu" => Some(Label::Neutral),
            "negative" | "neg" => Some(Label::Negative),
            _ => None,
        }
    }

    /// The label of a score.
    pub fn of_score(score: f64) -> Label {
        if score >= THRESHOLD {
            Label::Positive
        } else if score <= -THRESHOLD {
            Label::Negative
        } else {
            Label::Neutral
        }
    }
}

/// One sentiment term found in a comment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TermHit {
    /// The lexicon term (normalised).
    pub term: String,
    /// The surface span when modified by a negation (`不太好看`), else equal to `term`.
    pub phrase: String,
    /// Lexicon weight (signed).
    pub weight: f64,
    /// What it added to the sum after negation, degree, contrast and question factors.
    pub contribution: f64,
    /// Whether a negation flipped it.
    pub negated: bool,
}

/// The sentiment of one comment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sentiment {
    /// Score in (-1, 1); 0 when nothing matched.
    pub score: f64,
    /// Label from the score.
    pub label: Label,
    /// Sentiment terms in text order.
    pub terms: Vec<TermHit>,
}

/// Normalises text the way the lexicon is matched (lower case, half-width, no U+FE0F,
/// whitespace collapsed, runs of 4+ identical characters cut to 3).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last: Option<char> = None;
    let mut run = 0usize;
    for c in text.chars() {
        let c = match c {
            '\u{FE0F}' | '\u{FE0E}' | '\u{200B}' => continue,
            '\u{3000}' => ' ',
            '\u{2019}' | '\u{2018}' => '\'',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c if c.is_whitespace() && c != '\n' => ' ',
            c => c,
        };
        let mut push = |c: char| {
            if Some(c) == last {
                run += 1;
            } else {
                run = 1;
                last = Some(c);
            }
            let limit = if c == ' ' { 1 } else { 3 };
            if run <= limit {
                out.push(c);
            }
        };
        if c.is_uppercase() {
            for l in c.to_lowercase() {
                push(l);
            }
        } else {
            push(c);
        }
    }
    out
}

/// Latin word character: ASCII alphanumerics, `'`, and alphabetic characters below the CJK
/// blocks (é, ß, Cyrillic ...).
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '\'' || (c.is_alphanumeric() && (c as u32) < 0x2E80)
}

fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        ',' | '.'
            | '!'
            | '?'
            | ';'
            | '~'
            | '\n'
            | '，'
            | '。'
            | '、'
            | '；'
            | '…'
            | '～'
            | '｡'
            | '｜'
            | '|'
    )
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    /// Lexicon entry index, char span in the normalised text.
    Term(u32, usize, usize),
    /// Unmatched character or word.
    Other,
    /// End of clause; `true` for a question mark.
    Break(bool),
}

fn tokenize(lex: &Lexicon, text: &[char], out: &mut Vec<Tok>) {
    out.clear();
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if c == ' ' {
            i += 1;
            continue;
        }
        if is_clause_break(c) {
            out.push(Tok::Break(c == '?'));
            i += 1;
            continue;
        }
        if let Some((e, end)) = lex.longest_match(text, i) {
            out.push(Tok::Term(e, i, end));
            i = end;
            continue;
        }
        if is_word_char(c) {
            while i < text.len() && is_word_char(text[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push(Tok::Other);
    }
}

impl Lexicon {
    /// The sentiment of one comment.
    pub fn analyze(&self, text: &str) -> Sentiment {
        let chars: Vec<char> = normalize(text).chars().collect();
        let mut toks = Vec::new();
        tokenize(self, &chars, &mut toks);
        self.score_tokens(&chars, &toks)
    }

    fn is_sentiment_at(&self, toks: &[Tok], j: usize) -> bool {
        matches!(toks.get(j), Some(Tok::Term(e, ..)) if self.entry(*e).polarity.is_some())
    }

    fn score_tokens(&self, chars: &[char], toks: &[Tok]) -> Sentiment {
        let mut hits: Vec<TermHit> = Vec::new();
        // Index into `hits` where the current clause starts.
        let mut clause_start = 0usize;
        let mut clause_question = false;
        let mut after = 1.0f64;
        // Pending modifiers: (token index, factor, char start for the phrase).
        let mut negs: Vec<(usize, usize)> = Vec::new();
        let mut degs: Vec<(usize, f64)> = Vec::new();
        let end_clause = |hits: &mut Vec<TermHit>, start: usize, question: bool| {
            if question {
                for h in &mut hits[start..] {
                    h.contribution *= QUESTION_FACTOR;
                }
            }
        };
        for (i, tok) in toks.iter().enumerate() {
            match *tok {
                Tok::Break(q) => {
                    end_clause(&mut hits, clause_start, clause_question || q);
                    clause_start = hits.len();
                    clause_question = false;
                    negs.clear();
                    degs.clear();
                }
                Tok::Other => {}
                Tok::Term(e, s, t) => {
                    let entry = self.entry(e);
                    if entry.question {
                        clause_question = true;
                    }
                    if entry.contrast {
                        for h in &mut hits {
                            h.contribution *= CONTRAST_BEFORE;
                        }
                        after = CONTRAST_AFTER;
                        negs.clear();
                        degs.clear();
                    }
                    if entry.negation {
                        negs.push((i, s));
                    }
                    let as_degree = entry.degree.is_some()
                        && (entry.polarity.is_none() || self.is_sentiment_at(toks, i + 1));
                    if as_degree {
                        degs.push((i, entry.degree.unwrap_or(1.0)));
                        continue;
                    }
                    let Some(w) = entry.polarity else { continue };
                    negs.retain(|&(k, _)| i - k <= WINDOW);
                    degs.retain(|&(k, _)| i - k <= WINDOW);
                    let degree: f64 = degs.iter().map(|&(_, d)| d).product();
                    let negated = negs.len() % 2 == 1;
                    let neg_factor = libm::pow(NEGATION_FACTOR.abs(), negs.len() as f64)
                        * if negated { -1.0 } else { 1.0 };
                    let phrase: String = match negs.first() {
                        Some(&(_, ns)) => chars[ns..t].iter().collect(),
                        None => chars[s..t].iter().collect(),
                    };
                    hits.push(TermHit {
                        term: entry.term.clone(),
                        phrase,
                        weight: w,
                        contribution: w * degree * neg_factor * after,
                        negated,
                    });
                    negs.clear();
                    degs.clear();
                }
            }
        }
        end_clause(&mut hits, clause_start, clause_question);
        let sum: f64 = hits.iter().map(|h| h.contribution).sum();
        let score = if sum == 0.0 {
            0.0
        } else {
            sum / libm::sqrt(sum * sum + ALPHA)
        };
        Sentiment {
            score,
            label: Label::of_score(score),
            terms: hits,
        }
    }
}

/// The sentiment of one comment with the built-in lexicon.
pub fn analyze(text: &str) -> Sentiment {
    Lexicon::builtin().analyze(text)
}

/// One minute of the sentiment series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MinutePoint {
    /// Minute index (as given with the comments).
    pub minute: i64,
    /// Comments in the minute.
    pub comments: u64,
    /// Comments labelled positive.
    pub positive: u64,
    /// Comments labelled neutral.
    pub neutral: u64,
    /// Comments labelled negative.
    pub negative: u64,
    /// Mean score over the minute's comments; `null` for a minute without comments.
    pub mean_score: Option<f64>,
}

/// Accumulates the per-minute sentiment series and term counts, comment by comment.
#[derive(Clone, Debug, Default)]
pub struct SentimentSeries {
    minutes: BTreeMap<i64, (u64, [u64; 3], f64)>,
}

impl SentimentSeries {
    /// An empty series.
    pub fn new() -> SentimentSeries {
        SentimentSeries::default()
    }

    /// Adds an analysed comment at `minute`.
    pub fn add(&mut self, minute: i64, s: &Sentiment) {
        let m = self.minutes.entry(minute).or_insert((0, [0; 3], 0.0));
        m.0 += 1;
        m.1[s.label as usize] += 1;
        m.2 += s.score;
    }

    /// The series from the first to the last minute with a comment, gaps included (zero counts,
    /// `mean_score: None`).
    pub fn points(&self) -> Vec<MinutePoint> {
        let (Some((&first, _)), Some((&last, _))) = (
            self.minutes.first_key_value(),
            self.minutes.last_key_value(),
        ) else {
            return Vec::new();
        };
        (first..=last)
            .map(|minute| match self.minutes.get(&minute) {
                Some(&(n, c, sum)) => MinutePoint {
                    minute,
                    comments: n,
                    positive: c[0],
                    neutral: c[1],
                    negative: c[2],
                    mean_score: Some(sum / n as f64),
                },
                None => MinutePoint {
                    minute,
                    comments: 0,
                    positive: 0,
                    neutral: 0,
                    negative: 0,
                    mean_score: None,
                },
            })
            .collect()
    }
}

/// Per-minute sentiment series of `(minute, text)` comments (built-in lexicon).
pub fn minute_series<'a>(comments: impl IntoIterator<Item = (i64, &'a str)>) -> Vec<MinutePoint> {
    let lex = Lexicon::builtin();
    let mut series = SentimentSeries::new();
    for (m, text) in comments {
        series.add(m, &lex.analyze(text));
    }
    series.points()
}

/// A term and how many comments' hits it had.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TermCount {
    /// The term; a negated hit counts under its phrase (`不贵`, `没有假货`).
    pub term: String,
    /// Occurrences.
    pub count: u64,
}

/// Most frequent positive and negative terms.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TopTerms {
    /// Hits that added positive sentiment, most frequent first (ties by term).
    pub positive: Vec<TermCount>,
    /// Hits that added negative sentiment, most frequent first (ties by term).
    pub negative: Vec<TermCount>,
}

/// Counts term hits by the sign of their contribution.
#[derive(Clone, Debug, Default)]
pub struct TermTally {
    positive: BTreeMap<String, u64>,
    negative: BTreeMap<String, u64>,
}

impl TermTally {
    /// An empty tally.
    pub fn new() -> TermTally {
        TermTally::default()
    }

    /// Counts the hits of an analysed comment.
    pub fn add(&mut self, s: &Sentiment) {
        for h in &s.terms {
            let key = if h.negated { &h.phrase } else { &h.term };
            let map = if h.contribution > 0.0 {
                &mut self.positive
            } else if h.contribution < 0.0 {
                &mut self.negative
            } else {
                continue;
            };
            *map.entry(key.clone()).or_insert(0) += 1;
        }
    }

    /// The `k` most frequent positive and negative terms.
    pub fn top(&self, k: usize) -> TopTerms {
        let top = |m: &BTreeMap<String, u64>| {
            let mut v: Vec<TermCount> = m
                .iter()
                .map(|(t, &c)| TermCount {
                    term: t.clone(),
                    count: c,
                })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.term.cmp(&b.term)));
            v.truncate(k);
            v
        };
        TopTerms {
            positive: top(&self.positive),
            negative: top(&self.negative),
        }
    }
}

/// The `k` most frequent positive and negative terms among `(minute, text)` comments whose minute
/// is in `window` (built-in lexicon).
pub fn top_terms<'a>(
    comments: impl IntoIterator<Item = (i64, &'a str)>,
    window: Range<i64>,
    k: usize,
) -> TopTerms {
    let lex = Lexicon::builtin();
    let mut tally = TermTally::new();
    for (m, text) in comments {
        if window.contains(&m) {
            tally.add(&lex.analyze(text));
        }
    }
    tally.top(k)
}

#[cfg(test)]
mod tests;
