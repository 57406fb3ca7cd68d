/// Words of gtr's command language written by programs: a served step logged as the `act` it equals, a thought
/// edit saved as `thought set`.
public enum CommandWord {
    /// A double-quoted word holding `s` exactly. Not JSON's escaper: the shell's lexer knows only `\" \\ \$ \n \t`
    /// (JSON's `\r`/`\uXXXX` would be read literally) and `$` must be escaped.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "$": out += "\\$"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(c)
            }
        }
        return out + "\""
    }
}
