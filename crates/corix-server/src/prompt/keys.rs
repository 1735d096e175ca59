//! Key names as models send them, turned into the agent's `/key` combinations (`ctrl+shift+t`,
//! X keysym names, the agent's friendly aliases). The one place for key-name translation.
//!
//! - Anthropic sends xdotool-style combinations: `ctrl+l`, `Return`, `super`, `KP_Enter`.
//! - OpenAI's `keypress` sends an array of names, upper-case by convention: `["CTRL", "L"]`, `["ENTER"]`.
//! - The chat-completions schema asks for the xdotool style too.

/// Names the agent would not resolve (or would resolve differently) to the X keysym name meant.
const NAMES: &[(&str, &str)] = &[
    ("arrowup", "Up"),
    ("arrowdown", "Down"),
    ("arrowleft", "Left"),
    ("arrowright", "Right"),
    ("up", "Up"),
    ("down", "Down"),
    ("left", "Left"),
    ("right", "Right"),
    ("return", "Return"),
    ("enter", "Return"),
    ("space", "space"),
    ("spacebar", "space"),
    ("tab", "Tab"),
    ("escape", "Escape"),
    ("esc", "Escape"),
    ("backspace", "BackSpace"),
    ("delete", "Delete"),
    ("home", "Home"),
    ("end", "End"),
    ("insert", "Insert"),
    ("option", "alt"),
    ("opt", "alt"),
    ("command", "super"),
    ("cmd", "super"),
    ("win", "super"),
    ("windows", "super"),
    ("meta", "super"),
    ("super", "super"),
    ("ctrl", "ctrl"),
    ("control", "ctrl"),
    ("alt", "alt"),
    ("shift", "shift"),
    ("plus", "plus"),
    ("minus", "minus"),
];

/// One key name in the agent's vocabulary.
pub fn key_name(name: &str) -> String {
    let trimmed = name.trim();
    if let Some((_, mapped)) = NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(trimmed)) {
        return (*mapped).to_string();
    }
    let mut chars = trimmed.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        // `L` in a combination means the L key, not a capital (which would need shift).
        return c.to_lowercase().to_string();
    }
    // F1..F24 as X spells them.
    if let Some(n) = trimmed.strip_prefix(['f', 'F']).filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())) {
        return format!("F{n}");
    }
    trimmed.to_string()
}

/// An xdotool-style combination (`ctrl+l`, `Return`, `ctrl+shift+T`); xdotool's space-separated
/// sequences (`ctrl+a Delete`) give several combinations, pressed in turn.
pub fn xdotool_combos(text: &str) -> Vec<String> {
    text.split_whitespace().map(combo_of_xdotool).filter(|c| !c.is_empty()).collect()
}

fn combo_of_xdotool(combo: &str) -> String {
    if combo == "+" {
        return "plus".to_string();
    }
    let (mods, last) = match combo.strip_suffix("++") {
        Some(mods) => (mods, "plus"),
        None => combo.rsplit_once('+').unwrap_or(("", combo)),
    };
    let mut parts: Vec<String> = mods.split('+').filter(|p| !p.is_empty()).map(key_name).collect();
    parts.push(key_name(last));
    parts.join("+")
}

/// OpenAI's `keypress` array: the keys held together.
pub fn keypress_combo(keys: &[String]) -> String {
    keys.iter().map(|k| if k == "+" { "plus".to_string() } else { key_name(k) }).collect::<Vec<_>>().join("+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_and_openai_names_agree() {
        assert_eq!(xdotool_combos("ctrl+l"), vec!["ctrl+l"]);
        assert_eq!(xdotool_combos("ctrl+alt+t"), vec!["ctrl+alt+t"]);
        assert_eq!(xdotool_combos("Return"), vec!["Return"]);
        assert_eq!(xdotool_combos("ctrl+a Delete"), vec!["ctrl+a", "Delete"]);
        assert_eq!(xdotool_combos("ctrl++"), vec!["ctrl+plus"]);
        assert_eq!(xdotool_combos("KP_Enter"), vec!["KP_Enter"]);
        assert_eq!(xdotool_combos("super"), vec!["super"]);
        assert_eq!(keypress_combo(&["CTRL".into(), "L".into()]), "ctrl+l");
        assert_eq!(keypress_combo(&["CTRL".into(), "ALT".into(), "T".into()]), "ctrl+alt+t");
        assert_eq!(keypress_combo(&["ENTER".into()]), "Return");
        assert_eq!(keypress_combo(&["ARROWUP".into()]), "Up");
        assert_eq!(keypress_combo(&["SPACE".into()]), "space");
        assert_eq!(keypress_combo(&["f5".into()]), "F5");
        assert_eq!(keypress_combo(&["CMD".into(), "C".into()]), "super+c");
    }
}
