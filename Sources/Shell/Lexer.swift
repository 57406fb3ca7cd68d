/// A position in a script: file (or "<stdin>"), 1-based line and column.
public struct SourcePosition: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) { self.file = file; self.line = line; self.column = column }
    public var description: String { "\(file):\(line):\(column)" }
}

/// A piece of a word: literal text, or a `$name` / `${name}` reference expanded at run time.
public enum WordPart: Sendable, Equatable {
    case literal(String)
    case variable(String)
}

/// A shell word. `quoted` records whether any part was quoted (so `expect` can tell a message from a value,
/// and `"{"` is a plain word, not a block).
public struct Word: Sendable, Equatable {
    public var parts: [WordPart]
    public var quoted: Bool
    public var position: SourcePosition
    /// The option key when the word starts, unquoted and before any `$`, with `key=` (`seed="5"`,
    /// `text="{…}"`); a word quoted from its first character (`"seed=5"`) is never an option.
    public var optionKey: String? = nil

    /// The literal text when the word has no variable references.
    public var literal: String? {
        var s = ""
        for p in parts { guard case let .literal(t) = p else { return nil }; s += t }
        return s
    }
}

public enum Token: Sendable, Equatable {
    case word(Word)
    case openBrace(SourcePosition)
    case closeBrace(SourcePosition)
    case separator(SourcePosition)  // ';' or newline
}

/// A syntax error with its position.
public struct ShellSyntaxError: Error, CustomStringConvertible, Equatable {
    public var position: SourcePosition
    public var message: String
    /// True when more input could complete the text (open quote or brace): the REPL asks for another line.
    public var incomplete: Bool
    public var description: String { "\(position): \(message)" }
}

/// The lexer of gtr's command language.
///
/// Words are separated by blanks. `'…'` quotes literally; `"…"` quotes with escapes (`\"`, `\\`, `\n`, `\t`,
/// `\$`) and `$name` expansion; outside quotes a backslash escapes the next character. `#` starts a comment at
/// the start of a word. `;` and newlines separate commands; `{` and `}` are block delimiters when they stand
/// alone as a word.
public struct Lexer {
    public static func tokenize(_ text: String, file: String = "<input>", firstLine: Int = 1) throws -> [Token] {
        let chars = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var i = 0, line = firstLine, col = 1

        func pos() -> SourcePosition { SourcePosition(file: file, line: line, column: col) }
        func advance() { if chars[i] == "\n" { line += 1; col = 1 } else { col += 1 }; i += 1 }
        func isNameChar(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_"
        }

        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\r" { advance(); continue }
            if c == "\n" || c == ";" { tokens.append(.separator(pos())); advance(); continue }
            if c == "#" {
                while i < chars.count, chars[i] != "\n" { advance() }
                continue
            }
            let start = pos()
            // A lone brace is a block delimiter.
            if c == "{" || c == "}" {
                let next = i + 1 < chars.count ? chars[i + 1] : " "
                if next == " " || next == "\t" || next == "\n" || next == ";" || next == "\r" || (c == "}" && next == "}") || (c == "{" && next == "}") {
                    tokens.append(c == "{" ? .openBrace(start) : .closeBrace(start))
                    advance(); continue
                }
            }
            var parts: [WordPart] = []
            var lit = ""
            var quoted = false
            var head = ""        // the unquoted literal start of the word, for `optionKey`
            var headOpen = true
            func flush() { if !lit.isEmpty { parts.append(.literal(lit)); lit = "" } }
            func readVariable() throws {
                // at '$'
                headOpen = false
                advance()
                if i < chars.count, chars[i] == "{" {
                    advance()
                    var name = ""
                    while i < chars.count, chars[i] != "}" { name.unicodeScalars.append(chars[i]); advance() }
                    guard i < chars.count else { throw ShellSyntaxError(position: start, message: "unterminated ${", incomplete: false) }
                    advance()
                    guard !name.isEmpty, name.unicodeScalars.allSatisfy(isNameChar) else {
                        throw ShellSyntaxError(position: start, message: "bad variable name '${\(name)}'", incomplete: false)
                    }
                    flush(); parts.append(.variable(name))
                } else {
                    var name = ""
                    while i < chars.count, isNameChar(chars[i]) { name.unicodeScalars.append(chars[i]); advance() }
                    if name.isEmpty { lit += "$" } else { flush(); parts.append(.variable(name)) }
                }
            }
            wordLoop: while i < chars.count {
                let d = chars[i]
                switch d {
                case " ", "\t", "\n", ";", "\r":
                    break wordLoop
                case "'":
                    quoted = true; headOpen = false
                    let qpos = pos()
                    advance()
                    // A quote ends on its own line: an unterminated one is reported at once instead of swallowing
                    // the lines after it (a backslash before the newline continues a double-quoted string).
                    while i < chars.count, chars[i] != "'", chars[i] != "\n" { lit.unicodeScalars.append(chars[i]); advance() }
                    guard i < chars.count, chars[i] == "'" else { throw ShellSyntaxError(position: qpos, message: "unterminated single quote", incomplete: false) }
                    advance()
                case "\"":
                    quoted = true; headOpen = false
                    let qpos = pos()
                    advance()
                    while true {
                        guard i < chars.count, chars[i] != "\n" else { throw ShellSyntaxError(position: qpos, message: "unterminated double quote", incomplete: false) }
                        let e = chars[i]
                        if e == "\"" { advance(); break }
                        if e == "\\" {
                            advance()
                            guard i < chars.count else { throw ShellSyntaxError(position: qpos, message: "unterminated double quote", incomplete: true) }
                            let x = chars[i]
                            switch x {
                            case "n": lit += "\n"
                            case "t": lit += "\t"
                            case "\"", "\\", "$", "'": lit.unicodeScalars.append(x)
                            case "\n": break
                            default: lit += "\\"; lit.unicodeScalars.append(x)
                            }
                            advance(); continue
                        }
                        if e == "$" { try readVariable(); continue }
                        lit.unicodeScalars.append(e); advance()
                    }
                case "\\":
                    headOpen = false
                    advance()
                    guard i < chars.count else { throw ShellSyntaxError(position: start, message: "trailing backslash", incomplete: true) }
                    if chars[i] != "\n" { lit.unicodeScalars.append(chars[i]) }
                    advance()
                case "$":
                    try readVariable()
                default:
                    if headOpen { head.unicodeScalars.append(d) }
                    lit.unicodeScalars.append(d); advance()
                }
            }
            flush()
            if parts.isEmpty { parts = [.literal("")] }
            tokens.append(.word(Word(parts: parts, quoted: quoted, position: start, optionKey: Arguments.optionKey(of: head))))
        }
        return tokens
    }
}
