use super::split_args;

#[test]
fn arguments_split_on_spaces_and_keep_quoted_words_together() {
    assert_eq!(split_args("anna secret"), vec!["anna", "secret"]);
    assert_eq!(
        split_args("\"Anna Bell\" secret"),
        vec!["Anna Bell", "secret"]
    );
    assert_eq!(
        split_args("'Anna Bell' \"my pass\""),
        vec!["Anna Bell", "my pass"]
    );
    assert_eq!(split_args("  a   b  "), vec!["a", "b"]);
    assert_eq!(split_args("\"\" x"), vec!["", "x"]);
    assert_eq!(split_args("it's fine"), vec!["it's", "fine"]);
    assert!(split_args("").is_empty());
}
