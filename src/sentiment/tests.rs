use super::*;

fn label(t: &str) -> Label {
    analyze(t).label
}

fn score(t: &str) -> f64 {
    analyze(t).score
}

#[test]
fn builtin_parses_and_is_sizeable() {
    let lex = Lexicon::builtin();
    assert!(lex.len() > 500, "{}", lex.len());
    assert_eq!(lex.get("好看").unwrap().polarity, Some(2.0));
    assert!(lex.get("假货").unwrap().polarity.unwrap() < 0.0);
    assert!(lex.get("不").unwrap().negation);
    assert!(lex.get("好像").unwrap().is_blocker());
}

#[test]
fn parse_errors_have_line_numbers() {
    let e = Lexicon::parse("[positive]\n好\tx\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(Lexicon::parse("好\t1\n").is_err());
    assert!(Lexicon::parse("[bogus]\n").is_err());
    assert!(Lexicon::parse("[degree]\n很\n").is_err());
}

#[test]
fn plain_polarity() {
    assert_eq!(label("这个颜色好看"), Label::Positive);
    assert_eq!(label("假货，骗子"), Label::Negative);
    assert_eq!(label("几号发货"), Label::Neutral);
    assert_eq!(analyze("").score, 0.0);
    assert_eq!(label("   "), Label::Neutral);
}

#[test]
fn maximum_matching_prefers_longest_term() {
    let s = analyze("质量好");
    assert_eq!(s.terms.len(), 1);
    assert_eq!(s.terms[0].term, "质量好");
    // 不错 is a positive word, not 不 + 错.
    let s = analyze("不错不错");
    assert!(s.terms.iter().all(|h| h.term == "不错" && !h.negated));
    assert_eq!(s.label, Label::Positive);
    // 好像 is a blocker: no 好.
    assert!(analyze("好像有点小").terms.is_empty());
    // 非常 is a degree word, not the negation 非.
    assert_eq!(label("非常好看"), Label::Positive);
    assert!(score("非常好看") > score("好看"));
}

#[test]
fn negation_flips_within_window() {
    assert_eq!(label("不好看"), Label::Negative);
    assert_eq!(label("不贵"), Label::Positive);
    assert_eq!(label("没有色差"), Label::Positive);
    assert_eq!(label("一点都不值"), Label::Negative);
    assert!(analyze("不是很好看").terms[0].negated);
    assert_eq!(analyze("不是很好看").terms[0].phrase, "不是很好看");
    // Out of the window: 不 … four tokens … 好看.
    assert!(!analyze("不知道为什么好看").terms[0].negated);
    // A clause break ends the negation.
    assert!(!analyze("不，好看").terms[0].negated);
    // Double negation.
    assert!(score("不是不好") > 0.0);
    // English.
    assert_eq!(label("not good"), Label::Negative);
    assert_eq!(label("don't buy, it's fake"), Label::Negative);
    assert_eq!(label("never disappointed"), Label::Positive);
}

#[test]
fn degree_scales() {
    assert!(score("很好看") > score("好看"));
    assert!(score("超级喜欢") > score("喜欢"));
    assert!(score("有点贵") > score("贵"));
    assert!(score("有点贵") < 0.0);
    assert!(score("very good") > score("good"));
    assert!(score("a bit slow") > score("slow"));
    // 好 as degree before a sentiment word, as sentiment alone.
    let s = analyze("好开心");
    assert_eq!(s.terms.len(), 1);
    assert_eq!(s.terms[0].term, "开心");
    assert!(s.terms[0].contribution > s.terms[0].weight);
    assert_eq!(analyze("好").terms[0].term, "好");
}

#[test]
fn emoji_and_variation_selectors() {
    assert_eq!(label("👍👍👍"), Label::Positive);
    assert_eq!(label("❤️"), Label::Positive);
    assert_eq!(label("❤"), Label::Positive);
    assert_eq!(label("👎"), Label::Negative);
    assert_eq!(label("💩💩"), Label::Negative);
    assert_eq!(label("😂"), Label::Neutral);
}

#[test]
fn slang() {
    assert_eq!(label("yyds"), Label::Positive);
    assert_eq!(label("YYDS!!!"), Label::Positive);
    assert_eq!(label("666666"), Label::Positive);
    assert_eq!(label("绝绝子"), Label::Positive);
    assert_eq!(label("求链接"), Label::Positive);
    assert_eq!(label("蹲一个"), Label::Positive);
    assert_eq!(label("呵呵"), Label::Negative);
    assert_eq!(label("避雷"), Label::Negative);
    assert_eq!(label("哈哈哈哈哈哈"), Label::Neutral);
    assert!(score("好看哈哈哈") > score("好看"));
}

#[test]
fn latin_words_need_boundaries() {
    // `no` must not match inside `nope`, nor `good` inside `goodness`.
    assert!(analyze("nope").terms.is_empty());
    assert!(analyze("goodness").terms.is_empty());
    assert_eq!(analyze("worth it").terms[0].term, "worth it");
    assert_eq!(analyze("Waste  of   money").terms[0].term, "waste of money");
}

#[test]
fn mixed_language() {
    assert_eq!(label("这个口红yyds，冲！"), Label::Positive);
    assert_eq!(label("质量差 refund please"), Label::Negative);
    assert_eq!(label("love这个颜色😍"), Label::Positive);
    assert_eq!(label("fake货别买"), Label::Negative);
}

#[test]
fn contrast_and_question() {
    assert_eq!(label("好看是好看，但是太贵了"), Label::Negative);
    assert_eq!(label("有点贵但是质量好"), Label::Positive);
    assert_eq!(label("是正品吗？"), Label::Neutral);
    assert_eq!(label("is it good?"), Label::Neutral);
}

#[test]
fn normalisation() {
    assert_eq!(normalize("ＹＹＤＳ！"), "yyds!");
    assert_eq!(normalize("哈哈哈哈哈"), "哈哈哈");
    assert_eq!(normalize("a \t  b"), "a b");
    assert_eq!(normalize("❤️"), "❤");
}

#[test]
fn score_is_bounded() {
    let long = "好看".repeat(500);
    let s = score(&long);
    assert!(s > 0.99 && s < 1.0);
    let s = score(&"假货".repeat(500));
    assert!(s < -0.99 && s > -1.0);
}

#[test]
fn minute_series_fills_gaps() {
    let pts = minute_series([(3, "好看"), (3, "太贵了"), (5, "几点开始"), (3, "拍了")]);
    assert_eq!(pts.len(), 3);
    assert_eq!(pts[0].minute, 3);
    assert_eq!(
        (pts[0].positive, pts[0].neutral, pts[0].negative),
        (2, 0, 1)
    );
    assert_eq!(pts[0].comments, 3);
    assert!(pts[0].mean_score.unwrap() > 0.0);
    assert_eq!(pts[1].comments, 0);
    assert_eq!(pts[1].mean_score, None);
    assert_eq!(pts[2].neutral, 1);
    let json = serde_json::to_value(&pts[1]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"minute":4,"comments":0,"positive":0,"neutral":0,"negative":0,"mean_score":null})
    );
    assert!(minute_series([]).is_empty());
}

#[test]
fn top_terms_window_and_negated_phrases() {
    let c = [
        (0, "好看"),
        (1, "好看，不贵"),
        (1, "假货"),
        (2, "好看"),
        (1, "太贵"),
        (1, "太贵了"),
    ];
    let t = top_terms(c, 1..2, 5);
    assert_eq!(
        t.positive[0],
        TermCount {
            term: "不贵".into(),
            count: 1
        }
    );
    assert_eq!(t.positive.len(), 2);
    assert_eq!(
        t.negative[0],
        TermCount {
            term: "太贵".into(),
            count: 2
        }
    );
    assert_eq!(t.negative[1].term, "假货");
    let json = serde_json::to_value(&t).unwrap();
    assert!(json["positive"].is_array());
}

#[test]
fn sentiment_json_shape() {
    let v = serde_json::to_value(analyze("不贵")).unwrap();
    assert_eq!(v["label"], "positive");
    assert_eq!(v["terms"][0]["term"], "贵");
    assert_eq!(v["terms"][0]["phrase"], "不贵");
    assert_eq!(v["terms"][0]["negated"], true);
    assert!(v["score"].as_f64().unwrap() > 0.0);
}
