//! Checks shared by the KPI ingestion targets (pulled into each with `#[path]`: every target is
//! its own binary).

use livekpi::kpi::{IngestReport, Room};

/// Every input of a batch is accounted for: accepted + duplicates + rejected = `inputs`; at most
/// one error per rejection, each with a 1-based position (at most `last_position` when given)
/// and a message.
pub fn check_report(r: &IngestReport, inputs: u64, last_position: Option<u64>) {
    assert_eq!(
        r.accepted + r.duplicates + r.rejected,
        inputs,
        "accepted + duplicates + rejected != inputs: {r:?}"
    );
    assert!(r.errors.len() as u64 <= r.rejected);
    for e in &r.errors {
        let l = e.line.expect("an error has its position");
        assert!(l >= 1 && last_position.is_none_or(|m| l as u64 <= m), "{e:?}");
        let _ = e.to_string();
    }
}

/// A room fed one batch: its cumulative stats equal that batch's report, and the rejections
/// per reason add up.
pub fn check_stats_equal_report(room: &Room, rep: &IngestReport) {
    let st = room.stats();
    assert_eq!(
        (st.accepted, st.duplicates, st.rejected),
        (rep.accepted, rep.duplicates, rep.rejected)
    );
    assert_eq!(
        st.rejected_by_reason.iter().map(|r| r.count).sum::<u64>(),
        st.rejected
    );
}
