//! Live-commerce room KPIs: events, sessions, the KPI pyramid, slices and funnels.
#![forbid(unsafe_code)]
